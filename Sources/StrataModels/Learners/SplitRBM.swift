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
public struct SplitRBM: HiddenUnitSplitLearner {
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
        band.bands = split
    }

    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        try band.trainStep(batch, hyper: hyper, random: &random)
    }

    /// The channels of the whole model, alike on every part (objective,
    /// reconstruction error, free energy, pseudo-likelihood, the visible
    /// bias, sigma); the per-unit statistics of a band are left out. Collective.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        band.monitor(x, random: &random).filter { !$0.key.hasPrefix("h_") && !$0.key.hasPrefix("bias_hid") && !$0.key.hasPrefix("weights_norm") }
    }

    public var configurationJSON: String { encodeJSON(configuration) }

    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {
        try band.forEachTrainedBuffer(velocities: velocities, body)
    }

    public var bandTensors: [String: (Tensor, Int?)] { band.splitTensors() }
    public var bandAdamSteps: Int { band.optimizerState.steps }
}
