import StrataCore

/// A fully connected layer's hidden units cut into one contiguous band per
/// part of a model split across processes (``SplitAutoencoder``,
/// ``SplitRBM``): the bands, and moving values between a part's band and the whole.
public struct HiddenUnitBands: Sendable {
    public let exchange: any ModelPartExchange
    /// Every part's hidden units, in part order.
    public let bands: [Range<Int>]
    public let hiddenCount: Int

    /// `hiddenCount` units cut `exchange.parts` ways, as evenly as can be.
    /// - Throws: when there are more parts than hidden units, naming the largest valid choice.
    public init(hiddenCount: Int, exchange: any ModelPartExchange) throws {
        let parts = exchange.parts
        guard parts >= 1, parts <= hiddenCount else {
            throw StrataError.invalidArgument(name: "model_parallel", reason: "\(parts) parts cannot split \(hiddenCount) hidden units; the nearest valid choice is model_parallel: \(hiddenCount)")
        }
        (self.exchange, self.hiddenCount) = (exchange, hiddenCount)
        bands = (0 ..< parts).map { $0 * hiddenCount / parts ..< ($0 + 1) * hiddenCount / parts }
    }

    init(exchange: any ModelPartExchange, bands: [Range<Int>], hiddenCount: Int) {
        (self.exchange, self.bands, self.hiddenCount) = (exchange, bands, hiddenCount)
    }

    /// These bands counted in `k` values per unit (a maxout unit's pieces, which lie side by side).
    public func scaled(by k: Int) -> HiddenUnitBands {
        HiddenUnitBands(exchange: exchange, bands: bands.map { $0.lowerBound * k ..< $0.upperBound * k }, hiddenCount: hiddenCount * k)
    }

    /// This part's units.
    public var mine: Range<Int> { bands[exchange.part] }

    /// This part's `own` `(n, band)` placed at its columns of `whole` `(n, hidden)`,
    /// which is reused (its other columns are left as they are).
    public func placeMine(_ own: Tensor, into whole: inout Tensor) {
        let (n, band) = (own.rows, mine)
        ensureShape(&whole, n, hiddenCount)
        whole.withUnsafeMutableBufferPointer { w in
            own.withUnsafeBufferPointer { o in
                for r in 0 ..< n { (w.baseAddress! + r * hiddenCount + band.lowerBound).update(from: o.baseAddress! + r * band.count, count: band.count) }
            }
        }
    }

    /// This part's columns of `whole` `(n, hidden)` into `out` `(n, band)`, which is reused.
    public func takeMine(of whole: Tensor, into out: inout Tensor) {
        let (n, band) = (whole.rows, mine)
        ensureShape(&out, n, band.count)
        out.withUnsafeMutableBufferPointer { o in
            whole.withUnsafeBufferPointer { w in
                for r in 0 ..< n { (o.baseAddress! + r * band.count).update(from: w.baseAddress! + r * hiddenCount + band.lowerBound, count: band.count) }
            }
        }
    }

    /// Every part's hidden values side by side, `(n, hidden)`, on every part,
    /// from this part's `(n, band)`. Collective.
    public func allHidden(_ own: Tensor) -> Tensor {
        var (out, blocks) = (Tensor(zeros: [0, 0]), Tensor(zeros: [0]))
        allHidden(own, into: &out, blocks: &blocks)
        return out
    }

    /// ``allHidden(_:)`` into `out`, with `blocks` (the parts' values as they
    /// arrive, part after part): both reused from step to step.
    public func allHidden(_ own: Tensor, into out: inout Tensor, blocks: inout Tensor) {
        let n = own.rows
        ensureShape(&out, n, hiddenCount)
        if blocks.count != n * hiddenCount { blocks = Tensor(zeros: [n * hiddenCount]) }
        blocks.withUnsafeMutableBufferPointer { b in
            own.withUnsafeBufferPointer { (b.baseAddress! + n * mine.lowerBound).update(from: $0.baseAddress!, count: $0.count) }
            exchange.gatherBands(b, bands: bands.map { n * $0.lowerBound ..< n * $0.upperBound })
            out.withUnsafeMutableBufferPointer { o in
                for range in bands {
                    for e in 0 ..< n {
                        (o.baseAddress! + e * hiddenCount + range.lowerBound).update(from: b.baseAddress! + n * range.lowerBound + e * range.count, count: range.count)
                    }
                }
            }
        }
    }

