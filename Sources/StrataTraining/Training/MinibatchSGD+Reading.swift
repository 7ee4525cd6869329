import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// The keys ``MinibatchSGD/read(from:allowsNoEpochs:)`` reads: YAML keys and, spelled with dashes, flags.
public let minibatchSGDKeys = ["batch_size", "learning_rate", "momentum", "final_momentum", "momentum_saturate", "weight_decay", "epochs", "divergence_factor", "optimizer", "random_per_example", "distributed", "checkpoint_every_steps", "server_shards", "max_staleness", "model_parallel"]

extension MinibatchSGD {
    /// Reads `batch_size`, `learning_rate`, `momentum` (the ramp's start),
    /// `final_momentum`, `momentum_saturate`, `weight_decay`, `epochs`, `divergence_factor`, `optimizer`,
    /// `random_per_example`, `distributed`, `server_shards`, `max_staleness`, `model_parallel` and `checkpoint_every_steps`.
    /// `allowsNoEpochs`: see ``MinibatchSGDSettings/allowsNoEpochs``.
    public mutating func read(from s: SettingSource, allowsNoEpochs: Bool) throws {
        if let v = try s.positive("batch_size", s.int) { batchSize = v }
        if let v = try s.positive("learning_rate", s.float) { learningRate = v }
        if let v = try s.float("momentum") { initialMomentum = v }
        if let v = try s.float("final_momentum") { finalMomentum = v }
        if let v = try s.positive("momentum_saturate", s.int) { momentumSaturateEpoch = v }
        if let v = try s.float("weight_decay") { weightDecay = v }
        if let v = try s.int("epochs") {
            // 0 is for pretraining only (a layer at its initialization: random features); fine-tuning needs one.
            guard v >= (allowsNoEpochs ? 0 : 1) else { throw s.failure("epochs", allowsNoEpochs ? "must not be negative, found \(v)" : "must be positive, found \(v)") }
            maxEpochs = v
        }
        if let v = try s.positive("divergence_factor", s.float) { divergenceFactor = Double(v) }
        if let v = try s.value("optimizer", Optimizer.init(parsing:)) { optimizer = v }
        if let v = try s.bool("random_per_example") { randomPerExample = v }
        if let v = try s.value("distributed", DistributedMode.init(parsing:)) { distributed = v }
        if let v = try s.positive("server_shards", s.int) { serverShards = v }
        if let v = try s.int("max_staleness") {
            guard v >= 0 else { throw s.failure("max_staleness", "must not be negative (0: pushes of any age count), found \(v)") }
            maxStaleness = v
        }
        if let v = try s.positive("model_parallel", s.int) { modelParallel = v }
        if distributed == .synchronous {
            try s.refuse(["server_shards", "max_staleness"], "sets Downpour's parameter server; synchronous training has none (distributed: async:FETCH:PUSH)")
        }
        if let v = try s.int("checkpoint_every_steps") {
            guard v >= 0 else { throw s.failure("checkpoint_every_steps", "must not be negative (0: only at epochs' ends), found \(v)") }
            checkpointEverySteps = v
        }
        if case .adam = optimizer {
            // Adam's own default rate (Kingma and Ba 2015), unless one is given.
            if !s.has("learning_rate") { learningRate = Optimizer.adamLearningRate }
            try s.refuse(["momentum", "final_momentum", "momentum_saturate", "momentum_start"],
                         "Adam keeps its own momentum (beta1 of adam:BETA1:BETA2:EPSILON); the momentum settings do not apply")
        }
        if optimizer.isLBFGS {
            try s.refuse(["learning_rate", "lr_schedule", "learning_rate_decay", "momentum", "final_momentum", "momentum_saturate", "momentum_start"],
                         "L-BFGS chooses each step's length by its line search; the learning-rate and momentum settings do not apply")
        }
    }
}

