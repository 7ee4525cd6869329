/// One affine layer with an activation, `a = f(x W + b)`: what a pretrained
/// learner contributes to a feed-forward network (an RBM's hidden means, an
/// autoencoder's encoder), and the building block of fine-tuning.
public struct DenseLayer: Sendable, Equatable {
    /// `(inputs, outputs)`.
    public var weights: Tensor
    /// `(outputs)`.
    public var bias: Tensor
    public var activation: Activation

    public init(weights: Tensor, bias: Tensor, activation: Activation) {
        precondition(weights.rank == 2 && bias.count == weights.columns, "bias must have one value per output")
        (self.weights, self.bias, self.activation) = (weights, bias.reshaped([weights.columns]), activation)
    }

    public var inputCount: Int { weights.rows }
    public var outputCount: Int { weights.columns }

    /// `f(x W + b)` into `out` (reallocated only when the batch size changes).
    public func forward(_ x: Tensor, into out: inout Tensor) {
        ensureShape(&out, x.rows, outputCount)
        out.formProduct(x, weights)
        out.addToEachRow(bias)
        out.withUnsafeMutableBufferPointer { activation.apply($0) }
    }

    /// `f(x W + b)`.
    public func forward(_ x: Tensor) -> Tensor {
        var out = Tensor(zeros: [x.rows, outputCount])
        forward(x, into: &out)
        return out
    }
}

extension RBM {
    /// The hidden means as a layer: `sigmoid((v W + c) / sigma^2)` (sigma is 1 for binary RBMs).
    public var denseLayer: DenseLayer {
        var (w, c) = (weights, hiddenBias)
        if variance != 1 { w.scale(by: 1 / variance); c.scale(by: 1 / variance) }
        return DenseLayer(weights: w, bias: c, activation: .sigmoid)
    }
}

extension Autoencoder {
    /// The encoder as a layer: `f(x W + c)`.
    public var denseLayer: DenseLayer { DenseLayer(weights: weights, bias: hiddenBias, activation: configuration.encoder) }
}
