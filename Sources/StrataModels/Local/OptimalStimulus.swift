import Foundation
import StrataCore

/// The input of fixed norm that drives one unit of a stack of local stages
/// hardest (Le et al. 2012, section 4.3: "the optimal stimulus ... found by
/// numerical optimization"): projected gradient ascent on the sphere
///
/// ```
/// x <- R (x + rate g / |g|) / |x + rate g / |g||,   g = d unit / d x
/// ```
///
/// with `R = sqrt(visible)`, the norm of a standardized image (mean 0,
/// deviation 1), from a small random start; `rate` falls from 0.5 R to 0.05 R.
public enum OptimalStimulus {
    /// The stimulus found and the unit's value there.
    public struct Found: Sendable {
        public var input: Tensor
        public var activation: Float
    }

    /// Climbs (or, with `maximize` false, descends) top-stage output `unit`
    /// of `stages` (whole stages, the first reading the input) for `steps` steps.
    public static func find(stages: [LocalFeatureStage], unit: Int, maximize: Bool = true, steps: Int, seed: UInt64) throws -> Found {
        guard let first = stages.first, let last = stages.last, (0 ..< last.hiddenCount).contains(unit) else {
            throw StrataError.invalidArgument(name: "unit", reason: "\(unit) is not an output of the stack")
        }
        let radius = Float(first.visibleCount).squareRoot()
        var random = RandomSource(seed: seed)
        var x = Tensor.normal(shape: [1, first.visibleCount], standardDeviation: 0.1, using: &random)
        project(&x, radius: radius)
        for step in 0 ..< steps {
            var inputs = [x]
            for stage in stages.dropLast() { inputs.append(stage.transform(inputs.last!)) }
            var gradient = Tensor(zeros: [1, last.hiddenCount])
            gradient[0, unit] = maximize ? 1 : -1
            for (stage, input) in zip(stages, inputs).reversed() { gradient = try stage.inputGradient(input, outputGradient: gradient) }
            let length = Float(gradient.squaredNorm().squareRoot())
            guard length > 0, length.isFinite else { break }
            let rate = radius * (0.5 - 0.45 * Float(step) / Float(max(1, steps - 1))) / length
            for i in 0 ..< x.count { x.scalars[i] += rate * gradient.scalars[i] }
            project(&x, radius: radius)
        }
        return Found(input: x, activation: stages.reduce(x) { $1.transform($0) }[0, unit])
    }

    /// Scales `x` to norm `radius`.
    static func project(_ x: inout Tensor, radius: Float) {
        let norm = Float(x.squaredNorm().squareRoot())
        guard norm > 0 else { return }
        for i in 0 ..< x.count { x.scalars[i] *= radius / norm }
    }
}
