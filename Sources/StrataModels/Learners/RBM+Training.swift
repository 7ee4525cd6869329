import Foundation
import StrataCore
import StrataData

/// The update rule of an RBM: one minibatch step of CD-k, PCD-k or denoising
/// score matching, applied by the step's optimizer. CD-k with SGD (plain or
/// with momentum) on batches of 16 or more takes the split schedule of
/// `RBM+SplitStep.swift`; smaller batches add a plain step straight into the
/// parameters or apply ``sgdUpdate``.
extension RBM {
    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        guard batch.columns == visibleCount else {
            throw StrataError.shapeMismatch(context: "RBM with \(visibleCount) visible units given a batch", expected: [batch.rows, visibleCount], found: batch.shape)
        }
        let objective: Double
        // A split RBM draws per example always, so its parts draw as one process with random_per_example does.
        let first = hyper.firstExample ?? (partExchange == nil ? nil : 0)
        let examples = first.map { ExampleStreams(firstExample: $0, random: &random) }
        switch configuration.objective {
        case .contrastiveDivergence(let k):
            if hyper.optimizer == .momentum && batch.rows >= 16 && partExchange == nil {
                return splitContrastiveDivergence(batch, steps: k, random: &random, examples: examples, hyper: hyper)
            }
            if hyper.isPlainSGD {
                return contrastiveDivergence(batch, steps: k, random: &random, examples: examples, directStep: hyper.learningRate)
            }
            objective = contrastiveDivergence(batch, steps: k, random: &random, examples: examples)
        case .persistentCD(let k):
            objective = persistentCD(batch, steps: k, random: &random, examples: examples)
        case .scoreMatching(let noiseLevel):
            objective = scoreMatchingGradient(batch, noise: noiseLevel, random: &random, examples: examples)
        }
        if hyper.optimizer.needsSecondMoments { optimizerState.steps += 1 }
        hyper.update(&weights, gradient: gradW, velocity: &velocityW, name: "weights", state: &optimizerState, decay: hyper.weightDecay)
        hyper.update(&visibleBias, gradient: gradB, velocity: &velocityB, name: "visible_bias", state: &optimizerState)
        hyper.update(&hiddenBias, gradient: gradC, velocity: &velocityC, name: "hidden_bias", state: &optimizerState)
        // sigma keeps plain momentum SGD at its own scaled rate, whatever the optimizer of the weights.
        if case .scoreMatching = configuration.objective, configuration.learnSigma {
            velocitySigma = hyper.momentum * velocitySigma - hyper.learningRate * configuration.sigmaLearningRateScale * gradSigma
            sigma = min(max(sigma + velocitySigma, configuration.sigmaMinimum), configuration.sigmaMaximum)
        }
        return objective
    }

    /// CD-k: positive statistics from the data, negative from k Gibbs steps.
    /// Returns the reconstruction error of the first step (squared error
    /// summed over units, averaged over examples).
    /// With `directStep` (plain SGD), the update is added straight into the parameters.
    /// With `examples`, each example's samples come from its own stream.
    mutating func contrastiveDivergence(_ batch: Tensor, steps: Int, random: inout RandomSource, examples: ExampleStreams? = nil,
                                        directStep: Float? = nil) -> Double {
        hiddenMeans(batch, into: &hPos)
        var h = hPos
        var error = 0.0
        for step in 0 ..< steps {
            sampleHidden(&h, site: UInt64(2 * step), examples: examples, random: &random, wholeHidden: &wholeHidden)
            visibleMeans(h, into: &vNeg)
            if step == 0 { error = squaredError(batch, vNeg) }
            if !configuration.meanVisible { sampleVisible(&vNeg, site: UInt64(2 * step + 1), examples: examples, random: &random) }
            hiddenMeans(vNeg, into: &hNeg)
            if step + 1 < steps { h = hNeg }
        }
        let n = Float(batch.rows)
        if let step = directStep {
            // Plain SGD: add -step * gradient straight into the parameters.
            let factor = step / (n * variance)
            weights.formProduct(batch, hPos, transposeA: true, alpha: factor, beta: 1)
            weights.formProduct(vNeg, hNeg, transposeA: true, alpha: -factor, beta: 1)
            var db = batch.sumOverRows()
            db.subtract(vNeg.sumOverRows())
            visibleBias.add(db, scaledBy: factor)
            var dc = hPos.sumOverRows()
            dc.subtract(hNeg.sumOverRows())
            hiddenBias.add(dc, scaledBy: factor)
            return error
        }
        accumulateFreeEnergyGradient(batch, hidden: hPos, scale: 1 / n, beta: 0)
        accumulateFreeEnergyGradient(vNeg, hidden: hNeg, scale: -1 / n, beta: 1)
        return error
    }

    /// PCD-k: negative statistics from persistent chains advanced k steps
    /// (Tieleman 2008). The chains are made once, as many as the first batch
    /// has rows, and kept for the whole run: a smaller batch (an epoch's last)
    /// neither restarts nor shortens them. The negative phase averages over
    /// the chains, the positive phase over the batch. With `examples`, chain
    /// `i` draws from example `i`'s stream, so N ranks with b chains each
    /// draw what one process with N·b chains draws (``gatherRankState(in:)``).
    mutating func persistentCD(_ batch: Tensor, steps: Int, random: inout RandomSource, examples: ExampleStreams? = nil) -> Double {
        hiddenMeans(batch, into: &hPos)
        if chain?.columns != visibleCount || chain?.rank != 2 {
            var start = Tensor(shape: batch.shape, repeating: 0.5)
            if configuration.visibleUnits == .binary {
                sampleBernoulli(&start, site: 1000, examples: examples, random: &random)
            } else {
                start = batch
            }
            chain = start
        }
        var v = chain!
        for step in 0 ..< steps {
            hiddenMeans(v, into: &hNeg)
            sampleHidden(&hNeg, site: UInt64(2 * step), examples: examples, random: &random, wholeHidden: &wholeHidden)
            visibleMeans(hNeg, into: &v)
            if !configuration.meanVisible { sampleVisible(&v, site: UInt64(2 * step + 1), examples: examples, random: &random) }
        }
        chain = v
        vNeg = v
        hiddenMeans(vNeg, into: &hNeg)
        accumulateFreeEnergyGradient(batch, hidden: hPos, scale: 1 / Float(batch.rows), beta: 0)
        accumulateFreeEnergyGradient(vNeg, hidden: hNeg, scale: -1 / Float(vNeg.rows), beta: 1)
        // The reconstruction error of the data (one mean-field step), for the progress line.
        var recon = Tensor(zeros: [0, 0])
        visibleMeans(hPos, into: &recon)
        return squaredError(batch, recon)
    }

    /// Denoising score matching (pylearn2's `SMD`): for x~ = x + N(0, s^2),
    /// `J = mean over all elements of (score(x~) - (x - x~) / s^2)^2`.
    /// Writes dJ/d(W, b, c) into the gradient buffers, updates sigma, returns J.
    mutating func scoreMatchingGradient(_ x: Tensor, noise level: Float, random: inout RandomSource, examples: ExampleStreams? = nil) -> Double {
        ensureShape(&noise, x.rows, visibleCount)
        if let examples {
            examples.forEachRow(of: &noise, site: 0) { $1.fillNormal($0, standardDeviation: level) }
        } else {
            noise.withUnsafeMutableBufferPointer { random.fillNormal($0, standardDeviation: level) }
        }
        return scoreMatchingGradient(x, corruption: noise, level: level)
    }

    /// Score matching's cost and gradient for a given corruption `x~ - x`.
    mutating func scoreMatchingGradient(_ x: Tensor, corruption: Tensor, level: Float) -> Double {
        let (n, v, hCount) = (x.rows, visibleCount, hiddenCount)
        let s = variance
        if corruption.scalars != noise.scalars { noise = corruption }
        ensureShape(&noisy, n, v)
        noisy.scalars = x.scalars
        noisy.add(noise)
        // u = (x~ W + c) / S kept for sigma's gradient; h = sigmoid(u).
        ensureShape(&preactivation, n, hCount)
        preactivation.formProduct(noisy, weights)
        preactivation.addToEachRow(hiddenBias)
        preactivation.scale(by: 1 / s)
        hPos = preactivation
        hPos.formSigmoid()
        visibleMeans(hPos, into: &vNeg)                       // recon = h W^T + b
        // vNeg becomes G = dJ/dscore = 2 D / (n v); also sum G * score for sigma.
        let inverseS = 1 / s
        let targetScale = 1 / (level * level)
        let norm = 2 / Float(n * v)
        var cost: Double = 0
        var gScore: Double = 0
        vNeg.withUnsafeMutableBufferPointer { r in
            noisy.withUnsafeBufferPointer { xt in
                noise.withUnsafeBufferPointer { e in
                    var partialCost: Float = 0, partialScore: Float = 0
                    for i in r.indices {
                        let score = (r[i] - xt[i]) * inverseS
                        let d = score + e[i] * targetScale        // target = (x - x~) / s^2 = -e / s^2
                        partialCost += d * d
                        let g = norm * d
                        partialScore += g * score
                        r[i] = g
                    }
                    cost = Double(partialCost) / Double(n * v)
                    gScore = Double(partialScore)
                }
            }
        }
        // gb = sum_rows G / S;  gW = G^T h / S
        gradB = vNeg.sumOverRows() * inverseS
        gradW.formProduct(vNeg, hPos, transposeA: true, alpha: inverseS)
        // E = (G W) / S * h (1 - h) = dJ/du
        ensureShape(&backprop, n, hCount)
        backprop.formProduct(vNeg, weights, alpha: inverseS)
        var gU: Double = 0
        backprop.withUnsafeMutableBufferPointer { e in
            hPos.withUnsafeBufferPointer { h in
                preactivation.withUnsafeBufferPointer { u in
                    var partial: Float = 0
                    for i in e.indices {
                        e[i] *= h[i] * (1 - h[i])
                        partial += e[i] * u[i]
                    }
                    gU = Double(partial)
                }
            }
        }
        if let partExchange { // each part's hidden units' share
            var shares = [gU]
            partExchange.sum(&shares)
            gU = shares[0]
        }
        gradW.formProduct(noisy, backprop, transposeA: true, alpha: inverseS, beta: 1)
        gradC = backprop.sumOverRows() * inverseS
        // J depends on S through score = (recon - x~)/S and u = (...)/S:
        // dJ/dS = -(sum G * score + sum E * u) / S, and dS/dsigma = 2 sigma.
        gradSigma = Float(-(gScore + gU) / Double(s)) * 2 * sigma
        return cost
    }


    package func squaredError(_ a: Tensor, _ b: Tensor) -> Double {
        var total: Float = 0
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in x.indices { let d = x[i] - y[i]; total += d * d }
            }
        }
        return Double(total) / Double(max(a.rows, 1))
    }
}
