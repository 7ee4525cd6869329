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

/// Central differences on a Float32 cost: steps of 1e-2 are the right size
/// for costs of a few units computed in Float32 (smaller steps drown in its rounding).
func finiteDifference(_ cost: (Float) -> Double, at value: Float, step: Float = 1e-2) -> Double {
    (cost(value + step) - cost(value - step)) / Double(2 * step)
}

/// One test's comparisons of analytic derivatives with finite differences,
/// by relative difference `|numeric - analytic| / max(|numeric|, |analytic|, floor)`
/// (the floor, 0.1, keeps derivatives near zero from dividing by almost
/// nothing). ``finish(sourceLocation:)`` prints the largest difference and
/// where it was, and expects it within `tolerance` (1%: central differences
/// of step 1e-2 on Float32 costs agree to a few parts in a thousand).
final class GradientCheck {
    let name: String, tolerance: Double, floor: Double
    private(set) var largest = 0.0, largestAt = "", count = 0

    init(_ name: String, tolerance: Double = 1e-2, floor: Double = 0.1) {
        (self.name, self.tolerance, self.floor) = (name, tolerance, floor)
    }

    func compare(_ numeric: Double, _ analytic: Float, _ what: String) {
        let difference = abs(numeric - Double(analytic)) / max(abs(numeric), Double(abs(analytic)), floor)
        count += 1
        if difference >= largest || !difference.isFinite { (largest, largestAt) = (difference, "\(what): finite difference \(numeric), analytic \(analytic)") }
    }

    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        print(String(format: "gradient check %@: %d derivatives, largest relative difference %.2e (tolerance %.0e) at %@", name, count, largest, tolerance, largestAt))
        #expect(count > 0, "\(name): nothing compared", sourceLocation: sourceLocation)
        #expect(largest <= tolerance, "\(name): largest relative difference \(largest) at \(largestAt)", sourceLocation: sourceLocation)
    }
}

@Suite struct AutoencoderGradientTests {
    struct Case: CustomStringConvertible, Sendable {
        var tied: Bool, encoder: Activation, decoder: Activation, loss: Autoencoder.Loss
        var sparsity: Float = 0, contractive: Float = 0
        var description: String { "\(tied ? "tied" : "untied") \(encoder)/\(decoder) \(loss) sparsity \(sparsity) contractive \(contractive)" }
    }

    static let cases: [Case] = [
        Case(tied: true, encoder: .sigmoid, decoder: .sigmoid, loss: .crossEntropy),
        Case(tied: false, encoder: .sigmoid, decoder: .sigmoid, loss: .crossEntropy),
        Case(tied: true, encoder: .tanh, decoder: .linear, loss: .squaredError),
        Case(tied: false, encoder: .relu, decoder: .linear, loss: .squaredError),
        Case(tied: false, encoder: .leakyRelu, decoder: .leakyRelu, loss: .squaredError),
        Case(tied: false, encoder: .linear, decoder: .tanh, loss: .squaredError),
        Case(tied: true, encoder: .sigmoid, decoder: .sigmoid, loss: .squaredError),
        Case(tied: true, encoder: .sigmoid, decoder: .relu, loss: .squaredError),
        Case(tied: true, encoder: .sigmoid, decoder: .sigmoid, loss: .crossEntropy, sparsity: 0.5),
        Case(tied: false, encoder: .sigmoid, decoder: .linear, loss: .squaredError, sparsity: 0.3, contractive: 0.2),
        Case(tied: true, encoder: .tanh, decoder: .sigmoid, loss: .crossEntropy, contractive: 0.5),
    ]

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ c: Case) throws {
        let check = GradientCheck(#function)
        var config = Autoencoder.Configuration(visibleCount: 6, hiddenCount: 4)
        (config.tied, config.encoder, config.decoder, config.loss) = (c.tied, c.encoder, c.decoder, c.loss)
        (config.sparsityWeight, config.contractiveWeight, config.irange, config.sparsityTarget) = (c.sparsity, c.contractive, 0.8, 0.2)
        var ae = try Autoencoder(config)
        var random = RandomSource(seed: 21)
        ae.hiddenBias = .uniform(shape: [4], low: -0.5, high: 0.5, using: &random)
        ae.visibleBias = .uniform(shape: [6], low: -0.5, high: 0.5, using: &random)
        let x = Tensor.uniform(shape: [5, 6], low: 0.05, high: 0.95, using: &random)
        var xt = x
        xt.apply { $0 * 0.9 + 0.03 }
        _ = ae.costAndGradient(clean: x, corrupted: xt)
        let (gW, gD, gC, gB) = (ae.gradW, ae.gradD, ae.gradC, ae.gradB)
        for index in [0, 5, 11, 17, 23] {
            let numeric = finiteDifference({ v in var m = ae; m.weights.scalars[index] = v; return m.cost(clean: x, corrupted: xt) }, at: ae.weights.scalars[index])
            check.compare(numeric, gW.scalars[index], "\(c) W[\(index)]")
        }
        if !c.tied {
            for index in [0, 7, 23] {
                let numeric = finiteDifference({ v in var m = ae; m.decoderWeights.scalars[index] = v; return m.cost(clean: x, corrupted: xt) }, at: ae.decoderWeights.scalars[index])
                check.compare(numeric, gD.scalars[index], "\(c) W'[\(index)]")
            }
        }
        for index in 0 ..< 4 {
            let numeric = finiteDifference({ v in var m = ae; m.hiddenBias.scalars[index] = v; return m.cost(clean: x, corrupted: xt) }, at: ae.hiddenBias.scalars[index])
            check.compare(numeric, gC.scalars[index], "\(c) c[\(index)]")
        }
        for index in [0, 3, 5] {
            let numeric = finiteDifference({ v in var m = ae; m.visibleBias.scalars[index] = v; return m.cost(clean: x, corrupted: xt) }, at: ae.visibleBias.scalars[index])
            check.compare(numeric, gB.scalars[index], "\(c) b[\(index)]")
        }
        check.finish()
    }
}

