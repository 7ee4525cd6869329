import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// The minibatch-SGD settings pretraining (``TrainingConfiguration``) and
/// fine-tuning (``FineTuningConfiguration``) share: declared, read
/// (``read(from:allowsNoEpochs:)``, under the keys ``minibatchSGDKeys``),
/// decoded and checked once. The two loops differ only in the defaults of
/// the momentum ramp and the epoch limit, which each passes to ``init(initialMomentum:finalMomentum:maxEpochs:)``.
public struct MinibatchSGD: SavedFields, Equatable, Sendable {
    /// Examples per minibatch.
    public var batchSize = 100
    public var learningRate: Float = 0.1
    /// Momentum ramps linearly from `initialMomentum` to `finalMomentum`
    /// (reached at epoch `momentumSaturateEpoch`), as pylearn2's `MomentumAdjustor`.
    public var initialMomentum: Float
    public var finalMomentum: Float
    public var momentumSaturateEpoch = 10
    /// L2 decay on weight matrices.
    public var weightDecay: Float = 0
    /// The most epochs to train.
    public var maxEpochs: Int
    /// Training examples (a fixed seeded subset) the monitor evaluates each epoch.
    public var monitorExamples = 10_000
    /// The seed of initialization, shuffling and sampling.
    public var seed: UInt64 = 1
    /// An objective that rises more than this many times its lowest value
    /// (see ``DivergenceGuard``) stops the run as diverged.
    public var divergenceFactor = 1000.0
    /// How each gradient becomes an update: SGD with momentum (the default), Nesterov, Adam or L-BFGS (``Optimizer``).
    public var optimizer: Optimizer = .momentum
    /// Random numbers drawn per example (``ExampleStreams``) rather than per
    /// part of the batch: what training across N MPI ranks always does, so a
    /// single process with batch N·b reproduces such a run.
    public var randomPerExample = false
    /// How the ranks of an `mpirun` job combine their work (``DistributedMode``).
    public var distributed = DistributedMode.synchronous
    /// Besides each epoch's checkpoint, one every this many steps inside an
    /// epoch (0: none), so that a run restarted after a lost process
    /// (`strata launch`) redoes at most this many steps. Not saved: how often
    /// a run checkpoints changes what a crash costs, never what it computes.
    public var checkpointEverySteps = 0
    /// Downpour's parameter server split over this many ranks (``Downpour``; not saved).
    public var serverShards = 1
    /// Downpour: a push computed on parameters more than this many server
    /// updates old is dropped and the replica refetches (0: any age; not saved).
    public var maxStaleness = 0
    /// The model split over this many processes of each replica by hidden
    /// units (``SplitAutoencoder``, ``SplitRBM``, a network's ``NetworkSplit``).
    /// Not saved: a split run's checkpoint is the one process's, and resumes
    /// on any number of parts.
    public var modelParallel = 1

    public init(initialMomentum: Float, finalMomentum: Float, maxEpochs: Int) {
        (self.initialMomentum, self.finalMomentum, self.maxEpochs) = (initialMomentum, finalMomentum, maxEpochs)
    }

    /// The saved settings; how a run is spread over processes is not saved.
    public static var savedFields: [SavedField<MinibatchSGD>] {
        [.field("batchSize", \.batchSize), .field("learningRate", \.learningRate), .field("initialMomentum", \.initialMomentum),
         .field("finalMomentum", \.finalMomentum), .field("momentumSaturateEpoch", \.momentumSaturateEpoch), .field("weightDecay", \.weightDecay),
         .field("maxEpochs", \.maxEpochs), .field("monitorExamples", \.monitorExamples), .field("seed", \.seed),
         .field("divergenceFactor", \.divergenceFactor), .field("optimizer", \.optimizer),
         .field("randomPerExample", \.randomPerExample), .field("distributed", \.distributed)]
    }

    /// Refuses values no run can use; `allowsNoEpochs`: see ``MinibatchSGDSettings/allowsNoEpochs``.
    public func validate(allowsNoEpochs: Bool) throws {
        guard batchSize >= 1 else { throw StrataError.invalidArgument(name: "batch size", reason: "\(batchSize) must be at least 1") }
        guard learningRate > 0, learningRate.isFinite else { throw StrataError.invalidArgument(name: "learning rate", reason: "\(learningRate) must be positive") }
        guard maxEpochs >= (allowsNoEpochs ? 0 : 1) else {
            throw StrataError.invalidArgument(name: "epochs", reason: "\(maxEpochs) must be \(allowsNoEpochs ? "0 or more" : "at least 1")")
        }
        guard (0 ..< 1).contains(initialMomentum), (0 ..< 1).contains(finalMomentum) else {
            throw StrataError.invalidArgument(name: "momentum", reason: "must lie in [0, 1)")
        }
        guard weightDecay >= 0, weightDecay.isFinite else { throw StrataError.invalidArgument(name: "weight decay", reason: "must be finite and not negative") }
        guard monitorExamples >= 0 else { throw StrataError.invalidArgument(name: "monitor examples", reason: "\(monitorExamples) must not be negative") }
        guard divergenceFactor > 0, !divergenceFactor.isNaN else { throw StrataError.invalidArgument(name: "divergence factor", reason: "\(divergenceFactor) must be positive") }
    }
}

extension MinibatchSGD {
    /// The log's line of how the ranks of `world` train together (replicas,
    /// each of ``modelParallel`` parts, and how they combine); nil for one
    /// replica training synchronously, or no job.
    public func ranksLine(in world: MPIWorld?) -> String? {
        guard let world else { return nil }
        let replicas = world.size / max(modelParallel, 1)
        guard replicas > 1 || distributed != .synchronous else { return nil }
        return "ranks: " + distributed.describe(ranks: replicas, shards: serverShards, maxStaleness: maxStaleness)
    }
}

/// A loop's settings that hold a ``MinibatchSGD``: its settings read as the
/// loop's own (`configuration.batchSize`), through dynamic member lookup.
@dynamicMemberLookup
public protocol MinibatchSGDSettings {
    /// The shared minibatch-SGD settings.
    var sgd: MinibatchSGD { get set }
    /// Whether `epochs: 0` is allowed: a pretrained layer may be kept at its
    /// initialization (random features, the baseline of Jarrett et al. 2009
    /// and Saxe et al. 2011); a network to fine-tune needs at least one epoch.
    static var allowsNoEpochs: Bool { get }
}

extension MinibatchSGDSettings {
    /// A shared setting read and written as the configuration's own: `configuration.batchSize` is `configuration.sgd.batchSize`.
    public subscript<T>(dynamicMember setting: WritableKeyPath<MinibatchSGD, T>) -> T {
        get { sgd[keyPath: setting] }
        set { sgd[keyPath: setting] = newValue }
    }

    /// Reads the shared settings (``minibatchSGDKeys``) onto ``sgd``.
    public mutating func readMinibatchSGD(from s: SettingSource) throws {
        try sgd.read(from: s, allowsNoEpochs: Self.allowsNoEpochs)
    }
}
