import StrataCore
import StrataData

/// Cutting an RBM into bands of hidden units and putting it back together (``SplitRBM``).
extension RBM: HiddenUnitSplittable {
    /// The axis a checkpoint tensor's hidden units lie along (1: the columns
    /// of the weights and their state; 0: the hidden bias and its state; nil:
    /// the visible bias, sigma and the persistent chain, alike on every part).
    static func hiddenAxis(_ name: String) -> Int? {
        if name.hasSuffix("weights") { return 1 }
        return name.hasSuffix("hidden_bias") ? 0 : nil
    }

    /// An RBM of the hidden units `units` only: their weight columns, biases,
    /// momentum and Adam moments; the visible bias, sigma and chain whole.
    public func keepingHiddenUnits(_ units: Range<Int>) -> RBM {
        var c = configuration
        c.hiddenCount = units.count
        // The band's shapes are valid whenever the whole's are: the buffers are made by the initializer, then overwritten.
        var band = (try? RBM(c)) ?? self
        func keep(_ t: Tensor, _ name: String) -> Tensor { HiddenUnitBands.keeping(units, of: t, hiddenAxis: Self.hiddenAxis(name)) }
        (band.weights, band.velocityW) = (keep(weights, "weights"), keep(velocityW, "weights"))
        (band.hiddenBias, band.velocityC) = (keep(hiddenBias, "hidden_bias"), keep(velocityC, "hidden_bias"))
        (band.visibleBias, band.velocityB, band.sigma, band.velocitySigma, band.chain) = (visibleBias, velocityB, sigma, velocitySigma, chain)
        band.optimizerState.steps = optimizerState.steps
        for (name, s) in optimizerState.second { band.optimizerState.second[name] = keep(s, name) }
        return band
    }

    /// Every tensor a checkpoint saves, with the axis its hidden units lie along (`hiddenAxis`).
    public func splitTensors() -> [String: (Tensor, Int?)] { checkpointTensors(hiddenAxis: Self.hiddenAxis) }

    /// The visible pre-activation (and score matching's sigma gradient) is summed over the parts.
    public mutating func join(_ split: HiddenUnitBands) { bands = split }

    /// The whole model's channels (objective, reconstruction error, free
    /// energy, pseudo-likelihood, the visible bias, sigma), not the hidden units'.
    public static func isWholeModelChannel(_ name: String) -> Bool {
        !name.hasPrefix("h_") && !name.hasPrefix("bias_hid") && !name.hasPrefix("weights_norm")
    }

    public var adamSteps: Int { optimizerState.steps }
}
