import StrataCore
import StrataData

/// An autoencoder split across processes by hidden units (model parallelism
/// for a fully connected layer, as DistBelief splits one): part `r` of `P`
/// holds a contiguous band of the hidden units with their encoder columns,
/// biases and decoder rows (and their momentum), about `1/P` of the weights.
///
/// A step: each part encodes its band, `h_r = f(x W_r + c_r)`, and its share
/// of the decoder's pre-activation, `h_r W'_r`; one sum over the parts
/// (`(n, visible)` values) gives every part `z = sum_r h_r W'_r + b`, hence the
/// loss, its delta and the visible bias's step, alike on every part; each then
/// takes its own band's gradients with no further exchange. The penalties
/// (sparsity, contractive) are per unit, so per band, and summed once.
///
/// The sum over the parts is associated differently from one process's
/// product, so a split run matches one process to rounding (1e-5 relative),
/// not to the bit. Checkpoints hold the whole ``Autoencoder`` (gathered on part 0).
public struct SplitAutoencoder: UnsupervisedLearner, PartitionedLearner {
    public static let kind = Autoencoder.kind
    /// The whole autoencoder's configuration.
    public let configuration: Autoencoder.Configuration
    /// This part's band: an autoencoder of the band's hidden units.
    public private(set) var band: Autoencoder
    public let exchange: any ModelPartExchange
    /// Every part's hidden units, in part order.
    public let bands: [Range<Int>]

    /// `whole` cut to `exchange`'s part. Throws when there are more parts than hidden units.
    public init(_ whole: Autoencoder, exchange: any ModelPartExchange) throws {
        let hidden = whole.hiddenCount, parts = exchange.parts
        guard parts >= 1, parts <= hidden else {
            throw StrataError.invalidArgument(name: "model_parallel", reason: "\(parts) parts cannot split \(hidden) hidden units; the nearest valid choice is model_parallel: \(hidden)")
        }
        (configuration, self.exchange) = (whole.configuration, exchange)
        bands = (0 ..< parts).map { $0 * hidden / parts ..< ($0 + 1) * hidden / parts }
        band = whole.keepingHiddenUnits(bands[exchange.part])
        band.partExchange = exchange
    }

    public var visibleCount: Int { configuration.visibleCount }
    public var hiddenCount: Int { configuration.hiddenCount }
    public var isPartial: Bool { true }

    public func transform(_ x: Tensor) -> Tensor { allHidden(band.transform(x)) }

    /// Every part's hidden values side by side, `(n, hidden)`, on every part (collective).
    func allHidden(_ mine: Tensor) -> Tensor {
        let n = mine.rows
        var blocks = Tensor(zeros: [n * hiddenCount])
        var out = Tensor(zeros: [n, hiddenCount])
        blocks.withUnsafeMutableBufferPointer { b in
            mine.withUnsafeBufferPointer { (b.baseAddress! + n * bands[exchange.part].lowerBound).update(from: $0.baseAddress!, count: $0.count) }
            exchange.gatherBands(b, bands: bands.map { n * $0.lowerBound ..< n * $0.upperBound })
            out.withUnsafeMutableBufferPointer { o in
                for range in bands {
                    for e in 0 ..< n {
                        (o.baseAddress! + e * hiddenCount + range.lowerBound).update(from: b.baseAddress! + n * range.lowerBound + e * range.count, count: range.count)
                    }
                }
            }
        }
        return out
    }

    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        try band.trainStep(batch, hyper: hyper, random: &random)
    }

    /// The whole cost's channels (`objective`, `reconstruction_error`), alike on every part; collective.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        band.monitor(x, random: &random).filter { ["objective", "reconstruction_error"].contains($0.key) }
    }

    public var parameters: [String: Tensor] { band.parameters }
    public var trainingState: [String: Tensor] { band.trainingState }
    public var configurationJSON: String { encodeJSON(configuration) }

    public init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws {
        throw StrataError.invalidArgument(name: "autoencoder", reason: "a checkpoint holds a whole autoencoder; a split one is cut from it by SplitAutoencoder(_:exchange:)")
    }

    /// This part's encoder columns, `(visible, band)`.
    public var filters: Tensor { band.filters }
    public var denseLayer: DenseLayer { band.denseLayer }

    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {
        try band.forEachTrainedBuffer(velocities: velocities, body)
    }

    public func writesVelocities(plainSGD: Bool) -> Bool { band.writesVelocities(plainSGD: plainSGD) }

    /// The whole autoencoder gathered on the first part (its bands are columns
    /// of the encoder, not runs of the file, so they are gathered, not streamed).
    public func withWhole(_ body: (WholeLearner) throws -> Void) throws {
        guard let whole = gathered(onEveryPart: false) else { return }
        try body(WholeLearner(whole))
    }

    public func part(of whole: any UnsupervisedLearner) throws -> any UnsupervisedLearner {
        guard let whole = whole as? Autoencoder else { return whole }
        return try SplitAutoencoder(whole, exchange: exchange)
    }

    /// The whole autoencoder from every part's band: on every part, or on part 0 only (nil elsewhere). Collective.
    public func gathered(onEveryPart: Bool) -> Autoencoder? {
        let tensors = band.splitTensors()
        var whole: [String: Tensor] = [:]
        for name in tensors.keys.sorted() {
            let (tensor, axis) = tensors[name]!
            whole[name] = gather(tensor, hiddenAxis: axis, everyPart: onEveryPart)
        }
        guard onEveryPart || exchange.part == 0 else { return nil }
        return Autoencoder(configuration: configuration, wholeTensors: whole, steps: band.optimizerState.steps)
    }

    /// `t` with this part's hidden units along `hiddenAxis` (0: rows, 1: columns; nil: alike on every part), made whole.
    private func gather(_ t: Tensor, hiddenAxis: Int?, everyPart: Bool) -> Tensor {
        guard let hiddenAxis else { return t }
        // Columns are gathered as the rows of the transpose.
        let rowsFirst = hiddenAxis == 0 ? t : t.transposed()
        let width = rowsFirst.count / max(bands[exchange.part].count, 1)
        var all = Tensor(zeros: [hiddenCount, width])
        all.withUnsafeMutableBufferPointer { out in
            rowsFirst.withUnsafeBufferPointer { (out.baseAddress! + bands[exchange.part].lowerBound * width).update(from: $0.baseAddress!, count: $0.count) }
            let ranges = bands.map { $0.lowerBound * width ..< $0.upperBound * width }
            if everyPart { exchange.gatherBands(out, bands: ranges) } else { exchange.gatherBandsOnFirstPart(out, bands: ranges) }
        }
        let shaped = t.rank == 1 ? all.reshaped([hiddenCount]) : all
        return hiddenAxis == 0 ? shaped : shaped.transposed()
    }
}
