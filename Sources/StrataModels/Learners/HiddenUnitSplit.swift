import StrataCore
import StrataData

/// A learner that can be cut into bands of hidden units, each band trained
/// by one process of a model split across processes (``HiddenUnitSplit``):
/// the ``Autoencoder`` and the ``RBM``.
public protocol HiddenUnitSplittable: UnsupervisedLearner {
    /// A learner of the hidden units `units` only: their weights, biases,
    /// momentum and Adam moments; what every hidden unit shares (the visible bias) whole.
    func keepingHiddenUnits(_ units: Range<Int>) -> Self
    /// Every tensor a checkpoint saves (`training.` before its state), with
    /// the axis its hidden units lie along (0: rows, 1: columns; nil: alike on every part).
    func splitTensors() -> [String: (Tensor, Int?)]
    /// This band's steps from now on sum over `split`'s parts what the whole layer sums over its hidden units.
    mutating func join(_ split: HiddenUnitBands)
    /// Whether a monitor channel is the whole model's (alike on every part),
    /// not a statistic of this band's units.
    static func isWholeModelChannel(_ name: String) -> Bool
    /// Adam's update count.
    var adamSteps: Int { get }
}

/// A learner split across processes by hidden units (model parallelism for
/// a fully connected layer, as DistBelief splits one): part `r` of `P` holds
/// `band`, a learner of the same kind with a contiguous band of the hidden
/// units, their weights and momentum: about `1/P` of the weights. The band
/// does the math and the sums over the parts (``SplitAutoencoder``,
/// ``SplitRBM`` say what each sums); this wrapper holds the whole's
/// configuration and the bands, and stands for the whole layer to the trainer.
///
/// The sums over the parts are associated differently from one process's
/// products, so a split run matches one process to rounding (1e-5 relative),
/// not to the bit. Checkpoints hold the whole learner, written by part 0 as the
/// others stream it their bands (``withWhole(_:)``).
public struct HiddenUnitSplit<Band: HiddenUnitSplittable>: UnsupervisedLearner, PartitionedLearner {
    /// The whole learner's configuration.
    public let configurationJSON: String
    /// This part's band: a learner of the band's hidden units.
    public private(set) var band: Band
    /// Every part's hidden units and the link to the other parts.
    public let split: HiddenUnitBands

    /// `whole` cut to `exchange`'s part. Throws when there are more parts than hidden units.
    public init(_ whole: Band, exchange: any ModelPartExchange) throws {
        configurationJSON = whole.configurationJSON
        split = try HiddenUnitBands(hiddenCount: whole.hiddenCount, exchange: exchange)
        band = whole.keepingHiddenUnits(split.mine)
        band.join(split)
    }

    /// A split learner is made from a whole one, never read from a checkpoint.
    public init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws {
        throw StrataError.invalidArgument(name: Self.kind, reason: "a checkpoint holds a whole \(Self.kind); a split one is cut from it by \(Self.self)(_:exchange:)")
    }

    /// The whole learner's kind: a checkpoint holds the whole.
    public static var kind: String { Band.kind }
    public var visibleCount: Int { band.visibleCount }
    public var hiddenCount: Int { split.hiddenCount }
    public var isPartial: Bool { true }
    public var exchange: any ModelPartExchange { split.exchange }

    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        try band.trainStep(batch, hyper: hyper, random: &random)
    }

    /// The whole model's channels, alike on every part; the per-unit statistics of a band are left out. Collective.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        band.monitor(x, random: &random).filter { Band.isWholeModelChannel($0.key) }
    }

    /// Every part's hidden values, `(n, hidden)`, on every part (collective).
    public func transform(_ x: Tensor) -> Tensor { split.allHidden(band.transform(x)) }

    /// This part's tensors (a checkpoint holds the whole, streamed by ``withWhole(_:)``).
    public var parameters: [String: Tensor] { band.parameters }
    public var trainingState: [String: Tensor] { band.trainingState }
    /// This part's filters, `(visible, band)`.
    public var filters: Tensor { band.filters }
    public var denseLayer: DenseLayer { band.denseLayer }
    public func writesVelocities(plainSGD: Bool) -> Bool { band.writesVelocities(plainSGD: plainSGD) }

    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {
        try band.forEachTrainedBuffer(velocities: velocities, body)
    }

    /// The whole learner from every part's band: on every part, or on part 0 only (nil elsewhere). Collective.
    public func gathered(onEveryPart: Bool) -> Band? {
        let whole = split.gathered(band.splitTensors(), everyPart: onEveryPart)
        guard onEveryPart || exchange.part == 0 else { return nil }
        return Band(configurationJSON: configurationJSON, checkpointTensors: whole, adamSteps: band.adamSteps)
    }

    /// A resumed whole learner cut to this part.
    public func part(of whole: any UnsupervisedLearner) throws -> any UnsupervisedLearner {
        guard let whole = whole as? Band else { return whole }
        return try Self(whole, exchange: exchange)
    }

    /// Changes this part's band in place (its per-rank state: PCD's chains).
    package mutating func updateBand(_ body: (inout Band) -> Void) { body(&band) }
}

/// A learner split by hidden units, whatever its kind (``HiddenUnitSplit``).
public protocol HiddenUnitSplitLearner: PartitionedLearner {
    /// The whole learner, on every part (collective).
    func wholeOnEveryPart() -> (any UnsupervisedLearner)?
}

extension HiddenUnitSplit: HiddenUnitSplitLearner {
    public func wholeOnEveryPart() -> (any UnsupervisedLearner)? { gathered(onEveryPart: true) }
}

/// An autoencoder split across processes by hidden units: part `r` holds
/// the encoder columns, biases and decoder rows of its band. A step: each
/// part encodes its band, `h_r = f(x W_r + c_r)`, and its share of the
/// decoder's pre-activation, `h_r W'_r`; one sum over the parts (`(n, visible)`
/// values) gives every part `z = sum_r h_r W'_r + b`, hence the loss, its
/// delta and the visible bias's step, alike on every part; each then takes
/// its own band's gradients with no further exchange. The penalties
/// (sparsity, contractive) are per unit, so per band, and summed once.
public typealias SplitAutoencoder = HiddenUnitSplit<Autoencoder>

/// An RBM split across processes by hidden units: part `r` holds the weight
/// columns and hidden biases of its band. A Gibbs step: each part computes
/// its band's `P(h | v)` from the whole visible vector and samples it; its
/// share of the visible pre-activation, `h_r W_r^T`, is summed over the parts
/// (`(n, visible)` values, the one exchange of a step), so every part holds
/// the same `E[v | h]` and draws the same visible sample. The gradients of a
/// band's weights and hidden biases are its own; the visible bias's and
/// sigma's are alike on every part (score matching sums one scalar for sigma).
/// Hidden units are sampled at the whole layer's width from per-example
/// streams (as `random_per_example: true` draws), so each unit gets the
/// number it gets in one process.
public typealias SplitRBM = HiddenUnitSplit<RBM>
