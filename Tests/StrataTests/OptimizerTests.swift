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

@Suite struct OptimizerTests {
    /// Three Adam steps equal Kingma and Ba's Algorithm 1, computed here in
    /// Double from the paper's formulas (with L2 decay added to the gradient).
    @Test func adamStepsEqualThePublishedUpdate() throws {
        let (b1, b2, eps, lr, decay) = (0.9, 0.999, 1e-8, 0.01, 0.1)
        var parameter = Tensor(shape: [2, 2], scalars: [0.5, -1, 2, 0])
        var velocity = Tensor(zeros: [2, 2])
        var state = OptimizerState()
        let hyper = StepHyperparameters(learningRate: Float(lr), optimizer: .adam(beta1: Float(b1), beta2: Float(b2), epsilon: Float(eps)))
        var p = parameter.scalars.map(Double.init), m = [Double](repeating: 0, count: 4), v = m
        let gradients: [[Float]] = [[0.1, -0.2, 0.3, 1], [-0.5, 0.25, 0, 2], [0.01, 0.02, -0.03, -1]]
        for (t, g) in gradients.enumerated() {
            state.steps += 1
            hyper.update(&parameter, gradient: Tensor(shape: [2, 2], scalars: g), velocity: &velocity, name: "w", state: &state, decay: Float(decay))
            for i in 0 ..< 4 {
                let gi = Double(g[i]) + decay * p[i]
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                let mHat = m[i] / (1 - pow(b1, Double(t + 1))), vHat = v[i] / (1 - pow(b2, Double(t + 1)))
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
            for i in 0 ..< 4 { #expect(abs(Double(parameter.scalars[i]) - p[i]) < 1e-6, "step \(t + 1), value \(i)") }
        }
        #expect(state.tensors["adam.w"] != nil && state.tensors["adam_steps"]?.scalars == [3])
    }

    /// Nesterov's step in Sutskever et al.'s form: `v = mu v - lr g`, `theta += mu v - lr g`.
    @Test func nesterovStepsEqualSutskeversForm() {
        var parameter = Tensor(shape: [3], scalars: [1, 2, 3]), velocity = Tensor(zeros: [3])
        var state = OptimizerState()
        let hyper = StepHyperparameters(learningRate: 0.1, momentum: 0.9, optimizer: .nesterov)
        var p: [Float] = [1, 2, 3], v: [Float] = [0, 0, 0]
        for g: [Float] in [[1, -1, 0.5], [0.2, 0.4, -2]] {
            hyper.update(&parameter, gradient: Tensor(shape: [3], scalars: g), velocity: &velocity, name: "b", state: &state)
            for i in 0 ..< 3 { v[i] = 0.9 * v[i] - 0.1 * g[i]; p[i] += 0.9 * v[i] - 0.1 * g[i] }
            #expect(maxDifference(parameter, Tensor(shape: [3], scalars: p)) < 1e-6)
        }
        #expect(state.tensors.isEmpty, "Nesterov keeps no state beyond the velocity")
    }

    /// The update of a large buffer is split over the cores (so it does not
    /// run on one core while the others wait): each optimizer gives the same
    /// bits on one core and two, and the same values as its formula at the
    /// start, at a part boundary and in the scalar tail.
    @Test(arguments: [Optimizer.momentum, .nesterov, .adamDefaults])
    func largeUpdatesAreSplitOverTheCoresWithoutChangingABit(_ optimizer: Optimizer) throws {
        let count = 300_003
        var random = RandomSource(seed: 4)
        let start = Tensor.uniform(shape: [count], low: -1, high: 1, using: &random)
        let gradients = (0 ..< 2).map { _ in Tensor.uniform(shape: [count], low: -1, high: 1, using: &random) }
        let hyper = StepHyperparameters(learningRate: 0.05, momentum: 0.9, weightDecay: 0.01, optimizer: optimizer)
        func run(cores: Int) -> (Tensor, Tensor) {
            Compute(cores: cores).apply()
            defer { Compute(cores: 2).apply() }
            var (parameter, velocity, state) = (start, Tensor(zeros: [count]), OptimizerState())
            for g in gradients {
                state.steps += 1
                hyper.update(&parameter, gradient: g, velocity: &velocity, name: "w", state: &state, decay: hyper.weightDecay)
            }
            return (parameter, velocity)
        }
        let (one, two) = (run(cores: 1), run(cores: 2))
        #expect(one.0 == two.0 && one.1 == two.1)
        for i in [0, 149_951, 149_952, count - 1] { // 149,952 = 64 x 2,343: where the second part begins
            var (p, v, m2) = (start.scalars[i], Float(0), Float(0))
            for (t, g) in gradients.enumerated() {
                let gi = g.scalars[i] + 0.01 * p
                switch optimizer {
                case .nesterov: v = 0.9 * v - 0.05 * gi; p += 0.9 * v - 0.05 * gi
                case .adam(let b1, let b2, let eps):
                    v = b1 * v + (1 - b1) * gi; m2 = b2 * m2 + (1 - b2) * gi * gi
                    p -= 0.05 * (v / (1 - pow(b1, Float(t + 1)))) / ((m2 / (1 - pow(b2, Float(t + 1)))).squareRoot() + eps)
                default: v = 0.9 * v - 0.05 * gi; p += v
                }
            }
            #expect(abs(two.0.scalars[i] - p) < 1e-5, "\(optimizer) value \(i)")
        }
    }

    /// Each optimizer lowers the objective of an RBM, an autoencoder and a
    /// softmax network on the same data.
    @Test(arguments: [Optimizer.nesterov, .adamDefaults])
    func everyLearnerTrainsWithIt(_ optimizer: Optimizer) throws {
        let (x, labels) = blobs(classes: 3, perClass: 40, dimensions: 12, seed: 8)
        var binary = x
        binary.apply { $0 > 0 ? 1 : 0 }
        let rate: Float = optimizer == .nesterov ? 0.05 : 0.01
        let hyper = StepHyperparameters(learningRate: rate, momentum: 0.5, optimizer: optimizer)
        var random = RandomSource(seed: 3)
        var rbm = try RBM(.init(visibleCount: 12, hiddenCount: 8, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1)))
        var autoencoder = try Autoencoder(.init(visibleCount: 12, hiddenCount: 8))
        let rbmBefore = try rbm.trainStep(binary, hyper: hyper, random: &random)
        let aeBefore = try autoencoder.trainStep(x, hyper: hyper, random: &random)
        var rbmAfter = 0.0, aeAfter = 0.0
        for _ in 0 ..< 60 {
            rbmAfter = try rbm.trainStep(binary, hyper: hyper, random: &random)
            aeAfter = try autoencoder.trainStep(x, hyper: hyper, random: &random)
        }
        #expect(rbmAfter < 0.8 * rbmBefore, "RBM reconstruction error \(rbmBefore) -> \(rbmAfter)")
        #expect(aeAfter < 0.8 * aeBefore, "autoencoder cost \(aeBefore) -> \(aeAfter)")

        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 12, hiddenSizes: [10], classes: 3, seed: 2)
        let settings = SoftmaxNetwork.StepSettings(learningRate: rate, momentum: 0.5, optimizer: optimizer)
        let lossBefore = network.evaluate(x, labels: labels).crossEntropy
        for _ in 0 ..< 60 { network.trainStep(x, labels: labels[...], settings: settings, random: &random) }
        #expect(network.evaluate(x, labels: labels).crossEntropy < 0.5 * lossBefore)
    }

