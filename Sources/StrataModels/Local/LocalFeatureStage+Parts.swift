import StrataCore
import StrataData

/// A stage split by image region: its checkpoint written whole from the
/// parts, a resumed whole cut to a part, and the whole gathered for use.
extension LocalFeatureStage: PartitionedLearner {
    public var isPartial: Bool { exchange != nil }

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
        let cut = stage.cutToPart
        (stage.encoder, stage.decoder) = (cut(encoder), cut(decoder))
        if encoderVelocity.count == encoder.count {
            (stage.encoderVelocity, stage.decoderVelocity) = (cut(encoderVelocity), cut(decoderVelocity))
        }
        for (name, s) in optimizerState.second { stage.optimizerState.second[name] = cut(s) }
        return stage
    }

    /// The whole stage as a checkpoint holds it: on the first part, its
    /// configuration with every tensor split by position (weights, momentum,
    /// Adam's moments) streamed from the parts, the first part's own values
    /// then each other part's, a piece of at most 4 MB at a time, while
    /// `body` writes the file; the other parts serve their values meanwhile.
    /// So no process holds more than its part and a piece (a checkpoint of a
    /// split model costs the first part no more memory than a step).
    public func withWhole(_ body: (WholeLearner) throws -> Void) throws {
        var whole = self
        (whole.partition, whole.exchange, whole.scratch) = (.whole(geometry), nil, LocalStageScratch())
        guard let exchange, !configuration.tied else { return try body(WholeLearner(whole)) }
        let split = splitTensors
        try exchange.onFirstPartServedBy(split.map(\.tensor)) {
            var streamed = WholeLearner(whole)
            for (index, (name, state, tensor)) in split.enumerated() {
                let stream = try streamedWhole(tensor, index: index)
                if state { streamed.trainingState[name] = stream } else { streamed.parameters[name] = stream }
            }
            try body(streamed)
        }
    }

    /// `own`, this part's tensor held by position, as the whole tensor a
    /// file holds, for the first part to write while the other parts serve
    /// theirs as tensor `index`: the first part's positions, then each other part's.
    package func streamedWhole(_ own: Tensor, index: Int) throws -> StreamedTensor {
        let g = geometry, exchange = exchange!, plan = try LocalStagePartition.plan(g, parts: exchange.parts)
        let perPosition = own.count / max(partition.positions(g).count, 1)
        return StreamedTensor(shape: [g.positions] + Array(own.shape.dropFirst())) { write in
            try own.withUnsafeBufferPointer { try write($0) } // the first part owns the first positions
            for other in 1 ..< plan.count {
                try exchange.receiveBand(tensor: index, from: other, range: 0 ..< plan[other].positions(g).count * perPosition, write)
            }
        }
    }

    /// This part's tensors held by position, with their names and whether
    /// they are training state, in the one order every part lists them.
    private var splitTensors: [(name: String, state: Bool, tensor: Tensor)] {
        let (parameters, state) = (self.parameters, trainingState) // each a dictionary made on every read
        return parameters.keys.sorted().map { ($0, false, parameters[$0]!) }
            + state.keys.sorted().filter { $0 != "adam_steps" }.map { ($0, true, state[$0]!) }
    }

    /// The whole stage's weights on the first part, for use (features,
    /// pictures, a classifier file), nil on the others. Consumes this part:
    /// its momentum and Adam state are dropped first and each weight set once
    /// gathered, so the first part holds little more than the whole weights.
    /// The stage returned starts its momentum afresh if trained again. Collective when split.
    public consuming func gatheredForUse() -> LocalFeatureStage? {
        (partition, scratch) = (.whole(geometry), LocalStageScratch())
        guard let exchange, !configuration.tied else {
            self.exchange = nil
            return self
        }
        self.exchange = nil
        (encoderVelocity, decoderVelocity, optimizerState) = (Tensor(zeros: [0]), Tensor(zeros: [0]), OptimizerState())
        let plan = (try? LocalStagePartition.plan(geometry, parts: exchange.parts)) ?? []
        guard plan.count == exchange.parts else { return nil }
        encoder = Self.gathered(encoder, plan: plan, geometry, exchange, everyPart: false)
        decoder = Self.gathered(decoder, plan: plan, geometry, exchange, everyPart: false)
        return exchange.part == 0 ? self : nil
    }

    /// `t`, a whole stage's tensor held by position (`(positions, ...)`),
    /// cut to this part's positions; itself when tied or whole.
    package func cutToPart(_ t: Tensor) -> Tensor {
        guard exchange != nil, !configuration.tied else { return t }
        let owned = partition.positions(geometry)
        return t.rows(owned).reshaped([owned.count] + Array(t.shape.dropFirst()))
    }

    /// `t`, this part's tensor held by position, made whole on every part (a
    /// tied stage's, alike on every part, as it is). Collective when split.
    package func gatheredOnEveryPart(_ t: Tensor) -> Tensor {
        guard let exchange, !configuration.tied, let plan = try? LocalStagePartition.plan(geometry, parts: exchange.parts) else { return t }
        return Self.gathered(t, plan: plan, geometry, exchange, everyPart: true)
    }

    /// The whole stage, weights only, on every part (what fine-tuning through
    /// a split stage ends with, for the classifier every rank saves). Collective when split.
    package func wholeOnEveryPart() -> LocalFeatureStage {
        var whole = self
        (whole.encoder, whole.decoder) = (gatheredOnEveryPart(encoder), gatheredOnEveryPart(decoder))
        (whole.partition, whole.exchange, whole.scratch, whole.transformScratch) = (.whole(geometry), nil, LocalStageScratch(), LocalStageScratch())
        (whole.encoderVelocity, whole.decoderVelocity, whole.optimizerState) = (Tensor(zeros: whole.encoder.shape), Tensor(zeros: whole.decoder.shape), OptimizerState())
        return whole
    }

    /// `t` (a part's tensor held by position) gathered whole on every part,
    /// or on the first only (`everyPart` false: the others keep their own
    /// part and hold nothing more). Collective.
    private static func gathered(_ t: Tensor, plan: [LocalStagePartition], _ g: LocalStageGeometry, _ exchange: any ModelPartExchange,
                                 everyPart: Bool) -> Tensor {
        let perPosition = t.count / max(plan[exchange.part].positions(g).count, 1)
        let bands = plan.map { $0.positions(g).lowerBound * perPosition ..< $0.positions(g).upperBound * perPosition }
        guard everyPart || exchange.part == 0 else {
            t.withUnsafeBufferPointer { own in
                // Only this part's band is read (not written): its buffer, addressed as if it were the whole.
                let start = UnsafeMutablePointer(mutating: own.baseAddress!) - bands[exchange.part].lowerBound
                exchange.gatherBandsOnFirstPart(UnsafeMutableBufferPointer(start: start, count: bands.last!.upperBound), bands: bands)
            }
            return t
        }
        var all = Tensor(zeros: [g.positions] + Array(t.shape.dropFirst()))
        all.withUnsafeMutableBufferPointer { out in
            t.withUnsafeBufferPointer { (out.baseAddress! + bands[exchange.part].lowerBound).update(from: $0.baseAddress!, count: $0.count) }
            if everyPart { exchange.gatherBands(out, bands: bands) } else { exchange.gatherBandsOnFirstPart(out, bands: bands) }
        }
        return all
    }
}

/// `body` with the buffers of `tensors` (and those of `held` before them), each valid for the call.
func withBuffers<R>(_ tensors: ArraySlice<Tensor>, _ held: [UnsafeBufferPointer<Float>], _ body: ([UnsafeBufferPointer<Float>]) -> R) -> R {
    guard let first = tensors.first else { return body(held) }
    return first.withUnsafeBufferPointer { withBuffers(tensors.dropFirst(), held + [$0], body) }
}
