import StrataCore
import StrataData

/// An RBM split across processes by hidden units (model parallelism for a
/// fully connected layer, as DistBelief splits one): part `r` of `P` holds a
/// contiguous band of the hidden units with their weight columns, biases and
/// momentum, about `1/P` of the weights.
///
/// A Gibbs step: each part computes its band's `P(h | v)` from the whole
/// visible vector and samples it; its share of the visible pre-activation,
/// `h_r W_r^T`, is summed over the parts (`(n, visible)` values, the one
/// exchange of a step), so every part holds the same `E[v | h]` and draws
/// the same visible sample. The gradients of a band's weights and hidden
/// biases are its own; the visible bias's and sigma's are alike on every part
/// (score matching sums one scalar for sigma). Hidden units are sampled at
/// the whole layer's width from per-example streams (as
/// `random_per_example: true` draws), so each unit gets the number it gets
/// in one process: a split run matches one process with random numbers per
/// example to rounding (the sums are associated differently), not to the bit.
/// Checkpoints hold the whole ``RBM`` (gathered on part 0).
public struct SplitRBM: UnsupervisedLearner, PartitionedLearner {
    public static let kind = RBM.kind
    /// The whole RBM's configuration.
    public let configuration: RBM.Configuration
    /// This part's band: an RBM of the band's hidden units.
    public private(set) var band: RBM
    /// Every part's hidden units and the link to the other parts.
    public let split: HiddenUnitBands

    /// `whole` cut to `exchange`'s part. Throws when there are more parts than hidden units.
    public init(_ whole: RBM, exchange: any ModelPartExchange) throws {
        configuration = whole.configuration
        split = try HiddenUnitBands(hiddenCount: whole.hiddenCount, exchange: exchange)
        band = whole.keepingHiddenUnits(split.mine)
        (band.partExchange, band.hiddenBand, band.wholeHiddenCount) = (exchange, split.mine, whole.hiddenCount)
    }

    public var visibleCount: Int { configuration.visibleCount }
    public var hiddenCount: Int { configuration.hiddenCount }
    public var isPartial: Bool { true }

    public func transform(_ x: Tensor) -> Tensor { split.allHidden(band.transform(x)) }

    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        try band.trainStep(batch, hyper: hyper, random: &random)
    }

    /// The channels of the whole model, alike on every part (objective,
    /// reconstruction error, free energy, pseudo-likelihood, the visible
    /// bias, sigma); the per-unit statistics of a band are left out. Collective.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        band.monitor(x, random: &random).filter { !$0.key.hasPrefix("h_") && !$0.key.hasPrefix("bias_hid") && !$0.key.hasPrefix("weights_norm") }
    }

    public var parameters: [String: Tensor] { band.parameters }
    public var trainingState: [String: Tensor] { band.trainingState }
    public var configurationJSON: String { encodeJSON(configuration) }

    public init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws {
        throw StrataError.invalidArgument(name: "rbm", reason: "a checkpoint holds a whole RBM; a split one is cut from it by SplitRBM(_:exchange:)")
    }

    /// This part's weight columns, `(visible, band)`.
    public var filters: Tensor { band.filters }
    public var denseLayer: DenseLayer { band.denseLayer }

    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {
        try band.forEachTrainedBuffer(velocities: velocities, body)
    }

    public func writesVelocities(plainSGD: Bool) -> Bool { band.writesVelocities(plainSGD: plainSGD) }

    /// The whole RBM gathered on the first part (its bands are columns of the weights, so they are gathered, not streamed).
    public func withWhole(_ body: (WholeLearner) throws -> Void) throws {
        guard let whole = gathered(onEveryPart: false) else { return }
        try body(WholeLearner(whole))
    }

    public func part(of whole: any UnsupervisedLearner) throws -> any UnsupervisedLearner {
        guard let whole = whole as? RBM else { return whole }
        return try SplitRBM(whole, exchange: split.exchange)
    }

    /// The whole RBM from every part's band: on every part, or on part 0 only (nil elsewhere). Collective.
    public func gathered(onEveryPart: Bool) -> RBM? {
        let whole = split.gathered(band.splitTensors(), everyPart: onEveryPart)
        guard onEveryPart || split.exchange.part == 0 else { return nil }
        return RBM(configurationJSON: encodeJSON(configuration), checkpointTensors: whole, adamSteps: band.optimizerState.steps)
    }
}
