import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Fine-tuning's own state, saved after every epoch (and when a run is
/// stopped inside one) so that `--resume` continues exactly.
public struct FineTuningState: Codable, Equatable, Sendable {
    /// Epochs completed.
    public var epoch = 0
    public var learningRate: Float
    /// The random generator's state after the last batch done.
    public var random: [UInt64]
    public var bestError: Double?
    public var bestEpoch = 0
    public var epochsWithoutImprovement = 0
    public var previousObjective: Double?
    public var lowestObjective: Double?
    /// The first epoch's mean loss (the scale ``DivergenceGuard`` measures an explosion against).
    public var firstObjective: Double?
    public var stopped = false
    /// A run stopped inside epoch `epoch + 1`: its examples done and the random state at its start.
    public var epochPosition: Int?
    public var epochRandom: [UInt64]?
    /// ...and the sum of its minibatch losses and their count so far, so that
    /// the resumed epoch's mean loss covers the whole epoch, as without the stop.
    public var epochLossSum: Double?
    public var epochBatches: Int?
    /// What the examples were (``Tensor/fingerprint``), so a resume on other data is refused.
    public var data: String
}

/// The file a fine-tuning run keeps in its folder (`finetune.safetensors`):
/// the network's current weights (`layer<i>.weights`, `layer<i>.bias`), their
/// momentum (`velocity.layer<i>.*`), Adam's state (`adam.layer<i>.*`,
/// `adam_steps`, when Adam is used), batch normalization (`bn<i>.gamma`, `.beta`,
/// `.running_mean`, `.running_variance`, their momentum `velocity.bn<i>.*`),
/// the best epoch's weights (`best.layer<i>.*`, `best.bn<i>.*`), L-BFGS's
/// memory when it is the optimizer (`lbfgs.gradient`, `lbfgs.s<i>`, `lbfgs.y<i>`),
/// Downpour's AdaGrad accumulators in an asynchronous run (`downpour.adagrad`),
/// a local front's encoders (`stage<i>.encoder`, with `velocity.` and `best.`),
/// and in the metadata the configuration, the activations and the state.
struct FineTuningCheckpoint {
    var network: SoftmaxNetwork
    var best: SoftmaxNetwork
    var configuration: FineTuningConfiguration
    var state: FineTuningState
    /// The L-BFGS solver of a run with `optimizer: lbfgs` (nil before its first evaluation, or with another optimizer).
    var lbfgs: LBFGS? = nil
    /// Downpour's AdaGrad accumulators of an asynchronous run (`downpour.adagrad`).
    var downpourAccumulators: Tensor? = nil

    static let format = "strata-finetune-1"

    func write(to path: String) throws {
        var file = SafeTensors()
        let layers = network.hidden + [network.output]
        for (i, layer) in layers.enumerated() {
            file.tensors["layer\(i).weights"] = layer.weights
            file.tensors["layer\(i).bias"] = layer.bias
            file.tensors["velocity.layer\(i).weights"] = network.velocities[i].weights
            file.tensors["velocity.layer\(i).bias"] = network.velocities[i].bias
        }
        for (name, tensor) in network.optimizerState.tensors { file.tensors[name] = tensor }
        for (l, normalization) in network.normalizations.enumerated() {
            guard let normalization else { continue }
            for (name, tensor) in Self.tensors(of: normalization) { file.tensors["bn\(l).\(name)"] = tensor }
            file.tensors["velocity.bn\(l).gamma"] = network.normalizationVelocities[l].gamma
            file.tensors["velocity.bn\(l).beta"] = network.normalizationVelocities[l].beta
        }
        for (l, normalization) in best.normalizations.enumerated() {
            guard let normalization else { continue }
            for (name, tensor) in Self.tensors(of: normalization) { file.tensors["best.bn\(l).\(name)"] = tensor }
        }
        for (i, layer) in (best.hidden + [best.output]).enumerated() {
            file.tensors["best.layer\(i).weights"] = layer.weights
            file.tensors["best.layer\(i).bias"] = layer.bias
        }
        if let front = network.front, let bestFront = best.front {
            for i in front.stages.indices {
                let name = LocalFront.parameterName(i)
                (file.tensors[name], file.tensors["velocity." + name]) = (front.stages[i].encoder, front.velocities[i])
                file.tensors["best." + name] = bestFront.stages[i].encoder
            }
            file.metadata["front"] = front.description
        }
        file.metadata["format"] = Self.format
        file.metadata["activations"] = encodeJSON(layers.map(\.activation))
        file.metadata["configuration"] = encodeJSON(configuration)
        file.metadata["state"] = encodeJSON(state)
        lbfgs?.store(in: &file)
        if let downpourAccumulators { file.tensors["downpour.adagrad"] = downpourAccumulators }
        // A split network's file is the whole network's, written by its first part as the parts send their bands (or rows of its stages).
        if let front = network.front, front.isSplit { return try front.writeWhole(file, to: path) }
        guard let split = network.split else { return try file.write(to: path) }
        try split.writeWhole(file, layers: network.hidden.count, to: path)
    }

