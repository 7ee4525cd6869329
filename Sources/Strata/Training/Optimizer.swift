import Foundation

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
public enum Optimizer: Codable, Equatable, Sendable, CustomStringConvertible {
    case momentum
    case nesterov
    case adam(beta1: Float, beta2: Float, epsilon: Float)

    /// Adam with the paper's defaults (0.9, 0.999, 1e-8).
    public static let adamDefaults = Optimizer.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)

    /// `momentum` (also `sgd`), `nesterov`, `adam` or `adam:BETA1:BETA2:EPSILON`.
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
        default:
            throw SettingError("'\(text)' is not an optimizer: momentum (SGD with the momentum settings), nesterov, adam or adam:BETA1:BETA2:EPSILON")
        }
    }

    public var description: String {
        switch self {
        case .momentum: "momentum"
        case .nesterov: "nesterov"
        case .adam(let b1, let b2, let eps): "adam:\(b1):\(b2):\(eps)"
        }
    }

    /// Whether the update needs a second buffer per parameter (Adam's squared-gradient average).
    var needsSecondMoments: Bool { if case .adam = self { true } else { false } }
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
    var tensors: [String: Tensor] {
        guard steps > 0 else { return [:] }
        var out = ["adam_steps": Tensor(shape: [1], scalars: [Float(steps)])]
        for (name, s) in second { out["adam." + name] = s }
        return out
    }

    init() {}

    /// The state saved by ``tensors``; `shapes` gives each parameter's shape, which its `s` must have.
    init(checkpoint state: [String: Tensor], shapes: [String: [Int]]) throws {
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
        case .momentum:
            sgdUpdate(&parameter, gradient: gradient, velocity: &velocity, learningRate: learningRate, momentum: momentum, decay: decay)
        case .nesterov:
            let (lr, mu) = (learningRate, momentum)
            parameter.withUnsafeMutableBufferPointer { p in
                velocity.withUnsafeMutableBufferPointer { v in
                    gradient.withUnsafeBufferPointer { g in
                        for i in p.indices {
                            let step = -lr * (g[i] + decay * p[i])
                            v[i] = mu * v[i] + step
                            p[i] += mu * v[i] + step
                        }
                    }
                }
            }
        case .adam(let beta1, let beta2, let epsilon):
            let t = Float(max(state.steps, 1))
            let correction1 = 1 - pow(beta1, t), correction2 = 1 - pow(beta2, t)
            let lr = learningRate
            // Taken out of the dictionary while it changes, so its buffer is updated in place, not copied.
            var second = state.second.removeValue(forKey: name) ?? Tensor(zeros: parameter.shape)
            parameter.withUnsafeMutableBufferPointer { p in
                velocity.withUnsafeMutableBufferPointer { m in
                    second.withUnsafeMutableBufferPointer { s in
                        gradient.withUnsafeBufferPointer { g in
                            for i in p.indices {
                                let gi = g[i] + decay * p[i]
                                m[i] = beta1 * m[i] + (1 - beta1) * gi
                                s[i] = beta2 * s[i] + (1 - beta2) * gi * gi
                                p[i] -= lr * (m[i] / correction1) / ((s[i] / correction2).squareRoot() + epsilon)
                            }
                        }
                    }
                }
            }
            state.second[name] = second
        }
    }

    /// True when the update is plain SGD (no momentum, no decay): what the
    /// fused and split training steps add straight into the parameters.
    var isPlainSGD: Bool { optimizer == .momentum && momentum == 0 && weightDecay == 0 }
}