@Suite struct RBMGradientTests {
    @Test(arguments: [RBM.VisibleUnits.binary, .gaussian])
    func freeEnergyGradientMatchesFiniteDifferences(units: RBM.VisibleUnits) throws {
        let check = GradientCheck(#function)
        var config = RBM.Configuration(visibleCount: 5, hiddenCount: 3, visibleUnits: units, objective: .contrastiveDivergence(steps: 1))
        config.irange = 0.7
        config.initSigma = 0.8
        var rbm = try RBM(config)
        var random = RandomSource(seed: 5)
        rbm.visibleBias = .uniform(shape: [5], low: -0.5, high: 0.5, using: &random)
        rbm.hiddenBias = .uniform(shape: [3], low: -0.5, high: 0.5, using: &random)
        let v = Tensor.uniform(shape: [4, 5], using: &random)
        let (gW, gB, gC) = rbm.freeEnergyGradient(v)
        func meanF(_ m: RBM) -> Double { m.freeEnergy(v).mean() }
        for index in [0, 4, 8, 14] {
            let numeric = finiteDifference({ x in var m = rbm; m.weights.scalars[index] = x; return meanF(m) }, at: rbm.weights.scalars[index])
            check.compare(numeric, gW.scalars[index], "\(units) W[\(index)]")
        }
        for index in 0 ..< 5 {
            let numeric = finiteDifference({ x in var m = rbm; m.visibleBias.scalars[index] = x; return meanF(m) }, at: rbm.visibleBias.scalars[index])
            check.compare(numeric, gB.scalars[index], "\(units) b[\(index)]")
        }
        for index in 0 ..< 3 {
            let numeric = finiteDifference({ x in var m = rbm; m.hiddenBias.scalars[index] = x; return meanF(m) }, at: rbm.hiddenBias.scalars[index])
            check.compare(numeric, gC.scalars[index], "\(units) c[\(index)]")
        }
        check.finish()
    }

    @Test func scoreMatchingGradientMatchesFiniteDifferences() throws {
        let check = GradientCheck(#function)
        var config = RBM.Configuration.quickStartGRBM(visibleCount: 5, hiddenCount: 4)
        config.irange = 0.6
        config.initSigma = 0.9
        var rbm = try RBM(config)
        var random = RandomSource(seed: 6)
        rbm.visibleBias = .uniform(shape: [5], low: -0.5, high: 0.5, using: &random)
        rbm.hiddenBias = .uniform(shape: [4], low: -1, high: 1, using: &random)
        let x = Tensor.normal(shape: [6, 5], using: &random)
        let corruption = Tensor.normal(shape: [6, 5], standardDeviation: 0.4, using: &random)
        var probe = rbm
        _ = probe.scoreMatchingGradient(x, corruption: corruption, level: 0.4)
        func cost(_ m: RBM) -> Double { var c = m; return c.scoreMatchingGradient(x, corruption: corruption, level: 0.4) }
        for index in [0, 6, 13, 19] {
            let numeric = finiteDifference({ v in var m = rbm; m.weights.scalars[index] = v; return cost(m) }, at: rbm.weights.scalars[index], step: 1e-2)
            check.compare(numeric, probe.gradW.scalars[index], "W[\(index)]")
        }
        for index in 0 ..< 5 {
            let numeric = finiteDifference({ v in var m = rbm; m.visibleBias.scalars[index] = v; return cost(m) }, at: rbm.visibleBias.scalars[index])
            check.compare(numeric, probe.gradB.scalars[index], "b[\(index)]")
        }
        for index in 0 ..< 4 {
            let numeric = finiteDifference({ v in var m = rbm; m.hiddenBias.scalars[index] = v; return cost(m) }, at: rbm.hiddenBias.scalars[index])
            check.compare(numeric, probe.gradC.scalars[index], "c[\(index)]")
        }
        let numeric = finiteDifference({ v in var m = rbm; m.sigma = v; return cost(m) }, at: rbm.sigma, step: 1e-3)
        check.compare(numeric, probe.gradSigma, "sigma")
        check.finish()
    }
}
