import StrataCore
import StrataData

/// A learner split across processes by hidden units (``SplitAutoencoder``,
/// ``SplitRBM``): a learner of the same kind holding this part's band, which
/// does the math and the sums over the parts, and the bands. What such a
/// wrapper passes to its band is written once here.
public protocol HiddenUnitSplitLearner: UnsupervisedLearner, PartitionedLearner {
    associatedtype Band: UnsupervisedLearner
    /// This part's band: a learner of its hidden units.
    var band: Band { get }
    /// Every part's hidden units and the link to the other parts.
    var split: HiddenUnitBands { get }
    /// `whole` cut to `exchange`'s part. Throws when there are more parts than hidden units.
    init(_ whole: Band, exchange: any ModelPartExchange) throws
    /// The band's checkpoint tensors, with the axis its hidden units lie along, and Adam's update count.
    var bandTensors: [String: (Tensor, Int?)] { get }
    var bandAdamSteps: Int { get }
}

extension HiddenUnitSplitLearner {
    /// The whole learner's kind: a checkpoint holds the whole.
    public static var kind: String { Band.kind }
    public var visibleCount: Int { band.visibleCount }
    public var hiddenCount: Int { split.hiddenCount }
    public var isPartial: Bool { true }
    public var exchange: any ModelPartExchange { split.exchange }

    /// Every part's hidden values, `(n, hidden)`, on every part (collective).
    public func transform(_ x: Tensor) -> Tensor { split.allHidden(band.transform(x)) }

    /// This part's tensors (a checkpoint holds the whole, gathered by ``withWhole(_:)``).
    public var parameters: [String: Tensor] { band.parameters }
    public var trainingState: [String: Tensor] { band.trainingState }

    /// This part's filters, `(visible, band)`.
    public var filters: Tensor { band.filters }
    public var denseLayer: DenseLayer { band.denseLayer }
    public func writesVelocities(plainSGD: Bool) -> Bool { band.writesVelocities(plainSGD: plainSGD) }

    /// A split learner is made from a whole one, never read from a checkpoint.
    public init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws {
        throw StrataError.invalidArgument(name: Self.kind, reason: "a checkpoint holds a whole \(Self.kind); a split one is cut from it by \(Self.self)(_:exchange:)")
    }

    /// The whole learner from every part's band: on every part, or on part 0 only (nil elsewhere). Collective.
    public func gathered(onEveryPart: Bool) -> Band? {
        let whole = split.gathered(bandTensors, everyPart: onEveryPart)
        guard onEveryPart || exchange.part == 0 else { return nil }
        return Band(configurationJSON: configurationJSON, checkpointTensors: whole, adamSteps: bandAdamSteps)
    }

    /// A resumed whole learner cut to this part.
    public func part(of whole: any UnsupervisedLearner) throws -> any UnsupervisedLearner {
        guard let whole = whole as? Band else { return whole }
        return try Self(whole, exchange: exchange)
    }

    /// The whole learner gathered on the first part (a band is columns of the
    /// weights, not a run of the file, so it is gathered, not streamed).
    public func withWhole(_ body: (WholeLearner) throws -> Void) throws {
        guard let whole = gathered(onEveryPart: false) else { return }
        try body(WholeLearner(whole))
    }
}
