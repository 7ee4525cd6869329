import StrataCore
import StrataData

/// Cutting an autoencoder into bands of hidden units and putting it back
/// together (``SplitAutoencoder``).
extension Autoencoder: HiddenUnitSplittable {
    /// An autoencoder of the hidden units `units` only: their encoder columns,
    /// biases, decoder rows, momentum and Adam moments; the visible bias whole.
    public func keepingHiddenUnits(_ units: Range<Int>) -> Autoencoder {
        var c = configuration
        c.hiddenCount = units.count
        // The band's shapes are valid whenever the whole's are: the buffers are made by the initializer, then overwritten.
        var band = (try? Autoencoder(c)) ?? self
        func columns(_ t: Tensor) -> Tensor { HiddenUnitBands.keeping(units, of: t, hiddenAxis: 1) }
        func rows(_ t: Tensor) -> Tensor { HiddenUnitBands.keeping(units, of: t, hiddenAxis: 0) }
        (band.weights, band.velocityW, band.hiddenBias, band.velocityC) = (columns(weights), columns(velocityW), rows(hiddenBias), rows(velocityC))
        (band.visibleBias, band.velocityB) = (visibleBias, velocityB)
        if !configuration.tied { (band.decoderWeights, band.velocityD) = (rows(decoderWeights), rows(velocityD)) }
        band.optimizerState.steps = optimizerState.steps
        for (name, s) in optimizerState.second {
            band.optimizerState.second[name] = name == "weights" ? columns(s) : name == "visible_bias" ? s : rows(s)
        }
        return band
    }

    /// Every tensor a checkpoint saves, with the axis its hidden units lie
    /// along (0: rows, 1: columns; nil: the visible bias and its state, alike on every part).
    public func splitTensors() -> [String: (Tensor, Int?)] {
        func axis(_ name: String) -> Int? {
            if name.hasSuffix("visible_bias") { return nil }
            return name.hasSuffix("weights") && !name.hasSuffix("decoder_weights") ? 1 : 0
        }
        return checkpointTensors(hiddenAxis: axis)
    }

    /// The decoder's pre-activation is summed over the parts.
    public mutating func join(_ split: HiddenUnitBands) { partExchange = split.exchange }

    /// The cost's channels; the per-unit statistics are a band's.
    public static func isWholeModelChannel(_ name: String) -> Bool { ["objective", "reconstruction_error"].contains(name) }

    public var adamSteps: Int { optimizerState.steps }
}
