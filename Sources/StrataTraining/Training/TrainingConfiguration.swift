import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// How the learning rate changes over epochs.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    /// The same rate throughout.
    case constant
    /// Linear decay from the base rate to `finalFraction` of it by epoch
    /// `saturateEpoch`, constant after (pylearn2's `LinearDecayOverEpoch`).
    case linearDecay(finalFraction: Float, saturateEpoch: Int)
    /// Multiplied by `factor` after each epoch, never below `minimum` (pylearn2's `ExponentialDecay`).
    case exponentialDecay(factor: Float, minimum: Float)
    /// pylearn2's `MonitorBasedLRAdjuster` on the training objective: shrink when
    /// it rose, grow slightly when it fell by less than 1%.
    case monitorBased(highTrigger: Float, shrink: Float, lowTrigger: Float, grow: Float, minimum: Float, maximum: Float)

    /// `MonitorBasedLRAdjuster()` with pylearn2's defaults.
    public static let monitorBasedDefaults = LearningRateSchedule.monitorBased(highTrigger: 1, shrink: 0.99, lowTrigger: 0.99, grow: 1.01, minimum: 1e-7, maximum: 1)
}

/// Stop when a channel stops improving (pylearn2's `MonitorBased` criterion):
/// an epoch improves when the channel falls below `(1 - proportionalDecrease)`
/// times the best so far; training stops after `patience` epochs without one.
public struct EarlyStopping: Codable, Equatable, Sendable {
    public var channel: String
    public var proportionalDecrease: Float
    public var patience: Int

    public init(channel: String = "train_objective", proportionalDecrease: Float = 0.01, patience: Int = 1) {
        (self.channel, self.proportionalDecrease, self.patience) = (channel, proportionalDecrease, patience)
    }
}

/// The settings of the training loop shared by every learner.
public struct TrainingConfiguration: FlatRecord, Equatable, Sendable, MinibatchSGDSettings {
    /// The minibatch-SGD settings shared with fine-tuning (read as this
    /// configuration's own: `batchSize`, `learningRate`, `optimizer`, ...):
    /// pretraining runs without momentum for at most 10 epochs unless told.
    public var sgd = MinibatchSGD(initialMomentum: 0, finalMomentum: 0, maxEpochs: 10)
    public var schedule: LearningRateSchedule = .constant
    /// The momentum ramp starts at this epoch (momentum before it: `initialMomentum`).
    public var momentumStartEpoch = 1
    /// `epochs: 0` keeps a layer at its initialization (random features).
    public static let allowsNoEpochs = true
    public var earlyStopping: EarlyStopping?
    /// Write the checkpoint every this many epochs (and always at the end).
    public var checkpointEvery = 1
    /// Cores a training step may split itself over (see ``StepHyperparameters/cores``).
    /// Not saved: the cores change how fast a run goes, never what it computes
    /// (``FixedParts``), so a run may resume on another number of them.
    public var cores = 1

    public init() {}

    /// The saved settings, written in one flat record with the shared ones
    /// (a key an older checkpoint lacks keeps its default); `cores` is not saved.
    public static var savedFields: [SavedField<TrainingConfiguration>] {
        [.flattened(\.sgd), .field("schedule", \.schedule), .field("momentumStartEpoch", \.momentumStartEpoch),
         .field("earlyStopping", \.earlyStopping), .field("checkpointEvery", \.checkpointEvery)]
    }

    public func validate() throws {
        try sgd.validate(allowsNoEpochs: Self.allowsNoEpochs)
        guard checkpointEvery >= 1 else { throw StrataError.invalidArgument(name: "checkpoint interval", reason: "must be at least 1 epoch") }
        guard cores >= 1 else { throw StrataError.invalidArgument(name: "cores", reason: "\(cores) must be at least 1") }
        guard !sgd.optimizer.isLBFGS else {
            throw StrataError.invalidArgument(name: "optimizer", reason: "lbfgs is for fine-tuning: contrastive divergence's and the denoising autoencoder's sampled steps are not gradients of one deterministic objective that a line search could test; pretrain with momentum, nesterov or adam")
        }
        if let stop = earlyStopping, stop.patience < 1 || stop.proportionalDecrease < 0 {
            throw StrataError.invalidArgument(name: "early stopping", reason: "patience must be at least 1 and the decrease not negative")
        }
    }

    /// The momentum ramp these settings describe.
    public var momentumRamp: MomentumRamp {
        MomentumRamp(initial: sgd.initialMomentum, final: sgd.finalMomentum, startEpoch: momentumStartEpoch, saturateEpoch: sgd.momentumSaturateEpoch)
    }

    /// The momentum in effect during `epoch` (1-based).
    public func momentum(atEpoch epoch: Int) -> Float { momentumRamp.momentum(atEpoch: epoch) }
}

/// The trainer's own state, saved in each checkpoint so a run resumes exactly.
/// Wall-clock time is not saved (the same run gives the same file; the
/// monitor log's `total_seconds` carries the time across a resume).
public struct TrainerState: Codable, Equatable, Sendable {
    /// Epochs completed.
    public var epoch = 0
    public var learningRate: Float
    public var examplesSeen = 0
    /// Training seconds so far (not saved).
    public var seconds = 0.0
    /// The random generator's state after `epoch` epochs.
    public var random: [UInt64]
    /// Early stopping: the best value and epochs left without improvement.
    public var best: Double?
    public var epochsWithoutImprovement = 0
    /// The training objective of the previous epoch (for the monitor-based schedule).
    public var previousObjective: Double?
    public var stopped = false
    /// The lowest epoch objective so far (for ``DivergenceGuard``).
    public var lowestObjective: Double?
    /// The first epoch objective (the scale ``DivergenceGuard`` measures an explosion against).
    public var firstObjective: Double?
    /// A run stopped inside an epoch: the examples of epoch `epoch + 1` done,
    /// and the random state at that epoch's start (its shuffling order);
    /// `random` is then the state after the last batch done.
    public var epochPosition: Int?
    public var epochRandom: [UInt64]?
    /// What the examples were (``Tensor/fingerprint`` of the training and
    /// validation data), so a resume on other data is refused.
    public var data: String?

    enum CodingKeys: String, CodingKey {
        case epoch, learningRate, examplesSeen, random, best, epochsWithoutImprovement, previousObjective, stopped, lowestObjective, firstObjective
        case epochPosition, epochRandom, data
    }
}
