import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension TrainingBenchmark {
    /// The fine-tuning network's layer sizes, input first: the
    /// `stacked_autoencoders` tutorial's 784-1000-1000-10.
    static let networkSizes = [784, 1000, 1000, 10]

    /// One epoch of the fine-tuning network (``Model/network``) on `data`'s
    /// labelled rows in order, batch 100, on `threads` cores: the step a
    /// `strata finetune softmax` epoch repeats (forward with dropout, softmax
    /// cross-entropy, backpropagation, momentum update), timed from the first
    /// batch to the last; then the test cross-entropy and error, untimed.
    static func runNetwork(_ data: Examples, threads: Int, seed: UInt64) throws -> Result {
        let (train, labels) = (data.train, data.trainLabels)
        guard labels.count == train.rows, data.testLabels.count == data.test.rows, train.columns == networkSizes[0] else {
            throw StrataError.invalidArgument(name: "models", reason: "\(Model.network.rawValue) needs \(networkSizes[0])-wide labelled rows")
        }
        Compute(cores: threads).apply()
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: networkSizes[0], hiddenSizes: Array(networkSizes.dropFirst().dropLast()),
                                                             classes: networkSizes.last!, seed: seed)
        let (learningRate, momentum) = Model.network.rates
        let settings = SoftmaxNetwork.StepSettings(learningRate: learningRate, momentum: momentum, hiddenDropout: 0.2)
        var random = RandomSource(seed: seed)
        var warm = network
        let seconds = timedEpoch(train, warmUp: { batch, rows in warm.trainStep(batch, labels: labels[rows], settings: settings, random: &random) },
                                 step: { batch, rows in network.trainStep(batch, labels: labels[rows], settings: settings, random: &random) })
        let (crossEntropy, errorRate) = network.evaluate(data.test, labels: data.testLabels)
        return Result(model: .network, threads: threads, examples: train.rows, seconds: seconds,
                      quality: ["test_loss": crossEntropy, "test_error": 100 * errorRate])
    }
}