    /// Reads the checkpoint at `path` into the shape of `network` (same sizes
    /// and activations, else an error listing the difference).
    static func read(_ path: String, like network: SoftmaxNetwork) throws -> FineTuningCheckpoint {
        let file = try SafeTensors.read(path)
        guard file.metadata["format"] == format else {
            throw StrataError.badKey(path: path, key: "__metadata__.format", reason: "not a fine-tuning checkpoint (found \(file.metadata["format"] ?? "none"))")
        }
        let configuration: FineTuningConfiguration, state: FineTuningState, activations: [Activation]
        do {
            configuration = try decodeJSON(FineTuningConfiguration.self, file.metadata["configuration"] ?? "", what: "configuration")
            try SavedState.checked("configuration") { try configuration.validate() }
            state = try decodeJSON(FineTuningState.self, file.metadata["state"] ?? "", what: "state").checked("state")
            activations = try decodeJSON([Activation].self, file.metadata["activations"] ?? "", what: "activations")
        } catch StrataError.badKey(_, let key, let reason) {
            throw StrataError.badKey(path: path, key: "__metadata__." + key, reason: reason)
        }
        let expected = network.hidden + [network.output]
        guard file.metadata["front"] == network.front?.description else {
            throw StrataError.badKey(path: path, key: "__metadata__.front",
                                     reason: "the saved network's local stages (\(file.metadata["front"] ?? "none")) differ from this run's (\(network.front?.description ?? "none"))")
        }
        guard activations == expected.map(\.activation) else {
            throw StrataError.badKey(path: path, key: "__metadata__.activations",
                                     reason: "the saved network's activations \(activations.map(\.rawValue)) differ from this run's \(expected.map(\.activation.rawValue))")
        }
        func layers(_ prefix: String) throws -> [DenseLayer] {
            try expected.enumerated().map { i, layer in
                let w = try file.tensor("\(prefix)layer\(i).weights", in: path), b = try file.tensor("\(prefix)layer\(i).bias", in: path)
                guard w.shape == layer.weights.shape, b.shape == layer.bias.shape else {
                    throw StrataError.shapeMismatch(context: "\(path): layer \(i + 1) of the saved network (this run's network is \(network.sizes))",
                                                    expected: layer.weights.shape, found: w.shape)
                }
                return DenseLayer(weights: w, bias: b, activation: layer.activation, pieces: layer.pieces)
            }
        }
        var restored = network, best = network
        let current = try layers(""), velocities = try layers("velocity."), kept = try layers("best.")
        (restored.hidden, restored.output) = (Array(current.dropLast()), current.last!)
        restored.velocities = velocities.map { ($0.weights, $0.bias) }
        var shapes: [String: [Int]] = [:]
        for (i, layer) in expected.enumerated() { (shapes["layer\(i).weights"], shapes["layer\(i).bias"]) = (layer.weights.shape, layer.bias.shape) }
        for (l, normalization) in network.normalizations.enumerated() {
            guard var normalization else { continue }
            func read(_ name: String) throws -> Tensor {
                let t = try file.tensor(name, in: path)
                guard t.count == normalization.units else {
                    throw StrataError.shapeMismatch(context: "\(path): \(name)", expected: [normalization.units], found: t.shape)
                }
                return t.reshaped([normalization.units])
            }
            func restore(_ prefix: String) throws -> BatchNormalization {
                (normalization.gamma, normalization.beta) = (try read(prefix + "gamma"), try read(prefix + "beta"))
                (normalization.runningMean, normalization.runningVariance) = (try read(prefix + "running_mean"), try read(prefix + "running_variance"))
                return normalization
            }
            restored.normalizations[l] = try restore("bn\(l).")
            best.normalizations[l] = try restore("best.bn\(l).")
            restored.normalizationVelocities[l] = (try read("velocity.bn\(l).gamma"), try read("velocity.bn\(l).beta"))
            (shapes["bn\(l).gamma"], shapes["bn\(l).beta"]) = ([normalization.units], [normalization.units])
        }
        for (i, stage) in (network.front?.stages ?? []).enumerated() {
            let name = LocalFront.parameterName(i)
            try restored.front!.setEncoder(i, file.tensor(name, in: path), what: path)
            try best.front!.setEncoder(i, file.tensor("best." + name, in: path), what: path)
            let velocity = try file.tensor("velocity." + name, in: path)
            guard velocity.shape == stage.encoder.shape else {
                throw StrataError.shapeMismatch(context: "\(path): velocity.\(name)", expected: stage.encoder.shape, found: velocity.shape)
            }
            restored.front!.velocities[i] = velocity
            shapes[name] = stage.encoder.shape
        }
        do { restored.optimizerState = try OptimizerState(checkpoint: file.tensors, shapes: shapes) } catch StrataError.badKey(_, let key, let reason) {
            throw StrataError.badKey(path: path, key: key, reason: reason)
        }
        (best.hidden, best.output) = (Array(kept.dropLast()), kept.last!)
        let lbfgs = try LBFGS(stored: file, path: path, parameters: (restored.hidden + [restored.output]).reduce(0) { $0 + $1.weights.count + $1.bias.count })
        return FineTuningCheckpoint(network: restored, best: best, configuration: configuration, state: state, lbfgs: lbfgs,
                                    downpourAccumulators: file.tensors["downpour.adagrad"])
    }

