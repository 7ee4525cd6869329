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

    public var inputCount: Int { hidden.first?.inputCount ?? output.inputCount }
    public var classCount: Int { output.outputCount }
    /// Layer sizes, for example `784-1000-1000-10`.
    public var sizes: String { ([inputCount] + hidden.map(\.outputCount) + [classCount]).map(String.init).joined(separator: "-") }

    /// Class probabilities `(n, classes)`, in batches of `batchSize` rows;
    /// `progress` is told the rows done after each batch.
    public func probabilities(_ x: Tensor, batchSize: Int = 2048, progress: ((Int) -> Void)? = nil) -> Tensor {
        var out = Tensor(zeros: [x.rows, classCount])
        let layers = inferenceLayers
        var start = 0
        while start < x.rows {
            let end = min(start + batchSize, x.rows)
            var a = x.rows(start ..< end)
            for layer in layers { a = layer.forward(a) }
            var z = output.forward(a)
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

    /// Settings of one training step.
    public struct StepSettings: Sendable {
        public var learningRate: Float
        public var momentum: Float = 0
        public var weightDecay: Float = 0
        /// Probability of dropping each input value.
        public var inputDropout: Float = 0
        /// Probability of dropping each hidden unit.
        public var hiddenDropout: Float = 0
        /// Weight columns (one unit's incoming weights) longer than this are rescaled to it; nil: no limit.
        public var maxColumnNorm: Float?
        /// How the gradient becomes an update.
        public var optimizer: Optimizer = .momentum

        public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, inputDropout: Float = 0,
                    hiddenDropout: Float = 0, maxColumnNorm: Float? = nil, optimizer: Optimizer = .momentum) {
            (self.learningRate, self.momentum, self.weightDecay) = (learningRate, momentum, weightDecay)
            (self.inputDropout, self.hiddenDropout, self.maxColumnNorm, self.optimizer) = (inputDropout, hiddenDropout, maxColumnNorm, optimizer)
        }
    }

    /// The gradients of the mean cross-entropy, bottom layer first, output last.
    /// With dropout, the masks are drawn from `random`.
    /// With `distillation` (soft targets for these rows), the loss mixes in the teacher's term (``Distillation``).
    /// With `examples`, each example's dropout masks come from its own stream.
    public mutating func gradients(_ x: Tensor, labels: ArraySlice<Int>, inputDropout: Float = 0, hiddenDropout: Float = 0,
                                   distillation: Distillation? = nil, examples: ExampleStreams? = nil,
                                   random: inout RandomSource) -> (loss: Double, gradients: [(weights: Tensor, bias: Tensor)]) {
        let n = x.rows
        // Forward, keeping each layer's output and mask, into buffers kept between steps.
        prepareStepBuffers()
        var layerInputs: [Tensor] = []
        layerInputs.reserveCapacity(hidden.count + 1)
        var a = x
        if inputDropout > 0 {
            ensureShape(&inputMask, n, x.columns)
            dropoutMask(&inputMask, rate: inputDropout, site: 0, examples: examples, random: &random)
            droppedInput.formElementwiseProduct(x, inputMask)
            a = droppedInput
        }
        normalizationGradients = hidden.map { _ in nil }
        for (l, layer) in hidden.enumerated() {
            layerInputs.append(a)
            if layer.pieces > 1 {
                // Maxout: the pieces (normalized, with batch norm), then each unit's largest.
                Self.preactivations(a, layer, into: &pieceOutputs[l], normalization: &normalizations[l], cache: &normalizationCaches[l])
                Maxout.forward(pieceOutputs[l], k: layer.pieces, into: &activations[l], winners: &winners[l])
            } else if normalizations[l] != nil {
                // Affine, normalized with the batch's statistics, then the nonlinearity.
                Self.preactivations(a, layer, into: &activations[l], normalization: &normalizations[l], cache: &normalizationCaches[l])
                activations[l].withUnsafeMutableBufferPointer { layer.activation.apply($0) }
            } else {
                layer.forward(a, into: &activations[l])
            }
            a = activations[l]
            if hiddenDropout > 0 {
                ensureShape(&masks[l], n, layer.outputCount)
                dropoutMask(&masks[l], rate: hiddenDropout, site: UInt64(l + 1), examples: examples, random: &random)
                droppedActivations[l].formElementwiseProduct(activations[l], masks[l])
                a = droppedActivations[l]
            }
        }
        layerInputs.append(a)
        output.forward(a, into: &logits)
        // Loss, and delta = (p - onehot) / n (with the teacher's term when distilling).
        var (loss, delta) = Self.outputLoss(logits: logits, labels: labels, distillation: distillation)
        // Backward.
        let layers = hidden + [output]
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            ensureShape(&weightGradients[l], layers[l].weights.rows, layers[l].weights.columns)
            weightGradients[l].formProduct(layerInputs[l], delta, transposeA: true)
            delta.sumOverRows(into: &biasGradients[l])
            guard l > 0 else { break }
            ensureShape(&lowerDeltas[l - 1], n, layers[l].weights.rows)
            lowerDeltas[l - 1].formProduct(delta, layers[l].weights, transposeB: true)
            if hiddenDropout > 0 { lowerDeltas[l - 1].multiply(by: masks[l - 1]) }
            if layers[l - 1].pieces > 1 {
                // Maxout: the gradient goes to each unit's winning piece.
                Maxout.backward(lowerDeltas[l - 1], winners: winners[l - 1], pieces: layers[l - 1].pieces, into: &pieceDeltas[l - 1])
                delta = pieceDeltas[l - 1]
            } else {
                lowerDeltas[l - 1].withUnsafeMutableBufferPointer { g in
                    activations[l - 1].withUnsafeBufferPointer { layers[l - 1].activation.multiplyByDerivative(g, output: $0) }
                }
                delta = lowerDeltas[l - 1]
            }
            if let normalization = normalizations[l - 1] {
                let (dz, dGamma, dBeta) = normalization.backward(delta, cache: normalizationCaches[l - 1])
                normalizationGradients[l - 1] = (dGamma, dBeta)
                delta = dz
            }
        }
        let grads = (0 ..< layers.count).map { (weights: weightGradients[$0], bias: biasGradients[$0]) }
        return (loss, grads)
    }

    /// The step's buffers, one per layer, made when the layer count changes
    /// and reused (resized only with the batch) from step to step.
    mutating func prepareStepBuffers() {
        if activations.count != hidden.count {
            activations = hidden.map { _ in Tensor(zeros: [0, 0]) }
            (masks, droppedActivations, lowerDeltas, pieceDeltas) = (activations, activations, activations, activations)
        }
        if weightGradients.count != hidden.count + 1 {
            weightGradients = (hidden + [output]).map { _ in Tensor(zeros: [0, 0]) }
            biasGradients = weightGradients
        }
        if normalizationCaches.count != hidden.count { normalizationCaches = hidden.map { _ in BatchNormalization.Cache() } }
        if pieceOutputs.count != hidden.count { (pieceOutputs, winners) = (hidden.map { _ in Tensor(zeros: [0, 0]) }, hidden.map { _ in [] }) }
    }

    /// One SGD step on a minibatch; returns its mean cross-entropy.
    @discardableResult
    public mutating func trainStep(_ x: Tensor, labels: ArraySlice<Int>, settings: StepSettings, distillation: Distillation? = nil,
                                   random: inout RandomSource) -> Double {
        let (loss, grads) = gradients(x, labels: labels, inputDropout: settings.inputDropout, hiddenDropout: settings.hiddenDropout,
                                      distillation: distillation, random: &random)
        apply(grads, settings: settings)
        return loss
    }

    /// The update of `grads` (bottom layer first, with ``normalizationGradients``) by the step's optimizer.
    package mutating func apply(_ grads: [(weights: Tensor, bias: Tensor)], settings: StepSettings) {
        let hyper = StepHyperparameters(learningRate: settings.learningRate, momentum: settings.momentum, weightDecay: settings.weightDecay,
                                        optimizer: settings.optimizer)
        if settings.optimizer.needsSecondMoments { optimizerState.steps += 1 }
        for l in hidden.indices {
            guard let gradient = normalizationGradients[l], normalizations[l] != nil else { continue }
            hyper.update(&normalizations[l]!.gamma, gradient: gradient.gamma, velocity: &normalizationVelocities[l].gamma, name: "bn\(l).gamma", state: &optimizerState)
            hyper.update(&normalizations[l]!.beta, gradient: gradient.beta, velocity: &normalizationVelocities[l].beta, name: "bn\(l).beta", state: &optimizerState)
        }
        for l in 0 ... hidden.count {
            if l < hidden.count {
                Self.update(&hidden[l], index: l, gradient: grads[l], velocity: &velocities[l], state: &optimizerState, hyper, maxColumnNorm: settings.maxColumnNorm)
            } else {
                Self.update(&output, index: l, gradient: grads[l], velocity: &velocities[l], state: &optimizerState, hyper, maxColumnNorm: settings.maxColumnNorm)
            }
        }
    }

    /// `x W + b` into `z` (all of a maxout layer's pieces), normalized with the batch's statistics when the layer has batch norm.
    private static func preactivations(_ x: Tensor, _ layer: DenseLayer, into z: inout Tensor, normalization: inout BatchNormalization?,
                                       cache: inout BatchNormalization.Cache) {
        ensureShape(&z, x.rows, layer.weights.columns)
        z.formProduct(x, layer.weights)
        z.addToEachRow(layer.bias)
        normalization?.forwardTraining(&z, cache: &cache)
    }

    /// One layer's update in place (a static function, so the layer, its velocity and the state are three disjoint borrows).
    private static func update(_ layer: inout DenseLayer, index l: Int, gradient: (weights: Tensor, bias: Tensor), velocity: inout (weights: Tensor, bias: Tensor),
                               state: inout OptimizerState, _ hyper: StepHyperparameters, maxColumnNorm: Float?) {
        hyper.update(&layer.weights, gradient: gradient.weights, velocity: &velocity.weights, name: "layer\(l).weights", state: &state, decay: hyper.weightDecay)
        hyper.update(&layer.bias, gradient: gradient.bias, velocity: &velocity.bias, name: "layer\(l).bias", state: &state)
        if let limit = maxColumnNorm { limitColumnNorms(&layer.weights, to: limit) }
    }

    /// Fills `mask` with 0 (dropped, probability `rate`) or `1 / (1 - rate)`.
    private func dropoutMask(_ mask: inout Tensor, rate: Float, site: UInt64, examples: ExampleStreams?, random: inout RandomSource) {
        let keep = 1 - rate, scale = 1 / (1 - rate)
        if let examples {
            examples.forEachRow(of: &mask, site: site) { row, random in
                random.fillBernoulli(row, probability: keep)
                for i in row.indices { row[i] *= scale }
            }
            return
        }
        mask.withUnsafeMutableBufferPointer { m in
            random.fillBernoulli(m, probability: keep)
            let wide = Float8(repeating: scale)
            m.mapInPlace({ $0 * wide }, { $0 * scale })
        }
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
