import StrataCore
import StrataData

// MARK: - Monitor channels and checkpoints of an autoencoder

extension Autoencoder {
    /// Channels on `x`: `objective` (the training cost, on a freshly corrupted
    /// copy), `reconstruction_error` (the loss on the clean input, no
    /// penalties), `h_{max,mean,min}` (per-unit mean activation), `bias_hid_*`,
    /// `bias_vis_*` and `weights_norm_*` (per-filter L2 norms).
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        var objective = 0.0, reconstruction = 0.0
        var hiddenSums = Tensor(zeros: [hiddenCount])
        var start = 0
        var corruptedChunk = Tensor(zeros: [0, 0])
        while start < x.rows {
            let chunk = x.rows(start ..< min(start + 2000, x.rows))
            let n = Double(chunk.rows)
            corrupt(chunk, into: &corruptedChunk, random: &random)
            objective += cost(clean: chunk, corrupted: corruptedChunk) * n
            var h = Tensor(zeros: [0, 0]), z = Tensor(zeros: [0, 0])
            encode(chunk, into: &h)
            hiddenSums.add(h.sumOverRows())
            decodePreactivation(h, into: &z)
            reconstruction += loss(z, target: chunk) * n
            start += chunk.rows
        }
        let count = Double(max(x.rows, 1))
        var channels = ["objective": objective / count, "reconstruction_error": reconstruction / count]
        statistics("h", hiddenSums * Float(1 / count), into: &channels)
        statistics("bias_hid", hiddenBias, into: &channels)
        statistics("bias_vis", visibleBias, into: &channels)
        var norms = columnSquaredNorms()
        norms.apply { $0.squareRoot() }
        statistics("weights_norm", norms, into: &channels)
        return channels
    }

    public var parameters: [String: Tensor] {
        var p = denseParameters
        if !configuration.tied { p["decoder_weights"] = decoderWeights }
        return p
    }

    public var trainingState: [String: Tensor] {
        var velocities = denseVelocities
        if !configuration.tied { velocities["velocity_decoder_weights"] = velocityD }
        return optimizerState.trainingState(velocities: velocities)
    }

    public var configurationJSON: String { encodeJSON(configuration) }

    public init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws {
        try self.init(decodeChecked(Configuration.self, configurationJSON, parameters: parameters, what: "autoencoder configuration"))
        try readDense(parameters, trainingState)
        let (v, h) = (visibleCount, hiddenCount)
        if !configuration.tied { decoderWeights = try requireTensor(parameters, "decoder_weights", shape: [h, v]) }
        guard !trainingState.isEmpty else { return }
        var shapes = DenseTensors.shapes(visible: v, hidden: h)
        if !configuration.tied {
            velocityD = try requireTensor(trainingState, "velocity_decoder_weights", shape: [h, v])
            shapes["decoder_weights"] = [h, v]
        }
        optimizerState = try OptimizerState(checkpoint: trainingState, shapes: shapes)
    }
}