    /// `t`, this part's units along `hiddenAxis` (0: rows, 1: columns; nil:
    /// alike on every part), made whole: on every part, or on the first only
    /// (`everyPart` false; the others get their own back). Collective.
    public func gather(_ t: Tensor, hiddenAxis: Int?, everyPart: Bool) -> Tensor {
        guard let hiddenAxis else { return t }
        // Columns are gathered as the rows of the transpose.
        let rowsFirst = hiddenAxis == 0 ? t : t.transposed()
        let width = rowsFirst.count / max(mine.count, 1)
        var all = Tensor(zeros: [hiddenCount, width])
        all.withUnsafeMutableBufferPointer { out in
            rowsFirst.withUnsafeBufferPointer { (out.baseAddress! + mine.lowerBound * width).update(from: $0.baseAddress!, count: $0.count) }
            let ranges = bands.map { $0.lowerBound * width ..< $0.upperBound * width }
            if everyPart { exchange.gatherBands(out, bands: ranges) } else { exchange.gatherBandsOnFirstPart(out, bands: ranges) }
        }
        let shaped = t.rank == 1 ? all.reshaped([hiddenCount]) : all
        return hiddenAxis == 0 ? shaped : shaped.transposed()
    }

    /// Whole tensors from a part's (``gather(_:hiddenAxis:everyPart:)``, each
    /// by its axis), by name in name order, so that every part gathers alike.
    public func gathered(_ tensors: [String: (Tensor, Int?)], everyPart: Bool) -> [String: Tensor] {
        var whole: [String: Tensor] = [:]
        for name in tensors.keys.sorted() {
            let (tensor, axis) = tensors[name]!
            whole[name] = gather(tensor, hiddenAxis: axis, everyPart: everyPart)
        }
        return whole
    }

    /// The units `units` of `t` along `hiddenAxis` (0: rows of a vector or
    /// matrix, 1: columns of a matrix; nil: `t` itself).
    public static func keeping(_ units: Range<Int>, of t: Tensor, hiddenAxis: Int?) -> Tensor {
        switch hiddenAxis {
        case nil: return t
        case 0?: return t.rank == 1 ? Tensor(shape: [units.count], scalars: Array(t.scalars[units])) : t.rows(units)
        default:
            let width = t.columns
            return Tensor(shape: [t.rows, units.count], unsafeUninitialized: { out in
                t.withUnsafeBufferPointer { v in
                    for r in 0 ..< t.rows { (out.baseAddress! + r * units.count).update(from: v.baseAddress! + r * width + units.lowerBound, count: units.count) }
                }
            })
        }
    }
}

extension UnsupervisedLearner {
    /// A learner from a checkpoint's tensors, named as a checkpoint names
    /// them (`training.` before its state), and Adam's update count: a split
    /// learner's whole, gathered. Nil when they do not make one.
    init?(configurationJSON: String, checkpointTensors: [String: Tensor], adamSteps: Int) {
        var parameters: [String: Tensor] = [:], state: [String: Tensor] = [:]
        for (name, t) in checkpointTensors {
            if name.hasPrefix("training.") { state[String(name.dropFirst("training.".count))] = t } else { parameters[name] = t }
        }
        if adamSteps > 0 { state["adam_steps"] = Tensor(shape: [1], scalars: [Float(adamSteps)]) }
        guard let whole = try? Self(configurationJSON: configurationJSON, parameters: parameters, trainingState: state) else { return nil }
        self = whole
    }

    /// Every tensor a checkpoint saves (`training.` before its state, Adam's
    /// update count aside), with the axis its hidden units lie along, as `axis` says by name.
    func checkpointTensors(hiddenAxis axis: (String) -> Int?) -> [String: (Tensor, Int?)] {
        var all: [String: (Tensor, Int?)] = [:]
        for (name, t) in parameters { all[name] = (t, axis(name)) }
        for (name, t) in trainingState where name != "adam_steps" { all["training." + name] = (t, axis(name)) }
        return all
    }
}
