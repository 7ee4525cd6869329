import Foundation
import StrataCore
import StrataData

/// A ``SoftmaxNetwork``'s training step: the forward pass with dropout and
/// batch normalization, backpropagation of the loss (with distillation's soft
/// term), and the optimizer's update of every layer, in buffers the network
/// keeps from step to step.
extension SoftmaxNetwork {
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

    /// The gradients of the mean cross-entropy, bottom layer first, output
    /// last, then the front's encoders (bottom stage first, with empty biases).
    /// With dropout, the masks are drawn from `random`.
    /// With `distillation` (soft targets for these rows), the loss mixes in the teacher's term (``Distillation``).
    /// With `examples`, each example's dropout masks come from its own stream.
    public mutating func gradients(_ x: Tensor, labels: ArraySlice<Int>, inputDropout: Float = 0, hiddenDropout: Float = 0,
                                   distillation: Distillation? = nil, examples: ExampleStreams? = nil,
                                   random: inout RandomSource) -> (loss: Double, gradients: [(weights: Tensor, bias: Tensor)]) {
        let n = x.rows
        var frontGradients: [Tensor] = []
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
        if front != nil { a = front!.forwardTraining(a) }
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
                hiddenDropoutMask(layer: l, rows: n, rate: hiddenDropout, examples: examples, random: &random)
                droppedActivations[l].formElementwiseProduct(activations[l], masks[l])
                a = droppedActivations[l]
            }
            if let split, l + 1 < hidden.count { // the next layer reads every part's units
                split.units[l].allHidden(a, into: &gatheredActivations[l], blocks: &gatherBlocks)
                a = gatheredActivations[l]
            }
        }
        layerInputs.append(a)
        outputLogits(a, into: &logits)
        // Loss, and delta = (p - onehot) / n (with the teacher's term when distilling).
        var (loss, delta) = Self.outputLoss(logits: logits, labels: labels, distillation: distillation)
        // Backward.
        let layers = hidden + [output]
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            ensureShape(&weightGradients[l], layers[l].weights.rows, layers[l].weights.columns)
            weightGradients[l].formProduct(layerInputs[l], delta, transposeA: true)
            delta.sumOverRows(into: &biasGradients[l])
            guard l > 0 else {
                if front != nil { frontGradients = front!.backward(delta.matmul(layers[0].weights, transposeOther: true)) }
                break
            }
            passDown(delta, through: layers[l], index: l)
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
        // The front's encoders last, each with an empty bias.
        let grads = (0 ..< layers.count).map { (weights: weightGradients[$0], bias: biasGradients[$0]) }
            + frontGradients.map { (weights: $0, bias: Tensor(zeros: [0])) }
        return (loss, grads)
    }

    /// `delta W^T` of layer `l` (`layer`) into `lowerDeltas[l - 1]`: the delta
    /// of the layer below's outputs. When split, each part's share over the
    /// whole layer below is summed over the parts, and each keeps its band.
    private mutating func passDown(_ delta: Tensor, through layer: DenseLayer, index l: Int) {
        guard let split, l < hidden.count else {
            ensureShape(&lowerDeltas[l - 1], delta.rows, layer.weights.rows)
            return lowerDeltas[l - 1].formProduct(delta, layer.weights, transposeB: true)
        }
        ensureShape(&wholeDelta, delta.rows, layer.weights.rows)
        wholeDelta.formProduct(delta, layer.weights, transposeB: true)
        wholeDelta.withUnsafeMutableBufferPointer { split.exchange.sum($0) }
        split.units[l - 1].takeMine(of: wholeDelta, into: &lowerDeltas[l - 1])
    }

    /// The step's buffers, one per layer, made when the layer count changes
    /// and reused (resized only with the batch) from step to step.
    mutating func prepareStepBuffers() {
        if activations.count != hidden.count {
            activations = hidden.map { _ in Tensor(zeros: [0, 0]) }
            (masks, droppedActivations, lowerDeltas, pieceDeltas, gatheredActivations) = (activations, activations, activations, activations, activations)
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
                // A split softmax layer's columns are spread over the parts: their norms are summed first.
                Self.update(&output, index: l, gradient: grads[l], velocity: &velocities[l], state: &optimizerState, hyper,
                            maxColumnNorm: split == nil ? settings.maxColumnNorm : nil)
                if let split, let limit = settings.maxColumnNorm { limitOutputColumnNorms(to: limit, over: split.exchange) }
            }
        }
        front?.update(grads[(hidden.count + 1)...], hyper, state: &optimizerState)
    }

    /// Hidden layer `l`'s dropout mask for `rows` examples into `masks[l]`;
    /// a split network's drawn at the layer's whole width and cut to its band,
    /// so each unit gets the number it gets in one process.
    private mutating func hiddenDropoutMask(layer l: Int, rows n: Int, rate: Float, examples: ExampleStreams?, random: inout RandomSource) {
        guard let split else {
            ensureShape(&masks[l], n, hidden[l].outputCount)
            return dropoutMask(&masks[l], rate: rate, site: UInt64(l + 1), examples: examples, random: &random)
        }
        ensureShape(&wholeMask, n, split.units[l].hiddenCount)
        dropoutMask(&wholeMask, rate: rate, site: UInt64(l + 1), examples: examples, random: &random)
        split.units[l].takeMine(of: wholeMask, into: &masks[l])
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
