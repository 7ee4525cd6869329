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
public struct SplitAutoencoder: HiddenUnitSplitLearner {
    /// The whole autoencoder's configuration.
    public let configuration: Autoencoder.Configuration
    /// This part's band: an autoencoder of the band's hidden units.
    public private(set) var band: Autoencoder
    /// Every part's hidden units and the link to the other parts.
    public let split: HiddenUnitBands

    /// `whole` cut to `exchange`'s part. Throws when there are more parts than hidden units.
    public init(_ whole: Autoencoder, exchange: any ModelPartExchange) throws {
        configuration = whole.configuration
        split = try HiddenUnitBands(hiddenCount: whole.hiddenCount, exchange: exchange)
        band = whole.keepingHiddenUnits(split.mine)
        band.partExchange = exchange
    }

    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        try band.trainStep(batch, hyper: hyper, random: &random)
    }

    /// The whole cost's channels (`objective`, `reconstruction_error`), alike on every part; collective.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        band.monitor(x, random: &random).filter { ["objective", "reconstruction_error"].contains($0.key) }
    }

    public var configurationJSON: String { encodeJSON(configuration) }

    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {
        try band.forEachTrainedBuffer(velocities: velocities, body)
    }

    public var bandTensors: [String: (Tensor, Int?)] { band.splitTensors() }
    public var bandAdamSteps: Int { band.optimizerState.steps }
}
