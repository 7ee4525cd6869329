import Foundation
import StrataCore

extension LocalFeatureStage {
    /// One step of the update rule on `J` (``StepHyperparameters``: momentum,
    /// Nesterov or Adam, weight decay on both weight sets), then the decoder's
    /// norm limit. Returns the batch's `J`, summed over the parts. No random numbers are drawn.
    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        let sentBefore = exchange?.valuesSent ?? 0
        let (reconstruction, sparsity) = evaluate(batch, gradients: true)
        stepTraffic = (stepTraffic.steps + 1, stepTraffic.values + (exchange?.valuesSent ?? 0) - sentBefore)
        if hyper.optimizer.needsSecondMoments { optimizerState.steps += 1 }
        hyper.update(&encoder, gradient: scratch.gradEncoder, velocity: &encoderVelocity, name: "encoder", state: &optimizerState, decay: hyper.weightDecay)
        hyper.update(&decoder, gradient: scratch.gradDecoder, velocity: &decoderVelocity, name: "decoder", state: &optimizerState, decay: hyper.weightDecay)
        projectDecoder()
        return (reconstruction + Double(configuration.sparsityWeight) * sparsity) / Double(max(batch.rows, 1))
    }

    /// `J` and its two terms (each a mean per example) on `x`; collective when split.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        var stage = self
        let (reconstruction, sparsity) = stage.evaluate(x, gradients: false)
        let n = Double(max(x.rows, 1))
        return ["objective": (reconstruction + Double(configuration.sparsityWeight) * sparsity) / n,
                "reconstruction_error": reconstruction / n, "pooled_sum": sparsity / n]
    }

    /// The stage's output `LCN(L2pool(W1^T x))`, `(n, outputSize)`, the next
    /// stage's input. When split, each part pools its own rows and the parts
    /// gather the pooled maps, so every part returns the whole output. Collective when split.
    public func transform(_ x: Tensor) -> Tensor {
        var stage = self
        return stage.output(x)
    }

    mutating func output(_ x: Tensor) -> Tensor {
        let g = geometry, n = x.rows, p = partition
        prepareScratch(examples: n)
        x.withUnsafeBufferPointer { filterForward($0.baseAddress!, examples: n) }
        _ = poolForward(examples: n)
        var pooled = Tensor(zeros: [n, g.outputSize])
        let poolRow = g.poolColumns * g.maps, held = p.pooledRows.count * poolRow, own = (p.pools.lowerBound - p.pooledRows.lowerBound) * poolRow
        pooled.withUnsafeMutableBufferPointer { out in
            // Each part's own pooled rows, all examples, as one band; then back to one example per row.
            let plan = exchange.flatMap { try? LocalStagePartition.plan(g, parts: $0.parts) } ?? [p]
            let starts = plan.map { n * $0.pools.lowerBound * poolRow }
            var bands = Tensor(zeros: [n * g.outputSize])
            bands.withUnsafeMutableBufferPointer { b in
                for e in 0 ..< n {
                    (b.baseAddress! + starts[p.part] + e * p.pools.count * poolRow).update(from: scratch.pooled.pointer + e * held + own, count: p.pools.count * poolRow)
                }
                exchange?.gatherBands(b, bands: plan.indices.map { starts[$0] ..< starts[$0] + n * plan[$0].pools.count * poolRow })
                for part in plan {
                    let width = part.pools.count * poolRow
                    for e in 0 ..< n {
                        (out.baseAddress! + e * g.outputSize + part.pools.lowerBound * poolRow)
                            .update(from: b.baseAddress! + n * part.pools.lowerBound * poolRow + e * width, count: width)
                    }
                }
            }
        }
        guard g.normalizationSize > 0 else { return pooled }
        let lcn = LocalContrastNormalization(size: g.normalizationSize, rows: g.poolRows, columns: g.poolColumns, maps: g.maps)
        return Tensor(shape: [n, g.outputSize], unsafeUninitialized: { out in
            pooled.withUnsafeBufferPointer { lcn.forward($0.baseAddress!, examples: n, into: out.baseAddress!) }
        })
    }
}

