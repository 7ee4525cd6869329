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

@Suite struct DistillationTests {
    /// The distillation loss's gradient (soft term scaled by T^2) against finite differences.
    @Test(arguments: [(Float(1), Float(0.5)), (4, 0.9), (10, 1)])
    func gradientsMatchFiniteDifferences(_ temperature: Float, _ softWeight: Float) throws {
        let check = GradientCheck(#function)
        var random = RandomSource(seed: 7)
        let hidden = [DenseLayer(weights: .uniform(shape: [5, 4], low: -0.8, high: 0.8, using: &random), bias: .uniform(shape: [4], low: -0.3, high: 0.3, using: &random),
                                 activation: .tanh)]
        var network = try SoftmaxNetwork(hidden: hidden, inputCount: 5, classes: 3, irange: 0.8, seed: 4)
        let x = Tensor.uniform(shape: [6, 5], low: -1, high: 1, using: &random)
        let labels = [0, 1, 2, 2, 1, 0]
        let teacher = Tensor.uniform(shape: [6, 3], low: -3, high: 3, using: &random)
        let distillation = Distillation(softTargets: Distillation.softTargets(teacherScores: teacher, areProbabilities: false, temperature: temperature),
                                        temperature: temperature, softWeight: softWeight)
        var noise = RandomSource(seed: 1)
        let (_, grads) = network.gradients(x, labels: labels[...], distillation: distillation, random: &noise)
        func cost(_ n: SoftmaxNetwork) -> Double {
            var copy = n, r = RandomSource(seed: 1)
            return copy.gradients(x, labels: labels[...], distillation: distillation, random: &r).loss
        }
        for layer in 0 ... 1 {
            for index in [0, 4, 7] {
                let numeric = finiteDifference({ value in
                    var copy = network
                    if layer == 0 { copy.hidden[0].weights.scalars[index] = value } else { copy.output.weights.scalars[index] = value }
                    return cost(copy)
                }, at: layer == 0 ? network.hidden[0].weights.scalars[index] : network.output.weights.scalars[index], step: 1e-2)
                check.compare(numeric, grads[layer].weights.scalars[index], "T \(temperature) a \(softWeight) layer \(layer) weight \(index)")
            }
        }
        check.finish()
    }

    /// A teacher's probabilities and its logits give the same soft targets;
    /// soft weight 0 is plain cross-entropy.
    @Test func probabilitiesAndLogitsTeachAlikeAndWeightZeroIsCrossEntropy() throws {
        var random = RandomSource(seed: 2)
        let logits = Tensor.uniform(shape: [4, 5], low: -2, high: 2, using: &random)
        var probabilities = logits
        softmaxRows(&probabilities)
        let a = Distillation.softTargets(teacherScores: logits, areProbabilities: false, temperature: 3)
        let b = Distillation.softTargets(teacherScores: probabilities, areProbabilities: true, temperature: 3)
        #expect(maxDifference(a, b) < 1e-5)
        let labels = [0, 4, 2, 1]
        let plain = SoftmaxNetwork.outputLoss(logits: logits, labels: labels[...], distillation: nil)
        let zero = SoftmaxNetwork.outputLoss(logits: logits, labels: labels[...], distillation: Distillation(softTargets: a, temperature: 3, softWeight: 0))
        #expect(abs(plain.loss - zero.loss) < 1e-9 && maxDifference(plain.delta, zero.delta) < 1e-7)
        #expect(refusal(["finetune", "softmax", "--stack", "s.safetensors", "--temperature", "2"])?.contains("applies only with a teacher") == true)
    }

    /// A student fine-tuned with a teacher's soft targets learns, and a resume with other targets is refused.
    @Test func aStudentLearnsFromSoftTargetsAndResumeChecksThem() throws {
        let (x, labels) = blobs(classes: 3, perClass: 80, dimensions: 6, spread: 0.7, seed: 9)
        var teacherNetwork = try SoftmaxNetwork.randomlyInitialized(inputCount: 6, hiddenSizes: [12], classes: 3, seed: 1)
        var random = RandomSource(seed: 5)
        for _ in 0 ..< 200 { teacherNetwork.trainStep(x, labels: labels[...], settings: .init(learningRate: 0.5, momentum: 0.5), random: &random) }
        let targets = Distillation.softTargets(teacherScores: teacherNetwork.probabilities(x.rows(0 ..< 200)), areProbabilities: true, temperature: 4)
        let folder = TemporaryFolder()
        func tuner(epochs: Int, resume: Bool, targets: Tensor) -> FineTuner {
            var configuration = FineTuningConfiguration()
            (configuration.maxEpochs, configuration.batchSize, configuration.learningRate, configuration.teacher) = (epochs, 16, 0.3, "teacher.safetensors")
            var tuner = FineTuner(configuration: configuration, folder: folder.path)
            (tuner.showProgress, tuner.resume, tuner.softTargets) = (false, resume, targets)
            return tuner
        }
        var student = try SoftmaxNetwork.randomlyInitialized(inputCount: 6, hiddenSizes: [5], classes: 3, seed: 2)
        let report = try tuner(epochs: 5, resume: false, targets: targets).train(&student, x: x.rows(0 ..< 200), labels: Array(labels[..<200]),
                                                                                  validationX: x.rows(200 ..< 240), validationLabels: Array(labels[200...]))
        #expect(report.bestValidationError < 0.2)
        var other = targets
        other.scale(by: 0.5)
        #expect(strataError {
            var again = try SoftmaxNetwork.randomlyInitialized(inputCount: 6, hiddenSizes: [5], classes: 3, seed: 2)
            try tuner(epochs: 6, resume: true, targets: other).train(&again, x: x.rows(0 ..< 200), labels: Array(labels[..<200]),
                                                                   validationX: x.rows(200 ..< 240), validationLabels: Array(labels[200...]))
        } != nil)
    }
}
