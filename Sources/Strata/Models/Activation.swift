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

/// Summary statistics pylearn2 reports for a vector: max, mean, min.
func statistics(_ name: String, _ t: Tensor, into channels: inout [String: Double]) {
    guard let (low, high) = t.minMax() else { return }
    channels[name + "_max"] = Double(high)
    channels[name + "_mean"] = t.mean()
    channels[name + "_min"] = Double(low)
}
