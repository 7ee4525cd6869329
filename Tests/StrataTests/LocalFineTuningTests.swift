import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataExport
@testable import StrataPipeline
import Testing

/// Fine-tuning through local stages (``LocalFront``): the network's gradient
/// reaches the stages' encoders, training lowers the loss, a stopped run
/// resumes to the same bytes, and the classifier it saves predicts as the network.
@Suite struct LocalFineTuningTests {
    /// Two stages over 9x8 one-channel images: the small geometry, then 2x2 fields of 2 maps on its 6x5x3 output.
    static func front(seed: UInt64 = 1) throws -> LocalFront {
        var first = LocalFeatureStage.Configuration(geometry: smallLocalGeometry(channels: 1))
        first.seed = seed
        let bottom = try LocalFeatureStage(first)
        var second = LocalFeatureStage.Configuration(geometry: LocalStageGeometry(input: bottom.geometry.output, field: 2, stride: 1, maps: 2,
                                                                                   poolSize: 2, poolStride: 1, normalizationSize: 3))
        second.seed = seed + 1
        return try LocalFront(stages: [bottom, try LocalFeatureStage(second)])
    }

    /// Images of 3 classes, each a bright band of rows (top, middle, bottom) in noise.
    static func bands(perClass: Int, seed: UInt64) -> (Tensor, [Int]) {
        var random = RandomSource(seed: seed)
        var x = Tensor.uniform(shape: [3 * perClass, 72], low: 0, high: 0.5, using: &random)
        let labels = (0 ..< 3 * perClass).map { $0 % 3 }
        for (i, c) in labels.enumerated() { for r in 3 * c ..< 3 * c + 3 { for col in 0 ..< 8 { x.scalars[i * 72 + r * 8 + col] += 1 } } }
        return (x, labels)
    }

    /// `(8 (f(v+h) - f(v-h)) - (f(v+2h) - f(v-2h))) / 12h`.
    func fivePointDifference(_ cost: (Float) -> Double, at value: Float, step h: Float) -> Double {
        (8 * (cost(value + h) - cost(value - h)) - (cost(value + 2 * h) - cost(value - 2 * h))) / Double(12 * h)
    }

    static func meanCrossEntropy(_ network: SoftmaxNetwork, _ x: Tensor, _ labels: [Int]) -> Double {
        let p = network.probabilities(x)
        return labels.enumerated().reduce(0) { $0 - log(Double(p.scalars[$1.offset * p.columns + $1.element])) } / Double(labels.count)
    }

    @Test func theGradientReachesEveryStageEncoder() throws {
        // 2%: local contrast normalization divides by max(mean sigma, sigma), a kink that a
        // difference step may straddle (its error shrinks with the step: 3.5% at 1e-2, 0.9% at 1e-3).
        let check = GradientCheck("network through 2 local stages", tolerance: 2e-2)
        var random = RandomSource(seed: 7)
        let front = try Self.front()
        let hidden = DenseLayer(weights: .uniform(shape: [front.outputCount, 5], low: -0.5, high: 0.5, using: &random), bias: Tensor(zeros: [5]), activation: .sigmoid)
        var network = try SoftmaxNetwork(front: front, hidden: [hidden], classes: 3, irange: 0.5, seed: 3)
        let (x, labels) = Self.bands(perClass: 2, seed: 8)
        let (_, gradients) = network.gradients(x, labels: labels[...], random: &random)
        #expect(gradients.count == 2 + 2, "the dense layers' gradients, then one per stage")
        for stage in 0 ..< 2 {
            let gradient = gradients[2 + stage].weights, weights = network.front!.stages[stage].encoder
            #expect(gradient.shape == weights.shape)
            for index in stride(from: 0, to: weights.count, by: max(1, weights.count / 17)) {
                // Five points (error of order step^4), at a step small enough for the normalization's kink.
                let numeric = fivePointDifference({ v in
                    var n = network; n.front!.stages[stage].encoder.scalars[index] = v; return Self.meanCrossEntropy(n, x, labels)
                }, at: weights.scalars[index], step: 1e-3)
                check.compare(numeric, gradient.scalars[index], "stage \(stage + 1) encoder[\(index)]")
            }
        }
        check.finish()
    }