    /// Rectifier layers start with He et al.'s variance 2 / fan_in (uniform in
    /// ±sqrt(6 / fan_in)); sigmoid layers keep Glorot's scaled range.
    @Test func rectifiersGetHeInitialization() throws {
        for activation in [Activation.relu, .leakyRelu] {
            let network = try SoftmaxNetwork.randomlyInitialized(inputCount: 400, hiddenSizes: [300, 200], activation: activation, classes: 10, seed: 5)
            for (layer, fanIn) in zip(network.hidden, [400, 300]) {
                let variance = layer.weights.squaredNorm() / Double(layer.weights.count)
                #expect(abs(variance / (2 / Double(fanIn)) - 1) < 0.05, "\(activation) layer of fan-in \(fanIn): variance \(variance)")
                #expect(layer.weights.minMax()!.max <= (6 / Float(fanIn)).squareRoot())
            }
        }
        let sigmoid = try SoftmaxNetwork.randomlyInitialized(inputCount: 400, hiddenSizes: [300], classes: 10, seed: 5)
        #expect(abs(sigmoid.hidden[0].weights.minMax()!.max - 4 * (6 / Float(700)).squareRoot()) < 0.01)
        var z = Tensor(shape: [4], scalars: [-2, -0.5, 0, 3])
        z.withUnsafeMutableBufferPointer { Activation.leakyRelu.apply($0) }
        #expect(z.scalars == [-0.02, -0.005, 0, 3])
    }

