import Foundation
import Strata
@testable import StrataCore
@testable import StrataModels
import Testing

/// The RBM's Gibbs sampler, as persistent contrastive divergence runs it,
/// against the model's exact distribution: a binary RBM small enough
/// (4 visible, 3 hidden units) that p(v) = sum over h of exp(-E(v, h)) / Z is
/// computed by enumerating all 16 x 8 joint states, as scikit-learn's RBM
/// tests check statistical facts rather than numbers a run happened to give.
@Suite struct SamplerTests {
    static let (visible, hidden) = (4, 3)

    /// An RBM with weights strong enough that its units are far from independent.
    static func model() throws -> RBM {
        var rbm = try RBM(RBM.Configuration(visibleCount: visible, hiddenCount: hidden, visibleUnits: .binary,
                                            objective: .persistentCD(steps: 1)))
        var random = RandomSource(seed: 2012)
        rbm.weights = .uniform(shape: [visible, hidden], low: -2, high: 2, using: &random)
        rbm.visibleBias = .uniform(shape: [visible], low: -1, high: 1, using: &random)
        rbm.hiddenBias = .uniform(shape: [hidden], low: -1, high: 1, using: &random)
        return rbm
    }

    /// p(v) for the 16 visible states (state s: unit i on when bit i of s is set), by enumeration in Double.
    static func exactVisibleDistribution(_ rbm: RBM) -> [Double] {
        let (w, b, c) = (rbm.weights.scalars, rbm.visibleBias.scalars, rbm.hiddenBias.scalars)
        var weights = [Double](repeating: 0, count: 1 << visible)
        for s in 0 ..< 1 << visible {
            for t in 0 ..< 1 << hidden {
                var minusEnergy = 0.0
                for i in 0 ..< visible where s >> i & 1 == 1 { minusEnergy += Double(b[i]) }
                for j in 0 ..< hidden where t >> j & 1 == 1 {
                    minusEnergy += Double(c[j])
                    for i in 0 ..< visible where s >> i & 1 == 1 { minusEnergy += Double(w[i * hidden + j]) }
                }
                weights[s] += exp(minusEnergy)
            }
        }
        let z = weights.reduce(0, +)
        return weights.map { $0 / z }
    }

    static func totalVariation(_ p: [Double], _ q: [Double]) -> Double {
        zip(p, q).map { abs($0 - $1) }.reduce(0, +) / 2
    }

    @Test func persistentChainsReachTheExactDistribution() throws {
        var rbm = try Self.model()
        let exact = Self.exactVisibleDistribution(rbm)
        // 2,000 persistent chains, 30 steps of burn-in, then 40 steps tallied:
        // the same PCD step training takes (its gradient is computed and left unused).
        let chains = 2000
        let batch = Tensor(zeros: [chains, Self.visible])
        var random = RandomSource(seed: 7)
        var counts = [Double](repeating: 0, count: 1 << Self.visible)
        for step in 0 ..< 70 {
            _ = rbm.persistentCD(batch, steps: 1, random: &random)
            guard step >= 30, let chain = rbm.chain else { continue }
            #expect(chain.scalars.allSatisfy { $0 == 0 || $0 == 1 }, "the chains hold binary samples")
            for row in 0 ..< chains {
                var state = 0
                for i in 0 ..< Self.visible where chain.scalars[row * Self.visible + i] == 1 { state |= 1 << i }
                counts[state] += 1
            }
        }
        let total = counts.reduce(0, +)
        let sampled = counts.map { $0 / total }
        let distance = Self.totalVariation(sampled, exact)
        // The test has power: the exact distribution is far from the product of its
        // marginals, which a sampler ignoring the weights' coupling would approach.
        var marginals = [Double](repeating: 0, count: Self.visible)
        for (s, p) in exact.enumerated() { for i in 0 ..< Self.visible where s >> i & 1 == 1 { marginals[i] += p } }
        var independent = [Double](repeating: 1, count: 1 << Self.visible)
        for s in independent.indices {
            for i in 0 ..< Self.visible { independent[s] *= s >> i & 1 == 1 ? marginals[i] : 1 - marginals[i] }
        }
        let separation = Self.totalVariation(independent, exact)
        print(String(format: "Gibbs sampler: total variation %.4f from the exact p(v) over %.0f samples (tolerance 0.01); independent units would be %.3f away",
                     distance, total, separation))
        #expect(separation > 0.03, "the model's units should be strongly coupled: \(separation)")
        #expect(distance < 0.01, "sampled \(sampled) against exact \(exact)")
    }
}