    static func configuration(epochs: Int) -> FineTuningConfiguration {
        var c = FineTuningConfiguration()
        (c.maxEpochs, c.batchSize, c.learningRate, c.patience) = (epochs, 10, 0.5, 100)
        return c
    }

    @Test func fineTuningThroughTheStagesLowersTheLossAndMovesTheEncoders() throws {
        let (x, labels) = Self.bands(perClass: 30, seed: 9), (vx, vl) = Self.bands(perClass: 5, seed: 10)
        let front = try Self.front()
        var network = try SoftmaxNetwork(front: front, hidden: [], classes: 3)
        var tuner = FineTuner(configuration: Self.configuration(epochs: 4), folder: TemporaryFolder().path)
        tuner.showProgress = false
        let report = try tuner.train(&network, x: x, labels: labels, validationX: vx, validationLabels: vl)
        let rows = report.log.rows
        let (first, last) = (rows.first!["train_y_nll"]!, rows.last!["train_y_nll"]!)
        print("fine-tuning through 2 local stages: train nll \(first) -> \(last), valid error \(report.bestValidationError)")
        #expect(last < 0.5 * first)
        #expect(network.front!.stages[0].encoder != front.stages[0].encoder, "the bottom stage's encoder trained")
        #expect(network.front!.stages[1].decoder == front.stages[1].decoder, "decoders are left as pretraining made them")
        #expect(network.sizes == "72-local(3/1x3)-local(2/1x2)-10".replacingOccurrences(of: "-10", with: "-3"))
    }