    /// A normalization's saved tensors by name.
    static func tensors(of normalization: BatchNormalization) -> [String: Tensor] {
        ["gamma": normalization.gamma, "beta": normalization.beta,
         "running_mean": normalization.runningMean, "running_variance": normalization.runningVariance]
    }

    /// The settings of `asked` that differ from the saved run's, as `name: saved -> asked`
    /// (the number of epochs may grow: a finished run can be continued).
    func differences(from asked: FineTuningConfiguration) -> [String] {
        var saved = configuration
        (saved.maxEpochs, saved.checkpointEverySteps) = (asked.maxEpochs, asked.checkpointEverySteps)
        (saved.serverShards, saved.maxStaleness, saved.modelParallel) = (asked.serverShards, asked.maxStaleness, asked.modelParallel)
        guard saved != asked else { return [] }
        func settings(_ c: FineTuningConfiguration) -> [Mirror.Child] {
            Array(Mirror(reflecting: c.sgd).children) + Mirror(reflecting: c).children.filter { $0.label != "sgd" }
        }
        return zip(settings(saved), settings(asked)).compactMap { x, y in
            let (s, t) = (String(describing: x.value), String(describing: y.value))
            return s == t ? nil : "\(x.label ?? "?"): \(s) -> \(t)"
        }
    }
}
