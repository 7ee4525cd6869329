/// Element-wise activation functions of autoencoder layers.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case sigmoid, tanh, relu, linear

    /// Applies the activation to `z` in place.
    func apply(_ z: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .sigmoid: z.mapInPlace(fastSigmoid, fastSigmoid)
        case .tanh: z.mapInPlace(fastTanh, fastTanh)
        case .relu: for i in z.indices { z[i] = Swift.max(z[i], 0) }
        case .linear: break
        }
    }

    /// `f'(z)` written from the output `a = f(z)`: multiplies `grad` by it in place.
    func multiplyByDerivative(_ grad: UnsafeMutableBufferPointer<Float>, output a: UnsafeBufferPointer<Float>) {
        switch self {
        case .sigmoid: for i in grad.indices { grad[i] *= a[i] * (1 - a[i]) }
        case .tanh: for i in grad.indices { grad[i] *= 1 - a[i] * a[i] }
        case .relu: for i in grad.indices { grad[i] = a[i] > 0 ? grad[i] : 0 }
        case .linear: break
        }
    }

    /// `f'(z)` and `f''(z)` from the output `a` (for the contractive penalty).
    @inline(__always)
    func derivatives(output a: Float) -> (first: Float, second: Float) {
        switch self {
        case .sigmoid: let d = a * (1 - a); return (d, d * (1 - 2 * a))
        case .tanh: let d = 1 - a * a; return (d, -2 * a * d)
        case .relu: return (a > 0 ? 1 : 0, 0)
        case .linear: return (1, 0)
        }
    }
}

/// The hyperparameters of one SGD step, set by the trainer's schedules.
public struct StepHyperparameters: Sendable {
    public var learningRate: Float
    public var momentum: Float
    /// L2 weight decay coefficient, applied to weight matrices (not biases).
    public var weightDecay: Float
    /// Cores the step may split itself over. With 2 or more, plain-SGD
    /// contrastive divergence splits the batch's rows (Gibbs chain) and then
    /// the weight matrix's rows (update) over the cores, with single-threaded
    /// GEMMs: at training shapes this beats OpenBLAS's own two threads.
    public var cores: Int

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, cores: Int = 1) {
        (self.learningRate, self.momentum, self.weightDecay, self.cores) = (learningRate, momentum, weightDecay, cores)
    }
}

/// One SGD-with-momentum update (pylearn2's convention):
/// `v = momentum v - lr (g + decay theta)`, then `theta += v`.
func sgdUpdate(_ parameter: inout Tensor, gradient: Tensor, velocity: inout Tensor,
               learningRate: Float, momentum: Float, decay: Float = 0) {
    parameter.withUnsafeMutableBufferPointer { p in
        velocity.withUnsafeMutableBufferPointer { v in
            gradient.withUnsafeBufferPointer { g in
                for i in p.indices {
                    let step = momentum * v[i] - learningRate * (g[i] + decay * p[i])
                    v[i] = step
                    p[i] += step
                }
            }
        }
    }
}

/// Ensures `tensor` has shape `[rows, columns]`, reallocating only when the
/// batch size changes (scratch buffers of the training step).
@inline(__always)
func ensureShape(_ tensor: inout Tensor, _ rows: Int, _ columns: Int) {
    if tensor.shape != [rows, columns] { tensor = Tensor(zeros: [rows, columns]) }
}

/// Summary statistics pylearn2 reports for a vector: max, mean, min.
func statistics(_ name: String, _ t: Tensor, into channels: inout [String: Double]) {
    guard let (low, high) = t.minMax() else { return }
    channels[name + "_max"] = Double(high)
    channels[name + "_mean"] = t.mean()
    channels[name + "_min"] = Double(low)
}
