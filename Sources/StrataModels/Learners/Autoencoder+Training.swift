import StrataCore
import StrataData

/// The autoencoder's cost, its hand-written gradient and the update rule (SGD
/// with momentum, or plain SGD added straight into the weights). SGD steps
/// on batches of 16 or more without penalties take the split schedule of
/// `Autoencoder+SplitStep.swift`.
extension Autoencoder {
    // MARK: Cost and gradient

    /// The reconstruction loss of pre-activations `z` against clean `x`, mean over rows.
    func loss(_ z: Tensor, target x: Tensor) -> Double {
        var total: Float = 0
        z.withUnsafeBufferPointer { zs in
            x.withUnsafeBufferPointer { xs in
                switch configuration.loss {
                case .crossEntropy:
                    // softplus(z) - x z = -[x log sigmoid(z) + (1 - x) log(1 - sigmoid(z))]
                    var terms = [Float](repeating: 0, count: zs.count)
                    for i in zs.indices { terms[i] = fastSoftplus(zs[i]) - xs[i] * zs[i] }
                    total = terms.withUnsafeBufferPointer { vectorSum($0) }
                case .squaredError:
                    let decoder = configuration.decoder
                    for i in zs.indices {
                        var r = zs[i]
                        switch decoder {
                        case .sigmoid: r = fastSigmoid(r)
                        case .tanh: r = fastTanh(r)
                        case .relu: r = max(r, 0)
                        case .leakyRelu: r = max(r, Activation.leakySlope * r)
                        case .linear, .maxout: break
                        }
                        let d = r - xs[i]
                        total += d * d
                    }
                }
            }
        }
        return Double(total) / Double(max(x.rows, 1))
    }

    /// For decoder pre-activations `z` and targets: writes each element's loss
    /// into `l` and replaces `z` by the delta dL/dz (scaled by `inverseN`).
    static func lossAndDelta(_ configuration: Configuration, _ z: UnsafeMutableBufferPointer<Float>, target xs: UnsafeBufferPointer<Float>, loss l: UnsafeMutableBufferPointer<Float>, inverseN: Float) {
                    switch configuration.loss {
                    case .crossEntropy:
                        // softplus(z) - x z, and sigmoid(z) - x, sharing e = exp(-|z|).
                        let count = z.count
                        let (pz, pl, px) = (z.baseAddress!, l.baseAddress!, xs.baseAddress!)
                        var i = 0
                        while i + 8 <= count {
                            let zi = UnsafeRawPointer(pz + i).loadUnaligned(as: Float8.self)
                            let xi = UnsafeRawPointer(px + i).loadUnaligned(as: Float8.self)
                            let e = fastExp(-abs(zi))
                            let inverse = 1 / (1 + e)
                            let positive = zi .>= 0
                            let relu = zi.replacing(with: 0, where: .!positive)
                            UnsafeMutableRawPointer(pl + i).storeBytes(of: relu + fastLog(1 + e) - xi * zi, as: Float8.self)
                            let sigmoid = (e * inverse).replacing(with: inverse, where: positive)
                            UnsafeMutableRawPointer(pz + i).storeBytes(of: (sigmoid - xi) * inverseN, as: Float8.self)
                            i += 8
                        }
                        while i < count {
                            let zi = z[i], xi = xs[i]
                            let e = fastExp(-Swift.abs(zi))
                            let inverse = 1 / (1 + e)
                            l[i] = Swift.max(zi, 0) + fastLog(1 + e) - xi * zi
                            z[i] = ((zi >= 0 ? inverse : e * inverse) - xi) * inverseN
                            i += 1
                        }
                    case .squaredError:
                        // r = g(z); delta = 2 (r - x) / n * g'(z), with g' written from r.
                        let decoder = configuration.decoder
                        decoder.apply(z)
                        for i in z.indices {
                            let d = z[i] - xs[i]
                            l[i] = d * d
                            z[i] = 2 * d * inverseN * decoder.derivatives(output: z[i]).first
                        }
                    }
    }

    /// The penalties on hidden activations `h` (and the weights), mean over rows.
    func penalties(_ h: Tensor) -> Double {
        var total = [bandPenalties(h)]
        partExchange?.sum(&total) // a split autoencoder's parts each hold their units' terms
        return total[0]
    }

