import StrataCore
import StrataData

/// A feed-forward classifier: hidden ``DenseLayer``s (typically a pretrained
/// stack's encoders) topped by a softmax output layer, trained by
/// backpropagation of the mean cross-entropy with SGD and momentum, weight
/// decay, dropout on the input and hidden layers, and an optional max column
/// norm on weights (pylearn2's `max_col_norm`).
///
/// Dropout is "inverted": kept units are scaled by `1 / (1 - p)` during
/// training, so prediction uses the weights as they are.
public struct SoftmaxNetwork: Sendable {
    public package(set) var hidden: [DenseLayer]
    /// `(top features, classes)` weights and `(classes)` bias; linear (the softmax is in the loss).
    public package(set) var output: DenseLayer

    package var velocities: [(weights: Tensor, bias: Tensor)]
    /// Batch normalization of each hidden layer (nil: none), before its nonlinearity.
    public package(set) var normalizations: [BatchNormalization?]
    /// Momentum buffers of each normalization's gamma and beta.
    package var normalizationVelocities: [(gamma: Tensor, beta: Tensor)]
    var normalizationCaches: [BatchNormalization.Cache] = []
    /// The gradients of each normalization's gamma and beta from the last ``gradients(_:labels:inputDropout:hiddenDropout:random:)``.
    package var normalizationGradients: [(gamma: Tensor, beta: Tensor)?] = []
    /// Adam's second moments (`layer<i>.weights`, `layer<i>.bias`) and update count.
    package var optimizerState = OptimizerState()
    // Scratch per layer: outputs before dropout, dropout masks, the input each layer saw.
    var activations: [Tensor] = []
    var masks: [Tensor] = []
    // Maxout layers' pieces before the maximum, and each unit's winning piece.
    var pieceOutputs: [Tensor] = []
    var winners: [[Int32]] = []
    var inputMask = Tensor(zeros: [0, 0])
    var droppedInput = Tensor(zeros: [0, 0])
    // Each hidden layer's output after dropout; the gradients and the deltas
    // passed down, kept from step to step so a step allocates no batch-sized buffer.
    var droppedActivations: [Tensor] = []
    var weightGradients: [Tensor] = []
    var biasGradients: [Tensor] = []
    var lowerDeltas: [Tensor] = []
    var pieceDeltas: [Tensor] = []
    var logits = Tensor(zeros: [0, 0])
    /// Local stages below the hidden layers, fine-tuned with them (``LocalFront``); nil: the network reads its input directly.
    public package(set) var front: LocalFront?
    /// How this network is split across processes by hidden units (``NetworkSplit``); nil: whole.
    public package(set) var split: NetworkSplit?
    // A split network's whole-width buffers: each layer's gathered output, a mask, a delta, the gather's blocks.
    var gatheredActivations: [Tensor] = []
    var wholeMask = Tensor(zeros: [0, 0]), wholeDelta = Tensor(zeros: [0, 0]), gatherBlocks = Tensor(zeros: [0])

    /// A network over `hidden` (may be empty: multinomial logistic regression)
    /// with a new softmax layer of `classes` outputs, weights uniform in `±irange`.
    public init(hidden: [DenseLayer], inputCount: Int, classes: Int, irange: Float = 0.005, seed: UInt64 = 1) throws {
        guard classes >= 2 else { throw StrataError.invalidArgument(name: "classes", reason: "\(classes): a classifier needs at least 2") }
        var width = inputCount
        for (i, layer) in hidden.enumerated() {
            guard layer.inputCount == width else {
                throw StrataError.shapeMismatch(context: "hidden layer \(i + 1) of the network", expected: [width], found: [layer.inputCount])
            }
            width = layer.outputCount
        }
        var random = RandomSource(seed: seed)
        let w = Tensor.uniform(shape: [width, classes], low: -irange, high: irange, using: &random)
        self.hidden = hidden
        self.output = DenseLayer(weights: w, bias: Tensor(zeros: [classes]), activation: .linear)
        velocities = (hidden + [output]).map { (Tensor(zeros: $0.weights.shape), Tensor(zeros: $0.bias.shape)) }
        normalizations = hidden.map { _ in nil }
        normalizationVelocities = hidden.map { _ in (Tensor(zeros: [0]), Tensor(zeros: [0])) }
    }

    /// A network over `front`'s local stages: `hidden` layers reading the
    /// front's output, then a new softmax layer of `classes` outputs. The
    /// stages' encoders train with the layers above them (Le et al. 2012's fine-tuning).
    public init(front: LocalFront, hidden: [DenseLayer], classes: Int, irange: Float = 0.005, seed: UInt64 = 1) throws {
        try self.init(hidden: hidden, inputCount: front.outputCount, classes: classes, irange: irange, seed: seed)
        self.front = front
    }

    /// Puts batch normalization on every hidden layer (Ioffe and Szegedy 2015):
    /// `epsilon` is added to the variance, `momentum` weighs the running
    /// statistics' past. The layers' biases stay (the normalization cancels
    /// them in training; they are folded with it at inference).
    public mutating func enableBatchNormalization(epsilon: Float = 1e-5, momentum: Float = 0.9) {
        for (l, layer) in hidden.enumerated() where normalizations[l] == nil {
            // Maxout layers normalize each piece, before the maximum.
            let units = layer.weights.columns
            normalizations[l] = BatchNormalization(units: units, epsilon: epsilon, momentum: momentum)
            normalizationVelocities[l] = (Tensor(zeros: [units]), Tensor(zeros: [units]))
        }
    }