    /// Adam's state travels with a learner's checkpoint: a restored autoencoder
    /// continues bit for bit like the one that kept running.
    @Test func adamStateSurvivesALearnerCheckpoint() throws {
        let (x, _) = blobs(classes: 2, perClass: 20, dimensions: 6, seed: 9)
        let hyper = StepHyperparameters(learningRate: 0.01, optimizer: .adamDefaults)
        var c = Autoencoder.Configuration(visibleCount: 6, hiddenCount: 4)
        c.tied = false
        var running = try Autoencoder(c)
        var random = RandomSource(seed: 1)
        for _ in 0 ..< 3 { _ = try running.trainStep(x, hyper: hyper, random: &random) }
        #expect(running.trainingState["adam_steps"]?.scalars == [3] && running.trainingState["adam.decoder_weights"] != nil)
        var restored = try Autoencoder(configurationJSON: running.configurationJSON, parameters: running.parameters, trainingState: running.trainingState)
        var copy = random
        for _ in 0 ..< 2 {
            _ = try running.trainStep(x, hyper: hyper, random: &random)
            _ = try restored.trainStep(x, hyper: hyper, random: &copy)
        }
        #expect(restored.parameters == running.parameters)
        var broken = running.trainingState
        broken["adam_steps"] = Tensor(shape: [1], scalars: [0.5])
        #expect(strataError { _ = try Autoencoder(configurationJSON: running.configurationJSON, parameters: running.parameters, trainingState: broken) }?
            .description.contains("adam_steps") == true)
    }

    /// One name in YAML and on the command line; Adam with momentum settings is refused.
    @Test func readFromSettingsWithOneVocabulary() throws {
        var training = TrainingConfiguration()
        try training.readMinibatchSGD(from: FlagSettings(["optimizer": "adam:0.8:0.99:1e-7"]))
        #expect(training.optimizer == .adam(beta1: 0.8, beta2: 0.99, epsilon: 1e-7) && training.learningRate == 0.001, "Adam's own default rate")
        try training.readMinibatchSGD(from: FlagSettings(["optimizer": "adam", "learning_rate": "0.003"]))
        #expect(training.learningRate == 0.003)
        var fine = FineTuningConfiguration()
        try fine.readMinibatchSGD(from: FlagSettings(["optimizer": "nesterov"]))
        #expect(fine.optimizer == .nesterov)
        #expect(refusal(["finetune", "softmax", "--stack", "s.safetensors", "--optimizer", "adam", "--momentum", "0.9"])?
            .contains("Adam keeps its own momentum") == true)
        #expect(throws: SettingError("adam:BETA1:BETA2:EPSILON takes betas in [0, 1) and a positive epsilon (got 'adam:1:0.9:1e-8')")) {
            try Optimizer(parsing: "adam:1:0.9:1e-8")
        }
        let decoded = try JSONDecoder().decode(FineTuningConfiguration.self, from: Data(#"{"batchSize": 10}"#.utf8))
        #expect(decoded.optimizer == .momentum && decoded.batchSize == 10, "a record from before optimizers existed")
    }
}