/// A learner that may hold only its part of a model split across processes
/// (``LocalFeatureStage`` with a ``ModelPartExchange``). The training loop
/// asks it for the whole model before a checkpoint and cuts a resumed whole
/// model to its part, so a checkpoint is the one a single process writes
/// and resumes on any number of parts.
public protocol PartitionedLearner {
    /// Whether this learner holds only a part.
    var isPartial: Bool { get }
    /// The whole learner on the first part, gathered from every part
    /// (collective); nil on the others, which hold only their own part and
    /// leave the checkpoint to the first. Itself when whole.
    func wholeLearner() -> (any UnsupervisedLearner)?
    /// `whole` (a checkpoint's learner) cut to this learner's part.
    func part(of whole: any UnsupervisedLearner) throws -> any UnsupervisedLearner
}

extension LocalFeatureStage: PartitionedLearner {
    public var isPartial: Bool { exchange != nil }

    public func wholeLearner() -> (any UnsupervisedLearner)? { gatheredWhole() }

    public func part(of whole: any UnsupervisedLearner) throws -> any UnsupervisedLearner {
        guard let whole = whole as? LocalFeatureStage else { return whole }
        guard let exchange else { return whole }
        return try whole.partitioned(exchange)
    }

    /// This whole stage cut to `exchange`'s part: its positions' weights, momentum and Adam moments.
    public func partitioned(_ exchange: any ModelPartExchange) throws -> LocalFeatureStage {
        var stage = self
        stage.partition = try LocalStagePartition.plan(geometry, parts: exchange.parts)[exchange.part]
        (stage.exchange, stage.scratch) = (exchange, LocalStageScratch())
        guard !configuration.tied else { return stage }
        let owned = stage.partition.positions(geometry)
        func cut(_ t: Tensor) -> Tensor { t.rows(owned).reshaped([owned.count] + Array(t.shape.dropFirst())) }
        (stage.encoder, stage.decoder) = (cut(encoder), cut(decoder))
        (stage.encoderVelocity, stage.decoderVelocity) = (cut(encoderVelocity), cut(decoderVelocity))
        for (name, s) in optimizerState.second { stage.optimizerState.second[name] = cut(s) }
        return stage
    }

    /// The whole stage on the first part, from every part's positions
    /// (collective); nil on the other parts. A tied or whole stage is already whole.
    public func gatheredWhole() -> LocalFeatureStage? {
        var whole = self
        (whole.partition, whole.exchange, whole.scratch) = (.whole(geometry), nil, LocalStageScratch())
        guard let exchange, !configuration.tied else { return whole }
        guard exchange.part == 0 else {
            // Send this part's positions; hold nothing more.
            for t in [encoder, decoder, encoderVelocity, decoderVelocity] + optimizerState.second.keys.sorted().map({ optimizerState.second[$0]! }) {
                send(t, exchange)
            }
            return nil
        }
        let plan = (try? LocalStagePartition.plan(geometry, parts: exchange.parts)) ?? [partition]
        func gather(_ t: Tensor) -> Tensor {
            let perPosition = t.count / max(partition.positions(geometry).count, 1)
            var all = Tensor(zeros: [geometry.positions] + Array(t.shape.dropFirst()))
            all.withUnsafeMutableBufferPointer { out in
                t.withUnsafeBufferPointer { (out.baseAddress! + partition.positions(geometry).lowerBound * perPosition).update(from: $0.baseAddress!, count: $0.count) }
                exchange.gatherBandsOnFirstPart(out, bands: plan.map { $0.positions(geometry).lowerBound * perPosition ..< $0.positions(geometry).upperBound * perPosition })
            }
            return all
        }
        (whole.encoder, whole.decoder) = (gather(encoder), gather(decoder))
        (whole.encoderVelocity, whole.decoderVelocity) = (gather(encoderVelocity), gather(decoderVelocity))
        for name in optimizerState.second.keys.sorted() { whole.optimizerState.second[name] = gather(optimizerState.second[name]!) }
        return whole
    }

    /// A part's side of the gather of `t` to the first part: its own positions, placed where the whole holds them.
    private func send(_ t: Tensor, _ exchange: any ModelPartExchange) {
        let plan = (try? LocalStagePartition.plan(geometry, parts: exchange.parts)) ?? [partition]
        let perPosition = t.count / max(partition.positions(geometry).count, 1)
        let bands = plan.map { $0.positions(geometry).lowerBound * perPosition ..< $0.positions(geometry).upperBound * perPosition }
        // Only this part's band is read: a buffer of that size, addressed as if it were the whole.
        var mine = t
        mine.withUnsafeMutableBufferPointer { own in
            let whole = UnsafeMutableBufferPointer(start: own.baseAddress! - bands[exchange.part].lowerBound, count: bands.last!.upperBound)
            exchange.gatherBandsOnFirstPart(whole, bands: bands)
        }
    }
}
