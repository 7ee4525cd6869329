import StrataCore
import StrataData

/// How a split training step (``RBM`` and ``Autoencoder``'s parallel
/// schedules) turns the band of the gradient that one part computes into an
/// update of its band of a parameter.
///
/// Plain SGD (no momentum, no decay) adds `-lr * gradient` straight into the
/// parameter. SGD with momentum (pylearn2's convention, as
/// ``sgdUpdate(_:gradient:velocity:learningRate:momentum:decay:)``:
/// `v = momentum v - lr (g + decay theta)`, `theta += v`) first scales the
/// band of the velocity by the momentum, lets the part's GEMM accumulate
/// `-lr * gradient` into it (beta 1), and then ``finish(_:velocity:count:decays:)``
/// subtracts the decay and adds the velocity to the parameter while the band
/// is still in the core's cache. The full gradient matrix is never stored:
/// one pass over the velocity instead of three (gradient written, read,
/// velocity updated). Element-wise, so the bits do not depend on the split.
struct SplitUpdate {
    /// The velocity's factor each step.
    let momentum: Float
    /// `learningRate * weightDecay`, taken off the velocity for weight matrices.
    let decayStep: Float

    init(_ hyper: StepHyperparameters) {
        (momentum, decayStep) = (hyper.momentum, hyper.learningRate * hyper.weightDecay)
    }

    /// Plain SGD: the step goes straight into the parameter.
    var isDirect: Bool { momentum == 0 && decayStep == 0 }

    /// Where a part accumulates `-lr * gradient` for the `count` values at
    /// `parameter`: the parameter itself (plain SGD), or the velocity, scaled
    /// by the momentum first.
    func target(_ parameter: UnsafeMutablePointer<Float>, velocity: UnsafeMutablePointer<Float>, count: Int) -> UnsafeMutablePointer<Float> {
        if isDirect { return parameter }
        mapEight(velocity, velocity, count: count, { [momentum] in $0 * momentum }, { [momentum] in $0 * momentum })
        return velocity
    }

    /// After the part's products: `v -= decayStep * theta` (weight matrices,
    /// `decays`), then `theta += v`. Nothing for plain SGD.
    func finish(_ parameter: UnsafeMutablePointer<Float>, velocity: UnsafeMutablePointer<Float>, count: Int, decays: Bool) {
        if isDirect { return }
        let decay = decays ? decayStep : 0
        let d = Float8(repeating: decay)
        var i = 0
        while i + 8 <= count {
            let p = UnsafeRawPointer(parameter + i).loadUnaligned(as: Float8.self)
            var v = UnsafeRawPointer(velocity + i).loadUnaligned(as: Float8.self)
            if decay != 0 { v -= d * p }
            UnsafeMutableRawPointer(velocity + i).storeBytes(of: v, as: Float8.self)
            UnsafeMutableRawPointer(parameter + i).storeBytes(of: p + v, as: Float8.self)
            i += 8
        }
        while i < count {
            if decay != 0 { velocity[i] -= decay * parameter[i] }
            parameter[i] += velocity[i]
            i += 1
        }
    }
}
