import Foundation
import StrataCore

extension LocalFeatureStage {
    /// Examples the monitor evaluates at once.
    static let monitorChunk = 100

    /// One step of the update rule on `J` (``StepHyperparameters``: momentum,
    /// Nesterov or Adam, weight decay on both weight sets), then the decoder's
    /// norm limit. Returns the batch's `J`, summed over the parts. No random numbers are drawn.
    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        let sentBefore = exchange?.valuesSent ?? 0
        holdVelocities()
        let (reconstruction, sparsity) = evaluate(batch, gradients: true)
        stepTraffic = (stepTraffic.steps + 1, stepTraffic.values + (exchange?.valuesSent ?? 0) - sentBefore)
        if hyper.optimizer.needsSecondMoments { optimizerState.steps += 1 }
        hyper.update(&encoder, gradient: scratch.gradEncoder, velocity: &encoderVelocity, name: "encoder", state: &optimizerState, decay: hyper.weightDecay)
        hyper.update(&decoder, gradient: scratch.gradDecoder, velocity: &decoderVelocity, name: "decoder", state: &optimizerState, decay: hyper.weightDecay)
        projectDecoder()
        return (reconstruction + Double(configuration.sparsityWeight) * sparsity) / Double(max(batch.rows, 1))
    }

    /// `J` and its two terms (each a mean per example) on `x`, evaluated
    /// `monitorChunk` examples at a time (the step's buffers grow with the
    /// examples evaluated at once; a stage's activations are positions x maps
    /// per example); collective when split.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        var stage = self
        var (reconstruction, sparsity) = (0.0, 0.0)
        for start in stride(from: 0, to: x.rows, by: Self.monitorChunk) {
            let terms = stage.evaluate(x.rows(start ..< min(start + Self.monitorChunk, x.rows)), gradients: false)
            (reconstruction, sparsity) = (reconstruction + terms.reconstruction, sparsity + terms.sparsity)
        }
        let n = Double(max(x.rows, 1))
        return ["objective": (reconstruction + Double(configuration.sparsityWeight) * sparsity) / n,
                "reconstruction_error": reconstruction / n, "pooled_sum": sparsity / n]
    }

    /// The stage's output `LCN(L2pool(W1^T x))`, `(n, outputSize)`, the next
    /// stage's input. When split, each part pools its own rows and the parts
    /// gather the pooled maps, so every part returns the whole output. Collective when split.
    public func transform(_ x: Tensor) -> Tensor {
        var stage = self
        let shared = transformScratch
        guard shared.taken.try() else { return stage.output(x) } // in use by another caller: buffers of its own
        defer { shared.taken.unlock() }
        (stage.scratch, stage.scratchBorrowed) = (shared, true)
        return stage.output(x)
    }

    /// The output of ``transform(_:)``, leaving in the scratch what
    /// ``backwardAfterOutput(_:encoderGradient:inputGradient:)`` reads: the
    /// fields, the filter responses and the pooled values.
    mutating func output(_ x: Tensor) -> Tensor {
        let g = geometry, n = x.rows, p = partition
        prepareScratch(examples: n)
        x.withUnsafeBufferPointer { filterForward($0.baseAddress!, examples: n) }
        _ = poolForward(examples: n)
        guard let exchange else { return normalized(scratch.pooled.pointer, examples: n) } // whole: the pooled rows are the output's
        // Each part's own pooled rows, all examples, as one band; gathered, then back to one example per row in
        // the scratch's whole pooled maps, which stay for a backward pass (LCN's gradient reads them).
        let poolRow = g.poolColumns * g.maps, held = p.pooledRows.count * poolRow, own = (p.pools.lowerBound - p.pooledRows.lowerBound) * poolRow
        let plan = (try? LocalStagePartition.plan(g, parts: exchange.parts)) ?? [p]
        let starts = plan.map { n * $0.pools.lowerBound * poolRow }
        for buffer in [\LocalStageScratch.wholePooled, \.pooledBands] { scratch[keyPath: buffer].reserve(n * g.outputSize) }
        let (bands, pooled) = (scratch.pooledBands.pointer, scratch.wholePooled.pointer)
        for e in 0 ..< n {
            (bands + starts[p.part] + e * p.pools.count * poolRow).update(from: scratch.pooled.pointer + e * held + own, count: p.pools.count * poolRow)
        }
        exchange.gatherBands(UnsafeMutableBufferPointer(start: bands, count: n * g.outputSize),
                             bands: plan.indices.map { starts[$0] ..< starts[$0] + n * plan[$0].pools.count * poolRow })
        for part in plan {
            let width = part.pools.count * poolRow
            for e in 0 ..< n {
                (pooled + e * g.outputSize + part.pools.lowerBound * poolRow).update(from: bands + n * part.pools.lowerBound * poolRow + e * width, count: width)
            }
        }
        return normalized(pooled, examples: n)
    }

    /// Local contrast normalization of `n` pooled examples (`(n, outputSize)`), in parts of examples; a copy without it.
    /// When split, each part normalizes its share of the examples and the parts gather them (each example's bits are one process's).
    func normalized(_ pooled: UnsafePointer<Float>, examples n: Int) -> Tensor {
        let g = geometry, size = g.outputSize
        return Tensor(shape: [n, size], unsafeUninitialized: { out in
            guard let lcn = scratch.normalization(g) else { return out.baseAddress!.update(from: pooled, count: n * size) }
            forEachExampleShare(n, values: size, in: out) { first, count in
                inParts(count, minimum: 8) { lcn.forward(pooled + (first + $0.lowerBound) * size, examples: $0.count, into: out.baseAddress! + (first + $0.lowerBound) * size) }
            }
        })
    }

    /// Runs `body(first, count)` on this part's share of `n` examples (all of
    /// them when whole), then gathers every part's rows of `buffer`
    /// (`(n, values)`) so that every part holds them all. Collective when split.
    func forEachExampleShare(_ n: Int, values: Int, in buffer: UnsafeMutableBufferPointer<Float>, _ body: (_ first: Int, _ count: Int) -> Void) {
        guard let exchange, exchange.parts > 1 else { return body(0, n) }
        let shares = (0 ..< exchange.parts).map { FixedParts.range($0, of: exchange.parts, extent: n) }
        body(shares[exchange.part].lowerBound, shares[exchange.part].count)
        exchange.gatherBands(buffer, bands: shares.map { $0.lowerBound * values ..< $0.upperBound * values })
    }
}
