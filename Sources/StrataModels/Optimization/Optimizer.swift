import Foundation
import StrataCore
import StrataData

/// How a gradient becomes a parameter update, for pretraining and fine-tuning alike.
///
/// - `momentum`: SGD with (classical) momentum, pylearn2's convention:
///   `v = mu v - lr (g + decay theta)`, `theta += v`; momentum 0 is plain SGD.
/// - `nesterov`: Nesterov's accelerated gradient in the form of Sutskever et
///   al. (2013) used by PyTorch and Keras: `v = mu v - lr g'`,
///   `theta += mu v - lr g'` with `g' = g + decay theta`.
/// - `adam`: Kingma and Ba (2015): `m = b1 m + (1 - b1) g'`,
///   `s = b2 s + (1 - b2) g'^2`, `theta -= lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)`
///   with `t` the number of updates so far; the momentum settings do not apply.
/// - `lbfgs`: full-batch L-BFGS with a line search (``LBFGS``), fine-tuning
///   only: each epoch is one iteration on the gradient of the whole training
///   set, assembled from chunks of `batch_size` examples (across MPI ranks,
///   handed out as they finish: Sandblaster, `FullBatchObjective`). The
///   learning-rate and momentum settings do not apply; `memory` pairs approximate the Hessian.
public enum Optimizer: Codable, Equatable, Sendable, CustomStringConvertible {
    case momentum
    case nesterov
    case adam(beta1: Float, beta2: Float, epsilon: Float)
    case lbfgs(memory: Int)

    /// Adam with the paper's defaults (0.9, 0.999, 1e-8).
    public static let adamDefaults = Optimizer.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
    /// The learning rate Adam takes when settings choose it and give none (the paper's 0.001).
    public static let adamLearningRate: Float = 0.001

    /// L-BFGS with the customary ten pairs (Nocedal and Wright suggest 3 to 20).
    public static let lbfgsDefaults = Optimizer.lbfgs(memory: 10)

    /// `momentum` (also `sgd`), `nesterov`, `adam`, `adam:BETA1:BETA2:EPSILON`, `lbfgs` or `lbfgs:MEMORY`.
    public init(parsing text: String) throws {
        let (word, p) = splitComposite(text)
        switch (word, p.count) {
        case ("momentum", 0), ("sgd", 0): self = .momentum
        case ("nesterov", 0): self = .nesterov
        case ("adam", 0): self = .adamDefaults
        case ("adam", 3):
            guard let b1 = Float(p[0]), let b2 = Float(p[1]), let eps = Float(p[2]),
                  (0 ..< 1).contains(b1), (0 ..< 1).contains(b2), eps > 0, eps.isFinite else {
                throw SettingError("adam:BETA1:BETA2:EPSILON takes betas in [0, 1) and a positive epsilon (got '\(text)')")
            }
            self = .adam(beta1: b1, beta2: b2, epsilon: eps)
        case ("lbfgs", 0): self = .lbfgsDefaults
        case ("lbfgs", 1):
            guard let m = Int(p[0]), (1 ... 100).contains(m) else {
                throw SettingError("lbfgs:MEMORY keeps 1 to 100 pairs (got '\(text)')")
            }
            self = .lbfgs(memory: m)
        default:
            throw SettingError("'\(text)' is not an optimizer: momentum (SGD with the momentum settings), nesterov, adam, adam:BETA1:BETA2:EPSILON, lbfgs or lbfgs:MEMORY (fine-tuning)")
        }
    }

    public var description: String {
        switch self {
        case .momentum: "momentum"
        case .nesterov: "nesterov"
        case .adam(let b1, let b2, let eps): "adam:\(b1):\(b2):\(eps)"
        case .lbfgs(let m): "lbfgs:\(m)"
        }
    }

    /// Whether this is the full-batch L-BFGS, which takes no minibatch steps.
    public var isLBFGS: Bool { if case .lbfgs = self { true } else { false } }

    /// Whether the update needs a second buffer per parameter (Adam's squared-gradient average).
    package var needsSecondMoments: Bool { if case .adam = self { true } else { false } }
}

/// The optimizer's state beyond the velocities a learner keeps: Adam's
/// squared-gradient averages by parameter name and the number of updates
/// made, saved in checkpoints (`adam.NAME`, `adam_steps`) so a resumed run
/// continues exactly.
public struct OptimizerState: Sendable, Equatable {
    /// Adam's `s` of each parameter, created at the first Adam step.
    var second: [String: Tensor] = [:]
    /// Updates made with Adam (its `t`).
    var steps = 0

    /// The tensors a checkpoint stores (none before the first Adam step).
    package var tensors: [String: Tensor] {
        guard steps > 0 else { return [:] }
        var out = ["adam_steps": Tensor(shape: [1], scalars: [Float(steps)])]
        for (name, s) in second { out["adam." + name] = s }
        return out
    }

    init() {}

    /// A learner's saved training state: its `velocities` (named `velocity_`
    /// and the parameter, with whatever else it keeps) and these tensors.
    package func trainingState(velocities: [String: Tensor]) -> [String: Tensor] {
        velocities.merging(tensors) { kept, _ in kept }
    }

    /// The state saved by ``tensors``; `shapes` gives each parameter's shape, which its `s` must have.
    package init(checkpoint state: [String: Tensor], shapes: [String: [Int]]) throws {
        guard let count = state["adam_steps"] else { return }
        guard count.count == 1, count.scalars[0] >= 1, count.scalars[0] < 1e9, count.scalars[0].rounded() == count.scalars[0] else {
            throw StrataError.badKey(path: "<checkpoint>", key: "adam_steps", reason: "must hold one whole number of updates")
        }
        steps = Int(count.scalars[0])
        for (name, shape) in shapes {
            second[name] = try requireTensor(state, "adam." + name, shape: shape)
        }
    }
}

