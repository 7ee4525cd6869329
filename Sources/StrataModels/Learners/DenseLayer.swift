import StrataCore
import StrataData

/// One affine layer with an activation, `a = f(x W + b)`: what a pretrained
/// learner contributes to a feed-forward network (an RBM's hidden means, an
/// autoencoder's encoder), and the building block of fine-tuning.
///
/// A maxout layer (``Activation/maxout``) has `pieces` linear pieces per unit:
/// its weights are `(inputs, outputs · pieces)`, each unit's pieces adjacent
/// columns, and each output the largest of its unit's pieces.
public struct DenseLayer: Sendable, Equatable {
    /// `(inputs, outputs · pieces)`.
    public var weights: Tensor
    /// `(outputs · pieces)`.
    public var bias: Tensor
    public var activation: Activation
    /// Linear pieces per unit: 1, except for maxout layers.
    public private(set) var pieces: Int

    /// A layer; `pieces` above 1 only with ``Activation/maxout`` and dividing the weights' columns.
    public init(weights: Tensor, bias: Tensor, activation: Activation, pieces: Int = 1) {
        precondition(weights.rank == 2 && bias.count == weights.columns, "bias must have one value per output")
        precondition(pieces >= 1 && weights.columns % pieces == 0 && (pieces == 1 || activation == .maxout), "maxout pieces must divide the outputs")
        (self.weights, self.bias, self.activation, self.pieces) = (weights, bias.reshaped([weights.columns]), activation, pieces)
    }

    public var inputCount: Int { weights.rows }
    public var outputCount: Int { weights.columns / pieces }

    /// `f(x W + b)` into `out` (reallocated only when the batch size changes).
    public func forward(_ x: Tensor, into out: inout Tensor) {
        guard pieces == 1 else {
            var z = Tensor(zeros: [x.rows, weights.columns])
            z.formProduct(x, weights)
            z.addToEachRow(bias)
            var winners: [Int32] = []
            Maxout.forward(z, k: pieces, into: &out, winners: &winners)
            return
        }
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