    @Test func aStoppedRunResumesToTheSameBytes() throws {
        let (x, labels) = Self.bands(perClass: 10, seed: 11), (vx, vl) = Self.bands(perClass: 3, seed: 12)
        var whole = try SoftmaxNetwork(front: try Self.front(), hidden: [], classes: 3)
        var once = FineTuner(configuration: Self.configuration(epochs: 2), folder: TemporaryFolder().path)
        once.showProgress = false
        try once.train(&whole, x: x, labels: labels, validationX: vx, validationLabels: vl)

        let folder = TemporaryFolder()
        var halves = try SoftmaxNetwork(front: try Self.front(), hidden: [], classes: 3)
        var first = FineTuner(configuration: Self.configuration(epochs: 1), folder: folder.path)
        first.showProgress = false
        var unused = halves
        try first.train(&unused, x: x, labels: labels, validationX: vx, validationLabels: vl)
        var second = FineTuner(configuration: Self.configuration(epochs: 2), folder: folder.path)
        (second.showProgress, second.resume) = (false, true)
        try second.train(&halves, x: x, labels: labels, validationX: vx, validationLabels: vl)
        for stage in 0 ..< 2 { #expect(halves.front!.stages[stage].encoder == whole.front!.stages[stage].encoder) }
        #expect(halves.output.weights == whole.output.weights)

        var other = try SoftmaxNetwork(hidden: [], inputCount: 72, classes: 3)
        var plain = FineTuner(configuration: Self.configuration(epochs: 2), folder: folder.path)
        (plain.showProgress, plain.resume) = (false, true)
        let refused = strataError { try plain.train(&other, x: x, labels: labels, validationX: vx, validationLabels: vl) }
        #expect(refused?.description.contains("local stages") == true, "\(refused?.description ?? "accepted")")
    }

    @Test func theSavedClassifierPredictsAsTheNetworkAndExports() throws {
        let (x, labels) = Self.bands(perClass: 10, seed: 13)
        var network = try SoftmaxNetwork(front: try Self.front(), hidden: [], classes: 3)
        var random = RandomSource(seed: 1)
        for _ in 0 ..< 5 { network.trainStep(x, labels: labels[...], settings: .init(learningRate: 0.5), random: &random) }
        let contract = InputContract(dataset: "bands", image: ImageGeometry(height: 9, width: 8))
        let classifier = try Classifier(fineTunedThrough: network, imagePreprocessing: PreprocessingPipeline(), classNames: ["top", "middle", "bottom"],
                                        extra: contract.metadata)
        let path = TemporaryFolder().file("classifier.safetensors")
        try classifier.write(to: path)
        let read = try Classifier.read(path)
        let (expected, found) = (network.probabilities(x), try read.scores(x))
        #expect(found == expected, "the file's classifier scores as the network")
        let planned = try InferencePlan(classifier: read).apply(x)
        let largest = zip(planned.scalars, expected.scalars).map { abs($0 - $1) }.max()!
        print("local fine-tuned classifier: exported plan against the network, largest difference \(largest)")
        #expect(largest < 1e-5)
        let refused = strataError { try Classifier(head: .softmax(network), classNames: ["a", "b", "c"]).write(to: path) }
        #expect(refused?.description.contains("extractor") == true)
    }

    /// `fine_tune` takes fine-tuning's keys that apply to stages and a softmax layer; a split run's plan says the stages fine-tune split.
    @Test func theFineTuneSectionIsReadAndCheckedAsTheLibraryDefines() throws {
        let yaml = "name: t\ndataset: {name: images}\nlocal_stages:\n  stages:\n    - {field: 4}\n  fine_tune: {epochs: 3, learning_rate: 0.02}\n"
        let experiment = try Experiment.parse(yaml, file: "t.yaml")
        #expect(experiment.localStages?.fineTune?.maxEpochs == 3 && experiment.localStages?.fineTune?.learningRate == 0.02)
        let refused = strataError { _ = try Experiment.parse(yaml.replacingOccurrences(of: "epochs: 3", with: "teacher: t.safetensors"), file: "t.yaml") }
        #expect("\(refused.map { "\($0)" } ?? "")".contains("teacher"), "\(String(describing: refused))")
        var split = experiment
        split.localStages!.modelParallel = 2
        let plan = ExperimentRun(split, compute: Compute(cores: 1)).plan
        #expect(plan.contains { $0.contains("fine-tuning through the stages") && $0.contains("the stages split as they trained") }, "\(plan)")
        #expect(ExperimentRun(experiment, compute: Compute(cores: 1)).plan.contains { $0.contains("fine-tuning through the stages") })
        let (trial, _) = ExperimentRun.trial(experiment, limit: nil, maxEpochs: 1)
        #expect(trial.localStages?.fineTune?.maxEpochs == 1, "--max-epochs caps the fine-tuning too")
        // Dense hidden layers between the stages and the softmax layer; their settings without them are refused.
        let deeper = try Experiment.parse(yaml.replacingOccurrences(of: "epochs: 3", with: "epochs: 3, hidden: 50, activation: relu, batch_norm: true"), file: "t.yaml")
        #expect(deeper.localStages?.fineTuneHidden.sizes == [50] && deeper.localStages?.fineTuneHidden.activation == .relu && deeper.localStages?.fineTune?.batchNorm == true)
        #expect(ExperimentRun(deeper, compute: Compute(cores: 1)).plan.contains { $0.contains("hidden layers 50 (relu) and a softmax layer") })
        let alone = strataError { _ = try Experiment.parse(yaml.replacingOccurrences(of: "epochs: 3", with: "hidden_dropout: 0.5"), file: "t.yaml") }
        #expect("\(alone.map { "\($0)" } ?? "")".contains("fine_tune.hidden"), "\(String(describing: alone))")
    }

    /// Across ranks every rank sums the same buffers in the same order: a rank
    /// without rows adds zeros of the gradients' shapes, and Downpour's server
    /// holds the encoders with the dense layers.
    @Test func theBuffersRanksExchangeIncludeTheStages() throws {
        var network = try SoftmaxNetwork(front: try Self.front(), hidden: [], classes: 3)
        let (x, labels) = Self.bands(perClass: 2, seed: 14)
        var random = RandomSource(seed: 1)
        let gradients = network.gradients(x, labels: labels[...], random: &random).gradients
        let zeros = network.zeroGradients()
        #expect(zeros.map(\.weights.shape) == gradients.map(\.weights.shape) && zeros.map(\.bias.shape) == gradients.map(\.bias.shape))
        var counts: [Int] = []
        network.forEachParameterBuffer { counts.append($0.count) }
        let encoders = network.front!.stages.map(\.encoder.count)
        #expect(counts == [network.output.weights.count, network.output.bias.count] + encoders, "\(counts)")
    }
}
