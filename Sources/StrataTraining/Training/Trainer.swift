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

    public init(configuration: TrainingConfiguration, folder: String) {
        self.configuration = configuration
        self.folder = folder
    }

    public var checkpointPath: String { folder + "/model.safetensors" }
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
        var state = TrainerState(learningRate: configuration.learningRate, random: RandomSource(seed: configuration.seed).state)
        state.data = identity
        var log = MonitorLog()
        var hasCheckpoint = false
        var savedAccumulators: Tensor?
        if resume {
            let saved = try LearnerCheckpoint.read(checkpointPath)
            guard let restored = saved.learner as? L, let savedState = saved.trainerState else {
                throw StrataError.badKey(path: checkpointPath, key: "__metadata__.trainer_state", reason: "not a resumable checkpoint of this learner")
            }
            // The learner must be the one asked for: a resumed run continues the saved model, so different settings would be silently ignored.
            guard restored.configurationJSON == learner.configurationJSON else {
                throw StrataError.badKey(path: checkpointPath, key: "__metadata__.learner_configuration",
                                         reason: "the saved \(L.kind) (\(restored.visibleCount)-\(restored.hiddenCount), \(restored.configurationJSON)) differs from the one asked for (\(learner.visibleCount)-\(learner.hiddenCount), \(learner.configurationJSON)); resume with the run's own settings")
            }
            if let saved = savedState.data, saved != identity {
                throw StrataError.badKey(path: checkpointPath, key: "__metadata__.trainer_state.data",
                                         reason: "the run was trained on other data (\(saved)), not \(identity); resume with the same input, limit, patches and preprocessing")
            }
            learner = restored
            if let world { learner.withRankState { $0.keepRankBand(in: world) } } // PCD's chains: this rank's band of the saved whole
            state = savedState
            savedAccumulators = saved.downpourAccumulators
            state.data = identity
            // A learning rate changed since the checkpoint (typically lowered after
            // a divergence) takes effect; an unchanged one resumes exactly.
            if let saved = saved.training, saved.learningRate != configuration.learningRate {
                state.learningRate = configuration.learningRate
            }
            if FileManager.default.fileExists(atPath: monitorPath) {
                log = MonitorLog(rows: try MonitorLog.read(monitorPath).rows.filter { ($0["epoch"] ?? 0) <= Double(state.epoch) })
            }
            state.seconds = log.rows.last?["total_seconds"] ?? 0
            hasCheckpoint = true
        }
        var random = RandomSource(state: state.random)
        // A fixed subset of the training data for the monitor.
        let monitorRows = EpochLoop.monitorRows(count: configuration.monitorExamples, of: data.rows, seed: configuration.seed)
        let monitorData = try data.gatherRows(monitorRows)
        let gatherer = try data.minibatches()
        let start = Date()
        let secondsBefore = state.seconds

        func monitor(epoch: Int, epochSeconds: Double) -> [String: Double] {
            var monitorRandom = RandomSource(seed: configuration.seed &+ UInt64(epoch) &* 0x9E37_79B9)
            var row: [String: Double] = ["epoch": Double(epoch), "examples_seen": Double(state.examplesSeen),
                                         "learning_rate": Double(state.learningRate),
                                         "momentum": Double(configuration.momentum(atEpoch: max(epoch, 1))),
                                         "training_seconds_this_epoch": epochSeconds,
                                         "total_seconds": state.seconds]
            for (k, v) in learner.monitor(monitorData, random: &monitorRandom) { row["train_" + k] = v }
            if let validation {
                for (k, v) in learner.monitor(validation, random: &monitorRandom) { row["valid_" + k] = v }
                if let a = row["valid_free_energy"], let b = row["train_free_energy"] { row["free_energy_gap"] = a - b }
            }
            return row
        }

        let divergence = DivergenceGuard(factor: configuration.divergenceFactor)
        // TensorBoard's view of the same channels: a new events file for this process's part of the run.
        var events = try TensorBoardEvents(folder: folder, rowsAlreadyLogged: log.rows.count)
        if log.rows.isEmpty {
            let row = monitor(epoch: 0, epochSeconds: 0)
            log.append(row)
            (state.lowestObjective, state.firstObjective) = divergence.recorded(row["train_objective"], lowest: state.lowestObjective, first: state.firstObjective)
            state.previousObjective = row["train_objective"]
            updateEarlyStopping(&state, row: row)
            try writeLog(log, &events)
        }
        var batch = Tensor(zeros: [min(configuration.batchSize, data.rows), data.columns])
        var parallel = try dataParallel(for: learner)
        var downpour = try downpourServer(&learner, accumulators: savedAccumulators)
        // Freeing the server is collective: only where every rank ends alike (success, an agreed stop). After an
        // error on one rank the others may be inside a collective, and the job ends through MPI_Abort instead.
        var endingTogether = false
        defer { if endingTogether { downpour?.free() } }
        var stopAfterEpoch = false
        let (rank, ranks) = (parallel?.world.rank ?? 0, parallel?.world.size ?? 1)
        let globalBatch = configuration.batchSize * ranks
        while state.epoch < configuration.maxEpochs && !state.stopped {
            let epoch = state.epoch + 1
            let epochStart = Date()
            // A run stopped inside this epoch goes on with the same order, after the examples it did.
            let (order, resumedPosition, epochRandom) = EpochLoop.start(examples: data, position: state.epochPosition,
                                                                        savedRandom: state.epochRandom, random: &random)
            (state.epochPosition, state.epochRandom) = (nil, nil)
            let hyper = StepHyperparameters(learningRate: state.learningRate, momentum: configuration.momentum(atEpoch: epoch),
                                            weightDecay: configuration.weightDecay, cores: configuration.cores, optimizer: configuration.optimizer)
            let bar = showProgress ? ProgressBar(total: data.rows, label: "epoch \(epoch)") : nil
            var objectiveSum = 0.0, batches = 0
            var done = resumedPosition
            do {
                try EpochLoop.forEachShare(of: gatherer, order: order, from: resumedPosition, batchSize: globalBatch,
                                           share: { DataParallel.share(of: $0, rank: rank, size: ranks) }, batch: &batch) { rows, batch, globalRows, firstExample in
                    var objective = 0.0, stop = false
                    if parallel != nil {
                        (objective, stop) = try parallelStep(&learner, batch, rows: rows.count, globalRows: globalRows, firstExample: firstExample,
                                                             hyper: hyper.at(epochPosition: done), random: &random, parallel: &parallel!)
                    } else if downpour != nil {
                        (objective, stop) = try downpourStep(&learner, batch, rows: rows.count, firstExample: firstExample,
                                                             hyper: hyper.at(epochPosition: done), random: &random, downpour: &downpour!)
                    } else {
                        var step = hyper.at(epochPosition: done)
                        if configuration.randomPerExample { step.firstExample = firstExample }
                        objective = try learner.trainStep(batch, hyper: step, random: &random)
                        stop = shouldStop()
                    }
                    guard !divergence.diverged(objective, lowest: state.lowestObjective, first: state.firstObjective) else {
                        throw StrataError.diverged(epoch: epoch, batch: batches + 1, lastCheckpoint: hasCheckpoint ? checkpointPath : nil,
                                                   reason: divergence.reason(objective, lowest: state.lowestObjective, first: state.firstObjective))
                    }
                    objectiveSum += objective
                    batches += 1
                    done += globalRows
                    state.examplesSeen += globalRows
                    if let bar {
                        bar.status = String(format: "objective %.4g", objectiveSum / Double(batches))
                        bar.update(done)
                    }
                    if stop { throw StopAfterBatch() }
                }
            } catch is StopAfterBatch {
                bar?.finish("stopped after \(done) examples")
                // Downpour: every replica stops at its next push; they meet and save the server's parameters.
                _ = try downpour?.synchronize(learningRate: hyper.learningRate, stop: true) { try learner.forEachTrainedBuffer(velocities: false, $0) }
                var stoppedState = state
                (stoppedState.epochPosition, stoppedState.epochRandom, stoppedState.random) = (done, epochRandom, random.state)
                try LearnerCheckpoint(learner: wholeJob(learner), preprocessing: preprocessing, training: configuration,
                                      trainerState: stoppedState, extra: extraMetadata, downpourAccumulators: downpour?.accumulators).write(to: checkpointPath)
                endingTogether = true
                throw StrataError.interrupted(signal: StopRequest.signal ?? SIGINT, checkpoint: checkpointPath, epoch: epoch, position: done)
            }
            if downpour != nil { // the replicas push, meet and fetch: the epoch ends on the server's parameters
                stopAfterEpoch = try downpour!.synchronize(learningRate: hyper.learningRate, stop: false) { try learner.forEachTrainedBuffer(velocities: false, $0) }
            }
            if let parallel { learner.withRankState { $0.combineEpoch(in: parallel.world) } } // K-means: the ranks' sums, counts and reservoirs
            learner.finishEpoch()
            if let parallel, try !parallel.ranksAgree(&learner) {
                throw StrataError.invalidArgument(name: "data-parallel training", reason: "the \(ranks) ranks no longer hold the same weights after epoch \(epoch); run them on the same data, settings and Strata build")
            }
            guard learner.parameters.values.allSatisfy(\.isFinite) else {
                throw StrataError.diverged(epoch: epoch, batch: batches, lastCheckpoint: hasCheckpoint ? checkpointPath : nil,
                                           reason: "a parameter became NaN or infinite")
            }
            let epochSeconds = Date().timeIntervalSince(epochStart)
            state.epoch = epoch
            state.seconds = secondsBefore + Date().timeIntervalSince(start)
            let row = monitor(epoch: epoch, epochSeconds: epochSeconds)
            bar?.finish(String(format: "objective %.5g", row["train_objective"] ?? .nan))
            if let objective = row["train_objective"], divergence.diverged(objective, lowest: state.lowestObjective, first: state.firstObjective) {
                throw StrataError.diverged(epoch: epoch, batch: batches, lastCheckpoint: hasCheckpoint ? checkpointPath : nil,
                                           reason: divergence.reason(objective, lowest: state.lowestObjective, first: state.firstObjective))
            }
            (state.lowestObjective, state.firstObjective) = divergence.recorded(row["train_objective"], lowest: state.lowestObjective, first: state.firstObjective)
            log.append(row)
            adjustLearningRate(&state, objective: row["train_objective"])
            updateEarlyStopping(&state, row: row)
            state.random = random.state
            if epoch % configuration.checkpointEvery == 0 || epoch == configuration.maxEpochs || state.stopped || stopAfterEpoch {
                try LearnerCheckpoint(learner: wholeJob(learner), preprocessing: preprocessing, training: configuration,
                                      trainerState: state, extra: extraMetadata, downpourAccumulators: downpour?.accumulators).write(to: checkpointPath)
                hasCheckpoint = true
            }
            try writeLog(log, &events)
            onEpoch?(epoch, row)
            if stopAfterEpoch && !state.stopped && epoch < configuration.maxEpochs {
                endingTogether = true
                throw StrataError.interrupted(signal: StopRequest.signal ?? SIGINT, checkpoint: checkpointPath, epoch: epoch + 1, position: 0)
            }
        }
        endingTogether = true
        if !hasCheckpoint {
            try LearnerCheckpoint(learner: wholeJob(learner), preprocessing: preprocessing, training: configuration, trainerState: state, extra: extraMetadata).write(to: checkpointPath)
        }
        return Report(epochs: state.epoch, stoppedEarly: state.stopped, log: log, seconds: state.seconds)
    }

    /// `monitor.jsonl`, and the new rows into the TensorBoard events file.
    private func writeLog(_ log: MonitorLog, _ events: inout TensorBoardEvents) throws {
        try log.write(to: monitorPath)
        try events.append(log)
    }

    private func adjustLearningRate(_ state: inout TrainerState, objective: Double?) {
        state.learningRate = configuration.schedule.rate(after: state.epoch, current: state.learningRate, base: configuration.learningRate,
                                                         objective: objective, previousObjective: state.previousObjective)
        state.previousObjective = objective
    }

    private func updateEarlyStopping(_ state: inout TrainerState, row: [String: Double]) {
        guard let rule = configuration.earlyStopping, let value = row[rule.channel] else { return }
        if rule.record(value, best: &state.best, epochsWithoutImprovement: &state.epochsWithoutImprovement).stop { state.stopped = true }
    }
}