extension StepHyperparameters {
    /// Applies ``optimizer``'s update to `parameter` from its `gradient`:
    /// `velocity` is the momentum buffer (Adam's first moment), `state`
    /// holds Adam's second moment under `name` (``OptimizerState/steps``
    /// already counts this update). `decay` is the L2 coefficient (0 for biases).
    func update(_ parameter: inout Tensor, gradient: Tensor, velocity: inout Tensor, name: String, state: inout OptimizerState, decay: Float = 0) {
        switch optimizer {
        case .momentum, .lbfgs: // L-BFGS takes no minibatch steps (validation keeps it out of the step paths)
            sgdUpdate(&parameter, gradient: gradient, velocity: &velocity, learningRate: learningRate, momentum: momentum, decay: decay)
        case .nesterov:
            let (lr, mu, count) = (learningRate, momentum, parameter.count)
            parameter.withUnsafeMutableBufferPointer { p in
                velocity.withUnsafeMutableBufferPointer { v in
                    gradient.withUnsafeBufferPointer { g in
                        guard let p = p.baseAddress, let v = v.baseAddress, let g = g.baseAddress else { return }
                        forEachElementPart(count) { r in
                            Self.nesterovLoop(p: p + r.lowerBound, v: v + r.lowerBound, g: g + r.lowerBound, count: r.count, rate: lr, momentum: mu, decay: decay)
                        }
                    }
                }
            }
        case .adam(let beta1, let beta2, let epsilon):
            let t = Float(max(state.steps, 1))
            let inverse1 = 1 / (1 - pow(beta1, t)), inverse2 = 1 / (1 - pow(beta2, t))
            // Taken out of the dictionary while it changes, so its buffer is updated in place, not copied.
            var second = state.second.removeValue(forKey: name) ?? Tensor(zeros: parameter.shape)
            parameter.withUnsafeMutableBufferPointer { p in
                guard !p.isEmpty else { return }
                velocity.withUnsafeMutableBufferPointer { m in
                    second.withUnsafeMutableBufferPointer { s in
                        gradient.withUnsafeBufferPointer { g in
                            forEachElementPart(p.count) { r in
                                let i = r.lowerBound
                                Self.adamLoop(p: p.baseAddress! + i, m: m.baseAddress! + i, s: s.baseAddress! + i, g: g.baseAddress! + i, count: r.count,
                                              rate: learningRate, decay: decay, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                              inverse1: inverse1, inverse2: inverse2)
                            }
                        }
                    }
                }
            }
            state.second[name] = second
        }
    }

    /// Nesterov's update eight values at a time (the same arithmetic in the
    /// scalar tail): `step = -rate (g + decay p)`, `v = momentum v + step`, `p += momentum v + step`.
    private static func nesterovLoop(p: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, count: Int,
                                     rate: Float, momentum: Float, decay: Float) {
        var i = 0
        while i + 8 <= count {
            let pv = UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self)
            let step = -rate * (UnsafeRawPointer(g + i).loadUnaligned(as: Float8.self) + decay * pv)
            let vv = momentum * UnsafeRawPointer(v + i).loadUnaligned(as: Float8.self) + step
            UnsafeMutableRawPointer(v + i).storeBytes(of: vv, as: Float8.self)
            UnsafeMutableRawPointer(p + i).storeBytes(of: pv + (momentum * vv + step), as: Float8.self)
            i += 8
        }
        while i < count {
            let step = -rate * (g[i] + decay * p[i])
            v[i] = momentum * v[i] + step
            p[i] += momentum * v[i] + step
            i += 1
        }
    }

    /// Adam's update eight values at a time (the same arithmetic in the
    /// scalar tail): `g' = g + decay p`, the two averages, then
    /// `p -= rate (m / c1) / (sqrt(s / c2) + epsilon)` with `inverse1 = 1 / c1`, `inverse2 = 1 / c2`.
    private static func adamLoop(p: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
                                 g: UnsafePointer<Float>, count: Int, rate: Float, decay: Float, beta1: Float, beta2: Float,
                                 epsilon: Float, inverse1: Float, inverse2: Float) {
        var i = 0
        while i + 8 <= count {
            let pv = UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self)
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: Float8.self) + decay * pv
            let mv = beta1 * UnsafeRawPointer(m + i).loadUnaligned(as: Float8.self) + (1 - beta1) * gv
            let sv = beta2 * UnsafeRawPointer(s + i).loadUnaligned(as: Float8.self) + (1 - beta2) * (gv * gv)
            UnsafeMutableRawPointer(m + i).storeBytes(of: mv, as: Float8.self)
            UnsafeMutableRawPointer(s + i).storeBytes(of: sv, as: Float8.self)
            let stepped = pv - rate * (mv * inverse1) / ((sv * inverse2).squareRoot() + epsilon)
            UnsafeMutableRawPointer(p + i).storeBytes(of: stepped, as: Float8.self)
            i += 8
        }
        while i < count {
            let gi = g[i] + decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            s[i] = beta2 * s[i] + (1 - beta2) * (gi * gi)
            p[i] = p[i] - rate * (m[i] * inverse1) / ((s[i] * inverse2).squareRoot() + epsilon)
            i += 1
        }
    }

    /// True when the update is plain SGD (no momentum, no decay): what the
    /// fused and split training steps add straight into the parameters.
    var isPlainSGD: Bool { optimizer == .momentum && momentum == 0 && weightDecay == 0 }
}
