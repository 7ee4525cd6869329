import StrataCore
import StrataData

// MARK: - Monitor channels and checkpoints of an RBM

extension RBM {
    /// Channels on `x` (evaluated in chunks of 2000 rows):
    /// `objective` (score matching cost, or reconstruction error under CD/PCD),
    /// `reconstruction_error` (one Gibbs step: h sampled, then E[v|h]; squared
    /// error summed over units, averaged over examples), `free_energy`,
    /// `pseudo_likelihood` (binary units; scikit-learn's one-flipped-unit
    /// estimate, V log sigmoid(F(v~) - F(v))), `h_{max,mean,min}` (per-unit mean
    /// activation), `bias_hid_*`, `bias_vis_*`, `weights_norm_*` (per-filter L2
    /// norms), and `sigma` for Gaussian units.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        var channels: [String: Double] = [:]
        var reconstruction = 0.0, freeEnergyTotal = 0.0, pseudoLikelihood = 0.0, objective = 0.0
        var hiddenSums = Tensor(zeros: [hiddenCount])
        var copy = self
        var wholeWidth = Tensor(zeros: [0, 0])
        var start = 0
        while start < x.rows {
            let chunk = x.rows(start ..< min(start + 2000, x.rows))
            let n = Double(chunk.rows)
            var h = transform(chunk)
            hiddenSums.add(h.sumOverRows())
            sampleHidden(&h, site: 0, examples: nil, random: &random, wholeHidden: &wholeWidth)
            var recon = Tensor(zeros: [0, 0])
            visibleMeans(h, into: &recon)
            let error = squaredError(chunk, recon)
            reconstruction += error * n
            let energies = freeEnergy(chunk)
            freeEnergyTotal += energies.sum()
            switch configuration.objective {
            case .scoreMatching(let level):
                let corruption = Tensor.normal(shape: chunk.shape, standardDeviation: level, using: &random)
                objective += copy.scoreMatchingGradient(chunk, corruption: corruption, level: level) * n
            default:
                objective += error * n
            }
            if configuration.visibleUnits == .binary {
                var flipped = chunk
                for i in 0 ..< chunk.rows {
                    let j = Int(random.next() % UInt64(visibleCount))
                    flipped[i, j] = 1 - flipped[i, j]
                }
                let flippedEnergies = freeEnergy(flipped)
                for i in 0 ..< chunk.rows {
                    let d = flippedEnergies.scalars[i] - energies.scalars[i]
                    // log sigmoid(d) = -softplus(-d)
                    pseudoLikelihood += Double(visibleCount) * Double(-fastSoftplus(-d))
                }
            }
            start += chunk.rows
        }
        let count = Double(max(x.rows, 1))
        channels["objective"] = objective / count
        channels["reconstruction_error"] = reconstruction / count
        channels["free_energy"] = freeEnergyTotal / count
        if configuration.visibleUnits == .binary { channels["pseudo_likelihood"] = pseudoLikelihood / count }
        statistics("h", hiddenSums * Float(1 / count), into: &channels)
        statistics("bias_hid", hiddenBias, into: &channels)
        statistics("bias_vis", visibleBias, into: &channels)
        var norms = weights
        norms.apply { $0 * $0 }
        var columnNorms = norms.sumOverRows()
        columnNorms.apply { $0.squareRoot() }
        statistics("weights_norm", columnNorms, into: &channels)
        if configuration.visibleUnits == .gaussian { channels["sigma"] = Double(sigma) }
        return channels
    }

    public var parameters: [String: Tensor] {
        denseParameters.merging(["sigma": Tensor(shape: [1], scalars: [sigma])]) { a, _ in a }
    }

    public var trainingState: [String: Tensor] {
        var saved = denseVelocities
        saved["velocity_sigma"] = Tensor(shape: [1], scalars: [velocitySigma])
        if let chain { saved["persistent_chain"] = chain }
        return optimizerState.trainingState(velocities: saved)
    }

    public var configurationJSON: String { encodeJSON(configuration) }

    public init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws {
        try self.init(decodeChecked(Configuration.self, configurationJSON, parameters: parameters, what: "rbm configuration"))
        try readDense(parameters, trainingState)
        sigma = try requireTensor(parameters, "sigma", shape: [1]).scalars[0]
        guard !trainingState.isEmpty else { return }
        velocitySigma = try requireTensor(trainingState, "velocity_sigma", shape: [1]).scalars[0]
        chain = trainingState["persistent_chain"]
        optimizerState = try OptimizerState(checkpoint: trainingState, shapes: DenseTensors.shapes(visible: visibleCount, hidden: hiddenCount))
    }
}

extension RBM {
    /// Only CD-k has a plain-SGD step that leaves the velocities alone; PCD-k and SMD always go through the optimizer's update.
    public func writesVelocities(plainSGD: Bool) -> Bool {
        if case .contrastiveDivergence = configuration.objective { return !plainSGD }
        return true
    }
}