    /// The hidden layers as used for prediction: each normalization folded
    /// into its layer (``BatchNormalization/folded(into:)``); what a saved classifier holds.
    public var inferenceLayers: [DenseLayer] {
        zip(hidden, normalizations).map { layer, normalization in normalization?.folded(into: layer) ?? layer }
    }

    /// A network of freshly initialized hidden layers (`sizes` after the input),
    /// the baseline "without pretraining": weights uniform in
    /// `±sqrt(6 / (fan_in + fan_out))` (Glorot and Bengio 2010), times 4 for
    /// sigmoid units; for rectifiers (`relu`, `leaky_relu`) He et al.'s (2015)
    /// `±sqrt(6 / fan_in)`, variance `2 / fan_in`, which keeps the activations'
    /// scale through depth. Maxout layers get `pieces` linear pieces per unit,
    /// each initialized as a linear unit (Glorot's range with fan-out the units).
    public static func randomlyInitialized(inputCount: Int, hiddenSizes: [Int], activation: Activation = .sigmoid, pieces: Int = 1,
                                           classes: Int, seed: UInt64 = 1) throws -> SoftmaxNetwork {
        guard activation == .maxout ? pieces >= 2 : pieces == 1 else {
            throw StrataError.invalidArgument(name: "pieces", reason: activation == .maxout ? "\(pieces): a maxout unit needs at least 2 pieces"
                                                : "\(pieces) pieces are for maxout units; \(activation.rawValue) units have one")
        }
        var random = RandomSource(seed: seed ^ 0x5eed)
        var layers: [DenseLayer] = []
        var width = inputCount
        for size in hiddenSizes {
            guard size > 0 else { throw StrataError.invalidArgument(name: "hidden sizes", reason: "\(hiddenSizes): each must be positive") }
            let r = activation.isRectifier ? (6 / Float(width)).squareRoot()
                : (activation == .sigmoid ? 4 : 1) * (6 / Float(width + size)).squareRoot()
            layers.append(DenseLayer(weights: .uniform(shape: [width, size * pieces], low: -r, high: r, using: &random),
                                     bias: Tensor(zeros: [size * pieces]), activation: activation, pieces: pieces))
            width = size
        }
        return try SoftmaxNetwork(hidden: layers, inputCount: inputCount, classes: classes, seed: seed)
    }

    public var inputCount: Int { front?.inputCount ?? hidden.first?.inputCount ?? output.inputCount }
    public var classCount: Int { output.outputCount }
    /// Layer sizes, for example `784-1000-1000-10`.
    public var sizes: String {
        ([String(inputCount)] + (front.map { [$0.description] } ?? []) + (hidden.map(\.outputCount) + [classCount]).map(String.init)).joined(separator: "-")
    }

    /// Class probabilities `(n, classes)`, in batches of `batchSize` rows;
    /// `progress` is told the rows done after each batch.
    public func probabilities(_ x: Tensor, batchSize: Int = 2048, progress: ((Int) -> Void)? = nil) -> Tensor {
        var out = Tensor(zeros: [x.rows, classCount])
        let layers = inferenceLayers
        var start = 0
        while start < x.rows {
            let end = min(start + batchSize, x.rows)
            var a = x.rows(start ..< end)
            if let front { a = front.forward(a) }
            for (l, layer) in layers.enumerated() { a = nextInput(layer.forward(a), layer: l) }
            var z = Tensor(zeros: [0, 0])
            outputLogits(a, into: &z)
            softmaxRows(&z)
            out.withUnsafeMutableBufferPointer { dst in
                z.withUnsafeBufferPointer { (dst.baseAddress! + start * classCount).update(from: $0.baseAddress!, count: $0.count) }
            }
            start = end
            progress?(end)
        }
        return out
    }

    /// Mean cross-entropy and error rate of the network on `x` with `labels`.
    public func evaluate(_ x: Tensor, labels: [Int]) -> (crossEntropy: Double, errorRate: Double) {
        let p = probabilities(x)
        var loss = 0.0, wrong = 0
        p.withUnsafeBufferPointer { probs in
            for i in 0 ..< x.rows {
                let row = UnsafeBufferPointer(rebasing: probs[i * classCount ..< (i + 1) * classCount])
                loss -= Double(fastLog(max(row[labels[i]], 1e-30)))
                if argmax(row) != labels[i] { wrong += 1 }
            }
        }
        let n = Double(max(x.rows, 1))
        return (loss / n, Double(wrong) / n)
    }
}

/// Replaces each row of logits by its softmax, stably (max subtracted).
package func softmaxRows(_ z: inout Tensor) {
    let (r, c) = (z.rows, z.columns)
    z.withUnsafeMutableBufferPointer { buffer in
        for i in 0 ..< r {
            let row = UnsafeMutableBufferPointer(rebasing: buffer[i * c ..< (i + 1) * c])
            let top = row.max() ?? 0
            var total: Float = 0
            for j in row.indices { row[j] = fastExp(row[j] - top); total += row[j] }
            let inverse = 1 / total
            for j in row.indices { row[j] *= inverse }
        }
    }
}

/// The index of the largest value (the first, on ties).
package func argmax(_ row: UnsafeBufferPointer<Float>) -> Int {
    var best = 0
    for j in row.indices where row[j] > row[best] { best = j }
    return best
}

/// Rescales each column of `w` whose Euclidean norm exceeds `limit` down to it.
func limitColumnNorms(_ w: inout Tensor, to limit: Float) {
    w.scaleColumns(by: w.columnSquaredNorms().map { $0 > limit * limit ? limit / $0.squareRoot() : 1 })
}
