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

/// The split training steps with momentum and weight decay (``SplitUpdate``):
/// the velocity takes each part's band of `-lr * gradient` and then the
/// parameter takes the velocity. They must follow pylearn2's rule
/// `v = momentum v - lr (g + decay theta)`, `theta += v`, and give the same
/// bits on one core and on two.
@Suite struct SplitMomentumTests {
    static let (rate, momentum, decay): (Float, Float, Float) = (0.3, 0.8, 0.01)

    /// Without corruption an autoencoder's step is deterministic: three split
    /// steps with momentum and decay equal three whole-batch gradients, each
    /// applied by `sgdUpdate`.
    @Test(arguments: [true, false])
    func autoencoderStepsEqualWholeBatchGradientsWithMomentum(tied: Bool) throws {
        var config = Autoencoder.Configuration(visibleCount: 20, hiddenCount: 12)
        config.tied = tied
        let start = try Autoencoder(config)
        var random = RandomSource(seed: 2)
        let batches = (0 ..< 3).map { _ in Tensor.uniform(shape: [40, 20], using: &random) }
        var serial = start
        var serialCosts: [Double] = []
        for batch in batches {
            serialCosts.append(serial.costAndGradient(clean: batch, corrupted: batch))
            let (r, m, d) = (Self.rate, Self.momentum, Self.decay)
            sgdUpdate(&serial.weights, gradient: serial.gradW, velocity: &serial.velocityW, learningRate: r, momentum: m, decay: d)
            if !tied { sgdUpdate(&serial.decoderWeights, gradient: serial.gradD, velocity: &serial.velocityD, learningRate: r, momentum: m, decay: d) }
            sgdUpdate(&serial.hiddenBias, gradient: serial.gradC, velocity: &serial.velocityC, learningRate: r, momentum: m)
            sgdUpdate(&serial.visibleBias, gradient: serial.gradB, velocity: &serial.velocityB, learningRate: r, momentum: m)
        }
        var results: [Autoencoder] = []
        for cores in [1, 2] {
            var split = start
            var random = RandomSource(seed: 5)
            let hyper = StepHyperparameters(learningRate: Self.rate, momentum: Self.momentum, weightDecay: Self.decay, cores: cores)
            for (batch, serialCost) in zip(batches, serialCosts) {
                let cost = try split.trainStep(batch, hyper: hyper, random: &random)
                #expect(abs(cost - serialCost) < 1e-4 * abs(serialCost))
            }
            #expect(maxDifference(serial.weights, split.weights) < 1e-5)
            #expect(maxDifference(serial.velocityW, split.velocityW) < 1e-5)
            #expect(maxDifference(serial.hiddenBias, split.hiddenBias) < 1e-5)
            #expect(maxDifference(serial.visibleBias, split.visibleBias) < 1e-5)
            if !tied { #expect(maxDifference(serial.decoderWeights, split.decoderWeights) < 1e-5) }
            #expect(split.weights != start.weights)
            results.append(split)
        }
        #expect(results[0].weights == results[1].weights && results[0].velocityW == results[1].velocityW)
        #expect(results[0].decoderWeights == results[1].decoderWeights && results[0].visibleBias == results[1].visibleBias)
    }

    /// CD-1 draws the same samples whatever the update, so a step with
    /// momentum and decay from a given velocity must move the parameters by
    /// `momentum v + (plain step's change) - lr decay W` (biases: no decay).
    @Test(arguments: [1, 2])
    func contrastiveDivergenceWithMomentumFollowsTheRule(cores: Int) throws {
        let data = TrainingTests().prototypes(64)
        let config = RBM.Configuration(visibleCount: 16, hiddenCount: 8, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1))
        var rbm = try RBM(config)
        var random = RandomSource(seed: 9)
        rbm.velocityW = Tensor.uniform(shape: rbm.weights.shape, low: -0.1, high: 0.1, using: &random)
        rbm.velocityB = Tensor.uniform(shape: rbm.visibleBias.shape, low: -0.1, high: 0.1, using: &random)
        rbm.velocityC = Tensor.uniform(shape: rbm.hiddenBias.shape, low: -0.1, high: 0.1, using: &random)
        var plain = rbm
        var plainRandom = RandomSource(seed: 11), momentumRandom = RandomSource(seed: 11)
        _ = try plain.trainStep(data, hyper: StepHyperparameters(learningRate: Self.rate, cores: cores), random: &plainRandom)
        let hyper = StepHyperparameters(learningRate: Self.rate, momentum: Self.momentum, weightDecay: Self.decay, cores: cores)
        var stepped = rbm
        _ = try stepped.trainStep(data, hyper: hyper, random: &momentumRandom)
        let expectedVelocity = rbm.velocityW * Self.momentum + (plain.weights - rbm.weights) - rbm.weights * (Self.rate * Self.decay)
        #expect(maxDifference(stepped.velocityW, expectedVelocity) < 1e-5)
        #expect(maxDifference(stepped.weights, rbm.weights + expectedVelocity) < 1e-5)
        let visible = rbm.visibleBias + rbm.velocityB * Self.momentum + (plain.visibleBias - rbm.visibleBias)
        let hidden = rbm.hiddenBias + rbm.velocityC * Self.momentum + (plain.hiddenBias - rbm.hiddenBias)
        #expect(maxDifference(stepped.visibleBias, visible) < 1e-5)
        #expect(maxDifference(stepped.hiddenBias, hidden) < 1e-5)
    }

    /// Same bits on one core and on two, over several steps with momentum.
    @Test func contrastiveDivergenceWithMomentumIsIndependentOfTheCores() throws {
        let data = TrainingTests().prototypes(400)
        let config = RBM.Configuration(visibleCount: 16, hiddenCount: 8, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1))
        var results: [RBM] = []
        for cores in [1, 2] {
            var rbm = try RBM(config)
            var random = RandomSource(seed: 3)
            let hyper = StepHyperparameters(learningRate: Self.rate, momentum: Self.momentum, weightDecay: Self.decay, cores: cores)
            for start in stride(from: 0, to: 400, by: 40) { _ = try rbm.trainStep(data.rows(start ..< start + 40), hyper: hyper, random: &random) }
            results.append(rbm)
        }
        #expect(results[0].weights == results[1].weights && results[0].velocityW == results[1].velocityW)
        #expect(results[0].visibleBias == results[1].visibleBias && results[0].hiddenBias == results[1].hiddenBias)
    }
}
