import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// The training loop shared by every learner: shuffled minibatch SGD with
/// momentum and its ramp, a learning-rate schedule, weight decay, monitor
/// channels on training and validation data each epoch, early stopping,
/// atomic checkpoints, exact resume, and a stop with a clear error on NaN.
///
/// A run lives in a folder: `model.safetensors` (the latest checkpoint) and
/// `monitor.jsonl` (one row of channels per epoch, epoch 0 before training).
public struct Trainer: Sendable {
    public var configuration: TrainingConfiguration
    /// The run folder.
    public var folder: String
    /// Preprocessing to save with the model (already applied to the data).
    public var preprocessing = PreprocessingPipeline()
    /// Extra metadata saved with the model.
    public var extraMetadata: [String: String] = [:]
    /// Draw a progress bar on standard error.
    public var showProgress = true
    /// Called after each epoch with the channels of that epoch.
    public var onEpoch: (@Sendable (_ epoch: Int, _ channels: [String: Double]) -> Void)?
    /// Asked after every minibatch: true stops the run with a checkpoint of
    /// that point (``StrataError/interrupted(signal:checkpoint:epoch:position:)``).
    /// By default, whether SIGINT or SIGTERM arrived (``StopRequest``).
    public var shouldStop: @Sendable () -> Bool = { StopRequest.isRequested }
    /// The ranks this run trains across (``DataParallel``): by default the
    /// job `mpirun` started this process in; nil or one rank: one process.
    public var world: MPIWorld? = MPIWorld.current
    /// The split of a model across processes this run's learner is a part
    /// of (setting it makes ``world`` its replicas); nil: the whole model on every rank.
    public var modelSplit: ModelParallel? {
        didSet { if let modelSplit { world = modelSplit.replicas } } // the replicas of this process's part train together
    }

    public init(configuration: TrainingConfiguration, folder: String) {
        self.configuration = configuration
        self.folder = folder
    }

    public var checkpointPath: String { folder + "/" + Self.checkpointFile }
    /// The checkpoint's name in a run folder.
    public static let checkpointFile = "model.safetensors"
    public var monitorPath: String { folder + "/monitor.jsonl" }

    /// The outcome of a run.
    public struct Report: Sendable {
        public var epochs: Int
        public var stoppedEarly: Bool
        public var log: MonitorLog
        public var seconds: Double
    }

    /// Trains `learner` on `data` (`(n, visible)`), monitoring `validation` when given.
    /// With `resume`, the learner, optimizer state and trainer state are taken
    /// from the run folder's checkpoint and training continues exactly where it
    /// stopped (a learning rate changed since then takes effect).
    @discardableResult
    public func train<L: UnsupervisedLearner>(_ learner: inout L, data: Tensor, validation: Tensor? = nil, resume: Bool = false) throws -> Report {
        try train(&learner, examples: .memory(data), validation: validation, resume: resume)
    }

    /// Trains `learner` on `examples`, in memory or read from disk block by
    /// block (``TrainingExamples``); otherwise as ``train(_:data:validation:resume:)``.
    @discardableResult
    public func train<L: UnsupervisedLearner>(_ learner: inout L, examples data: TrainingExamples, validation: Tensor? = nil, resume: Bool = false) throws -> Report {
        try configuration.validate()
        guard data.rows > 0 else { throw StrataError.invalidArgument(name: "training data", reason: "there are no examples") }
        guard data.columns == learner.visibleCount else {
            throw StrataError.shapeMismatch(context: "training data for a learner with \(learner.visibleCount) inputs", expected: [data.rows, learner.visibleCount], found: [data.rows, data.columns])
        }
        let identity = try data.validatedFingerprint(what: "training data", showProgress: showProgress) + (validation.map { "," + $0.fingerprint } ?? "")
        try world?.requireSameRun("pretraining", rows: data.rows, columns: data.columns, validationRows: validation?.rows ?? 0, identity: identity,
                                  settings: configuration.sharedAcrossRanks)
        var run = try PretrainingRun(self, learner: learner, data: data, validation: validation, identity: identity, resume: resume)
        defer { learner = run.learner }
        try run.recordStart()
        try EpochLoop.run(&run)
        if !run.hasCheckpoint { try run.writeCheckpoint(run.state, stoppedEpoch: nil) }
        return Report(epochs: run.state.epoch, stoppedEarly: run.state.stopped, log: run.log, seconds: run.state.seconds)
    }

    /// The run saved in the folder, checked to be a run of a learner like
    /// `learner` (the same kind and settings) on data of `identity`: its
    /// learner, state (with the learning rate now configured), Downpour
    /// accumulators and monitor rows up to its epoch.
    func resumable<L: UnsupervisedLearner>(like learner: L, identity: String) throws -> (learner: L, state: TrainerState, accumulators: Tensor?, log: MonitorLog) {
        let saved = try LearnerCheckpoint.read(checkpointPath)
        // A learner split across processes takes its part of the saved whole, whatever split wrote it.
        let partitioned = learner as? any PartitionedLearner
        let mine = try partitioned.map { $0.isPartial ? try $0.part(of: saved.learner) : saved.learner } ?? saved.learner
        guard let restored = mine as? L, var state = saved.trainerState else {
            throw StrataError.badKey(path: checkpointPath, key: "__metadata__.trainer_state", reason: "not a resumable checkpoint of this learner")
        }
        // The learner must be the one asked for: a resumed run continues the saved model, so different settings would be silently ignored.
        guard restored.configurationJSON == learner.configurationJSON else {
            throw StrataError.badKey(path: checkpointPath, key: "__metadata__.learner_configuration",
                                     reason: "the saved \(L.kind) (\(restored.visibleCount)-\(restored.hiddenCount), \(restored.configurationJSON)) differs from the one asked for (\(learner.visibleCount)-\(learner.hiddenCount), \(learner.configurationJSON)); resume with the run's own settings")
        }
        if let saved = state.data, saved != identity {
            throw StrataError.badKey(path: checkpointPath, key: "__metadata__.trainer_state.data",
                                     reason: "the run was trained on other data (\(saved)), not \(identity); resume with the same input, limit, patches and preprocessing")
        }
        state.data = identity
        // A learning rate changed since the checkpoint (typically lowered after
        // a divergence) takes effect; an unchanged one resumes exactly.
        if let saved = saved.training, saved.learningRate != configuration.learningRate { state.learningRate = configuration.learningRate }
        let log = try MonitorLog.resumed(from: monitorPath, throughEpoch: state.epoch)
        state.seconds = log.rows.last?["total_seconds"] ?? 0
        return (restored, state, saved.downpourAccumulators, log)
    }

    /// `monitor.jsonl`, and the new rows into the TensorBoard events file.
    func writeLog(_ log: MonitorLog, _ events: inout TensorBoardEvents) throws {
        try log.write(to: monitorPath)
        try events.append(log)
    }

    func adjustLearningRate(_ state: inout TrainerState, objective: Double?) {
        state.learningRate = configuration.schedule.rate(after: state.epoch, current: state.learningRate, base: configuration.learningRate,
                                                         objective: objective, previousObjective: state.previousObjective)
        state.previousObjective = objective
    }

    func updateEarlyStopping(_ state: inout TrainerState, row: [String: Double]) {
        guard let rule = configuration.earlyStopping, let value = row[rule.channel] else { return }
        if rule.record(value, best: &state.best, epochsWithoutImprovement: &state.epochsWithoutImprovement).stop { state.stopped = true }
    }
}