    /// The penalties of this autoencoder's own hidden units.
    private func bandPenalties(_ h: Tensor) -> Double {
        var total = 0.0
        let n = Float(h.rows)
        if configuration.sparsityWeight > 0 {
            let rho = configuration.sparsityTarget
            let means = h.sumOverRows() * (1 / n)
            var kl: Float = 0
            for m in means.scalars {
                let r = min(max(m, 1e-6), 1 - 1e-6)
                kl += rho * fastLog(rho / r) + (1 - rho) * fastLog((1 - rho) / (1 - r))
            }
            total += Double(configuration.sparsityWeight * kl)
        }
        if configuration.contractiveWeight > 0 {
            let norms = columnSquaredNorms()
            var sum: Float = 0
            for i in 0 ..< h.rows {
                for j in 0 ..< hiddenCount {
                    let d = configuration.encoder.derivatives(output: h[i, j]).first
                    sum += d * d * norms.scalars[j]
                }
            }
            total += Double(configuration.contractiveWeight * sum / n)
        }
        return total
    }

    func columnSquaredNorms() -> Tensor {
        var squares = weights
        squares.apply { $0 * $0 }
        return squares.sumOverRows()
    }

    /// The full cost (loss + penalties) for clean `x` and its corrupted version.
    public func cost(clean x: Tensor, corrupted: Tensor) -> Double {
        var h = Tensor(zeros: [0, 0]), z = Tensor(zeros: [0, 0])
        encode(corrupted, into: &h)
        decodePreactivation(h, into: &z)
        return loss(z, target: x) + penalties(h)
    }

    /// Cost and gradient for clean `x` and its corrupted version; the gradient
    /// goes into the gradient buffers.
    ///
    /// With `directStep` (plain SGD: no momentum, no decay), the weight
    /// gradients are not stored: each GEMM adds `-directStep * gradient`
    /// straight into the weights and biases, saving a pass over them.
    mutating func costAndGradient(clean x: Tensor, corrupted xt: Tensor, directStep: Float? = nil) -> Double {
        let n = x.rows
        let inverseN = 1 / Float(n)
        encode(xt, into: &hidden)
        decodePreactivation(hidden, into: &output)
        // One pass: the per-element loss into `elementLoss` and, in place of the
        // pre-activation z, the delta dL/dz.
        ensureShape(&elementLoss, n, visibleCount)
        let configuration = self.configuration
        output.withUnsafeMutableBufferPointer { z in
            elementLoss.withUnsafeMutableBufferPointer { l in
                x.withUnsafeBufferPointer { xs in Self.lossAndDelta(configuration, z, target: xs, loss: l, inverseN: inverseN) }
            }
        }
        let reconstructionLoss = Double(elementLoss.withUnsafeBufferPointer { vectorSum($0) }) / Double(n)
        let cost = reconstructionLoss + (configuration.sparsityWeight > 0 || configuration.contractiveWeight > 0 ? penalties(hidden) : 0)
        // (penalties(_:) sums over the parts of a split autoencoder: every part calls it, or none.)
        gradB = output.sumOverRows()
        // dL/dh = delta W'^T (computed before any direct weight update).
        ensureShape(&deltaHidden, n, hiddenCount)
        if configuration.tied {
            deltaHidden.formProduct(output, weights)
            if let step = directStep {
                weights.formProduct(output, hidden, transposeA: true, alpha: -step, beta: 1)
            } else {
                gradW.formProduct(output, hidden, transposeA: true)          // decoder part: delta^T h  (V, H)
            }
        } else {
            deltaHidden.formProduct(output, decoderWeights, transposeB: true)
            if let step = directStep {
                decoderWeights.formProduct(hidden, output, transposeA: true, alpha: -step, beta: 1)
            } else {
                gradD.formProduct(hidden, output, transposeA: true)          // h^T delta  (H, V)
            }
        }
        if configuration.sparsityWeight > 0 { deltaHidden.addToEachRow(sparsityDelta(inverseN: inverseN)) }
        deltaHidden.withUnsafeMutableBufferPointer { d in hidden.withUnsafeBufferPointer { configuration.encoder.multiplyByDerivative(d, output: $0) } }
        var contractiveColumnScale: Tensor?
        if configuration.contractiveWeight > 0 {
            let lambda = configuration.contractiveWeight
            let norms = columnSquaredNorms()
            var scale = Tensor(zeros: [hiddenCount])
            for i in 0 ..< n {
                for j in 0 ..< hiddenCount {
                    let (d1, d2) = configuration.encoder.derivatives(output: hidden[i, j])
                    deltaHidden[i, j] += lambda * inverseN * 2 * d1 * d2 * norms.scalars[j]
                    scale.scalars[j] += d1 * d1
                }
            }
            contractiveColumnScale = scale * (lambda * inverseN * 2)
        }
        gradC = deltaHidden.sumOverRows()
        if let step = directStep {
            // The contractive weight term uses W before this step's update.
            var extra: Tensor?
            if let contractiveColumnScale {
                extra = weights
                extra!.multiplyEachRow(by: contractiveColumnScale)
            }
            weights.formProduct(xt, deltaHidden, transposeA: true, alpha: -step, beta: 1)
            if let extra { weights.add(extra, scaledBy: -step) }
            hiddenBias.add(gradC, scaledBy: -step)
            visibleBias.add(gradB, scaledBy: -step)
            return cost
        }
        gradW.formProduct(xt, deltaHidden, transposeA: true, beta: configuration.tied ? 1 : 0)
        if let contractiveColumnScale {
            var extra = weights
            extra.multiplyEachRow(by: contractiveColumnScale)
            gradW.add(extra)
        }
        return cost
    }

