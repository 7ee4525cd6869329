import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

@Suite struct BatchNormalizationTests {
    /// A 5-4-3 network with batch normalization on both hidden layers, gamma
    /// and beta moved off their identity start so every term of the backward pass matters.
    func network(_ activation: Activation, random: inout RandomSource) throws -> SoftmaxNetwork {
        let hidden = [DenseLayer(weights: .uniform(shape: [5, 4], low: -0.8, high: 0.8, using: &random), bias: .uniform(shape: [4], low: -0.3, high: 0.3, using: &random), activation: activation),
                      DenseLayer(weights: .uniform(shape: [4, 3], low: -0.8, high: 0.8, using: &random), bias: .uniform(shape: [3], low: -0.3, high: 0.3, using: &random), activation: activation)]
        var network = try SoftmaxNetwork(hidden: hidden, inputCount: 5, classes: 3, irange: 0.8, seed: 4)
        network.enableBatchNormalization()
        for l in 0 ..< 2 {
            network.normalizations[l]!.gamma = .uniform(shape: [hidden[l].outputCount], low: 0.5, high: 1.5, using: &random)
            network.normalizations[l]!.beta = .uniform(shape: [hidden[l].outputCount], low: -0.5, high: 0.5, using: &random)
        }
        return network
    }

    /// The hand-written backward pass (the full batch-norm gradient, through
    /// the batch mean and variance) against finite differences of the
    /// training-mode loss, for several batch sizes.
    @Test(arguments: [(Activation.sigmoid, 2), (.sigmoid, 5), (.relu, 8), (.tanh, 16)])
    func gradientsMatchFiniteDifferences(_ activation: Activation, _ batch: Int) throws {
        let check = GradientCheck(#function)
        var random = RandomSource(seed: UInt64(batch))
        var network = try network(activation, random: &random)
        let x = Tensor.uniform(shape: [batch, 5], low: -1, high: 1, using: &random)
        let labels = (0 ..< batch).map { $0 % 3 }
        var noise = RandomSource(seed: 1)
        let (_, grads) = network.gradients(x, labels: labels[...], random: &noise)
        let normalization = network.normalizationGradients
        func cost(_ n: SoftmaxNetwork) -> Double {
            var copy = n, r = RandomSource(seed: 1)
            return copy.gradients(x, labels: labels[...], random: &r).loss
        }
        for layer in 0 ..< 2 {
            for index in [0, 3, 5] {
                let numeric = finiteDifference({ value in
                    var copy = network
                    copy.hidden[layer].weights.scalars[index] = value
                    return cost(copy)
                }, at: network.hidden[layer].weights.scalars[index])
                check.compare(numeric, grads[layer].weights.scalars[index], "batch \(batch) layer \(layer) weight \(index)")
            }
            for unit in [0, 2] {
                let gamma = finiteDifference({ value in
                    var copy = network
                    copy.normalizations[layer]!.gamma.scalars[unit] = value
                    return cost(copy)
                }, at: network.normalizations[layer]!.gamma.scalars[unit])
                check.compare(gamma, normalization[layer]!.gamma.scalars[unit], "batch \(batch) layer \(layer) gamma \(unit)")
                let beta = finiteDifference({ value in
                    var copy = network
                    copy.normalizations[layer]!.beta.scalars[unit] = value
                    return cost(copy)
                }, at: network.normalizations[layer]!.beta.scalars[unit])
                check.compare(beta, normalization[layer]!.beta.scalars[unit], "batch \(batch) layer \(layer) beta \(unit)")
            }
            // The bias is cancelled by the batch mean: its gradient is zero.
            #expect(abs(grads[layer].bias.scalars[1]) < 1e-5)
        }
        check.finish()
    }

    /// Inference uses the population statistics by the paper's formula, and
    /// the folded layer gives the same outputs as layer-then-normalization.
    @Test func inferenceIsThePopulationFormulaAndFoldingChangesNothing() throws {
        var random = RandomSource(seed: 11)
        var normalization = BatchNormalization(units: 3, epsilon: 1e-3)
        normalization.gamma = Tensor(shape: [3], scalars: [1.5, 0.5, -1])
        normalization.beta = Tensor(shape: [3], scalars: [0.2, -0.1, 0.3])
        normalization.runningMean = Tensor(shape: [3], scalars: [0.4, -1, 2])
        normalization.runningVariance = Tensor(shape: [3], scalars: [0.25, 2, 9])
        let layer = DenseLayer(weights: .uniform(shape: [4, 3], low: -1, high: 1, using: &random), bias: .uniform(shape: [3], low: -1, high: 1, using: &random),
                               activation: .sigmoid)
        let x = Tensor.uniform(shape: [6, 4], low: -2, high: 2, using: &random)
        var z = x.matmul(layer.weights)
        z.addToEachRow(layer.bias)
        var expected = z
        for i in 0 ..< 6 {
            for j in 0 ..< 3 {
                let s = normalization.runningVariance.scalars[j] + 1e-3
                expected[i, j] = normalization.gamma.scalars[j] * (z[i, j] - normalization.runningMean.scalars[j]) / s.squareRoot() + normalization.beta.scalars[j]
            }
        }
        var inferred = z
        normalization.forwardInference(&inferred)
        #expect(maxDifference(inferred, expected) < 1e-5)
        expected.formSigmoid()
        #expect(maxDifference(normalization.folded(into: layer).forward(x), expected) < 1e-5)
    }

    /// Running statistics track the batches': after many batches of one
    /// distribution they approach its mean and (unbiased) variance.
    @Test func runningStatisticsApproachThePopulation() {
        var normalization = BatchNormalization(units: 2, momentum: 0.9)
        var cache = BatchNormalization.Cache()
        var random = RandomSource(seed: 2)
        for _ in 0 ..< 200 {
            var z = Tensor.normal(shape: [64, 2], using: &random)
            z.multiplyEachRow(by: Tensor(shape: [2], scalars: [2, 0.5]))
            z.addToEachRow(Tensor(shape: [2], scalars: [3, -1]))
            normalization.forwardTraining(&z, cache: &cache)
        }
        #expect(abs(normalization.runningMean.scalars[0] - 3) < 0.2 && abs(normalization.runningMean.scalars[1] + 1) < 0.05)
        #expect(abs(normalization.runningVariance.scalars[0] - 4) < 0.6 && abs(normalization.runningVariance.scalars[1] - 0.25) < 0.04)
    }

    /// Fine-tuning with `batch_norm` learns, the saved classifier (plain,
    /// folded layers) predicts as the network did, and a resumed run is exact.
    @Test func fineTuningWithBatchNormSavesFoldedAndResumesExactly() throws {
        let (x, labels) = blobs(classes: 3, perClass: 80, dimensions: 6, spread: 0.7, seed: 9)
        func tuner(_ folder: TemporaryFolder, epochs: Int, resume: Bool = false) -> FineTuner {
            var configuration = FineTuningConfiguration()
            (configuration.maxEpochs, configuration.batchSize, configuration.learningRate, configuration.batchNorm) = (epochs, 16, 0.3, true)
            configuration.patience = 50
            var tuner = FineTuner(configuration: configuration, folder: folder.path)
            (tuner.showProgress, tuner.resume) = (false, resume)
            return tuner
        }
        func train(_ tuner: FineTuner) throws -> SoftmaxNetwork {
            var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 6, hiddenSizes: [10, 8], classes: 3, seed: 4)
            try tuner.train(&network, x: x.rows(0 ..< 200), labels: Array(labels[..<200]), validationX: x.rows(200 ..< 240), validationLabels: Array(labels[200...]))
            return network
        }
        let whole = try train(tuner(TemporaryFolder(), epochs: 4))
        #expect(whole.normalizations.allSatisfy { $0 != nil })
        #expect(whole.evaluate(x.rows(200 ..< 240), labels: Array(labels[200...])).errorRate < 0.2)
        let folder = TemporaryFolder()
        _ = try train(tuner(folder, epochs: 2))
        let resumed = try train(tuner(folder, epochs: 4, resume: true))
        #expect(resumed.hidden[1].weights == whole.hidden[1].weights && resumed.normalizations == whole.normalizations)

        try Classifier(head: .softmax(whole), classNames: ["a", "b", "c"]).write(to: folder.file("c.safetensors"))
        let saved = try Classifier.read(folder.file("c.safetensors"))
        #expect(maxDifference(try saved.scores(x), whole.probabilities(x)) < 1e-5)
        #expect(refusal(["finetune", "softmax", "--stack", "s.safetensors", "--batch-norm-epsilon", "0.01"])?.contains("applies only with batch_norm: true") == true)
    }
}
