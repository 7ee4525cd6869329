import StrataCore
import StrataData

/// Activation functions of autoencoder and network layers.
/// `leaky_relu` is `max(z, 0.01 z)` (Maas, Hannun and Ng 2013).
/// `maxout` (Goodfellow et al. 2013) is the one that is not element-wise: each
/// unit is the largest of its layer's ``DenseLayer/pieces`` linear pieces, so
/// element-wise it is the identity and the layer takes the maximum.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case sigmoid, tanh, relu, linear
    case leakyRelu = "leaky_relu"
    case maxout

    /// The activations an autoencoder's encoder or decoder may use (maxout is a fine-tuning layer only).
    public static let elementwise: [Activation] = [.sigmoid, .tanh, .relu, .linear, .leakyRelu]

    /// The slope of `leaky_relu` below zero.
    public static let leakySlope: Float = 0.01

    /// Whether He initialization suits the activation (rectifiers), rather than Glorot's.
    public var isRectifier: Bool { self == .relu || self == .leakyRelu }

    /// Applies the activation to `z` in place.
    func apply(_ z: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .sigmoid: z.map(.sigmoid)
        case .tanh: z.map(.tanh)
        case .relu: parallelElements(z.count) { r in for i in r { z[i] = Swift.max(z[i], 0) } }
        case .leakyRelu: parallelElements(z.count) { r in for i in r { z[i] = Swift.max(z[i], Self.leakySlope * z[i]) } }
        case .linear, .maxout: break
        }
    }

    /// `f'(z)` written from the output `a = f(z)`: multiplies `grad` by it in place.
    /// A batch's worth is split over the cores (``parallelElements(_:_:)``).
    func multiplyByDerivative(_ grad: UnsafeMutableBufferPointer<Float>, output a: UnsafeBufferPointer<Float>) {
        guard self != .linear, self != .maxout, !grad.isEmpty else { return }
        let (g, y) = (grad.baseAddress!, a.baseAddress!)
        parallelElements(grad.count) { r in
            switch self {
            case .sigmoid: for i in r { g[i] *= y[i] * (1 - y[i]) }
            case .tanh: for i in r { g[i] *= 1 - y[i] * y[i] }
            case .relu: for i in r { g[i] = y[i] > 0 ? g[i] : 0 }
            case .leakyRelu: for i in r { g[i] = y[i] > 0 ? g[i] : Self.leakySlope * g[i] }
            case .linear, .maxout: break
            }
        }
    }

    /// `f'(z)` and `f''(z)` from the output `a` (for the contractive penalty).
    @inline(__always)
    func derivatives(output a: Float) -> (first: Float, second: Float) {
        switch self {
        case .sigmoid: let d = a * (1 - a); return (d, d * (1 - 2 * a))
        case .tanh: let d = 1 - a * a; return (d, -2 * a * d)
        case .relu: return (a > 0 ? 1 : 0, 0)
        case .leakyRelu: return (a > 0 ? 1 : Self.leakySlope, 0)
        case .linear, .maxout: return (1, 0)
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