    /// The sparsity penalty's derivative at each hidden unit (`(hidden)`):
    /// `beta / n * (-rho / r + (1 - rho) / (1 - r))`, `r` the unit's mean
    /// activation over the batch (kept inside (0, 1)), `rho` the target.
    func sparsityDelta(inverseN: Float) -> Tensor {
        let (rho, beta) = (configuration.sparsityTarget, configuration.sparsityWeight)
        let means = hidden.sumOverRows() * inverseN
        var term = Tensor(zeros: [hiddenCount])
        for j in 0 ..< hiddenCount {
            let r = min(max(means.scalars[j], 1e-6), 1 - 1e-6)
            term.scalars[j] = beta * inverseN * (-rho / r + (1 - rho) / (1 - r))
        }
        return term
    }

    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        guard batch.columns == visibleCount else {
            throw StrataError.shapeMismatch(context: "autoencoder with \(visibleCount) inputs given a batch", expected: [batch.rows, visibleCount], found: batch.shape)
        }
        let examples = hyper.firstExample.map { ExampleStreams(firstExample: $0, random: &random) }
        let split = hyper.optimizer == .momentum && batch.rows >= 16 && configuration.sparsityWeight == 0 && configuration.contractiveWeight == 0
        if split && partExchange == nil { return splitStep(batch, random: &random, examples: examples, hyper: hyper) }
        var input = corrupted
        // A band of a split autoencoder draws its corruption as the whole one's step would.
        if split { corruptInRowBands(batch, into: &input, random: &random, examples: examples) } else { corrupt(batch, into: &input, random: &random, examples: examples) }
        if hyper.isPlainSGD {
            let cost = costAndGradient(clean: batch, corrupted: input, directStep: hyper.learningRate)
            corrupted = input
            return cost
        }
        let cost = costAndGradient(clean: batch, corrupted: input)
        corrupted = input
        if hyper.optimizer.needsSecondMoments { optimizerState.steps += 1 }
        hyper.update(&weights, gradient: gradW, velocity: &velocityW, name: "weights", state: &optimizerState, decay: hyper.weightDecay)
        if !configuration.tied {
            hyper.update(&decoderWeights, gradient: gradD, velocity: &velocityD, name: "decoder_weights", state: &optimizerState, decay: hyper.weightDecay)
        }
        hyper.update(&hiddenBias, gradient: gradC, velocity: &velocityC, name: "hidden_bias", state: &optimizerState)
        hyper.update(&visibleBias, gradient: gradB, velocity: &velocityB, name: "visible_bias", state: &optimizerState)
        return cost
    }
}
