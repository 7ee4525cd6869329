import StrataCore
import StrataData

/// Cutting an autoencoder into bands of hidden units and putting it back
/// together (``SplitAutoencoder``).
extension Autoencoder {
    /// An autoencoder of the hidden units `units` only: their encoder columns,
    /// biases, decoder rows, momentum and Adam moments; the visible bias whole.
    func keepingHiddenUnits(_ units: Range<Int>) -> Autoencoder {
        var c = configuration
        c.hiddenCount = units.count
        // The band's shapes are valid whenever the whole's are: the buffers are made by the initializer, then overwritten.
        var band = (try? Autoencoder(c)) ?? self
        func columns(_ t: Tensor) -> Tensor {
            let width = t.columns
            return Tensor(shape: [t.rows, units.count], unsafeUninitialized: { out in
                t.withUnsafeBufferPointer { v in
                    for r in 0 ..< t.rows { (out.baseAddress! + r * units.count).update(from: v.baseAddress! + r * width + units.lowerBound, count: units.count) }
                }
            })
        }
        func rows(_ t: Tensor) -> Tensor {
            t.rank == 1 ? Tensor(shape: [units.count], scalars: Array(t.scalars[units])) : t.rows(units)
        }
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
    func splitTensors() -> [String: (Tensor, Int?)] {
        func axis(_ name: String) -> Int? {
            if name.hasSuffix("visible_bias") { return nil }
            return name.hasSuffix("weights") && !name.hasSuffix("decoder_weights") ? 1 : 0
        }
        var all: [String: (Tensor, Int?)] = [:]
        for (name, t) in parameters { all[name] = (t, axis(name)) }
        for (name, t) in trainingState where name != "adam_steps" { all["training." + name] = (t, axis(name)) }
        return all
    }

    /// The whole autoencoder from its gathered tensors (``splitTensors()``'s
    /// names, made whole) and Adam's update count.
    init?(configuration: Configuration, wholeTensors: [String: Tensor], steps: Int) {
        var parameters: [String: Tensor] = [:], state: [String: Tensor] = [:]
        for (name, t) in wholeTensors {
            if name.hasPrefix("training.") { state[String(name.dropFirst("training.".count))] = t } else { parameters[name] = t }
        }
        if steps > 0 { state["adam_steps"] = Tensor(shape: [1], scalars: [Float(steps)]) }
        guard let whole = try? Autoencoder(configurationJSON: encodeJSON(configuration), parameters: parameters, trainingState: state) else { return nil }
        self = whole
    }
}
