import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// One pretraining run as the epoch loop drives it (``EpochLoop/run(_:)``):
/// the learner's steps in one process, across ranks (``DataParallel``) or as
/// a Downpour replica; its monitor rows; its checkpoints (`model.safetensors`).
struct PretrainingRun<L: UnsupervisedLearner>: EpochTask {
    let trainer: Trainer
    var learner: L
    var state: TrainerState
    var random: RandomSource
    var log = MonitorLog()
    var events: TensorBoardEvents
    var parallel: DataParallel?
    var downpour: Downpour?
    var hasCheckpoint = false
    let plan: EpochPlan
    let monitorData: Tensor, validation: Tensor?
    let start = Date(), secondsBefore: Double
    /// The current epoch's step settings, and the last monitor row.
    var hyper = StepHyperparameters(learningRate: 0), lastRow: [String: Double] = [:]

    var configuration: TrainingConfiguration { trainer.configuration }
    var lastCheckpoint: String? { hasCheckpoint ? plan.checkpointPath : nil }

    /// A fresh run of `learner` on `data`, or with `resume` the run saved in the trainer's folder (checked to be this learner on this data).
    init(_ trainer: Trainer, learner: L, data: TrainingExamples, validation: Tensor?, identity: String, resume: Bool) throws {
        (self.trainer, self.learner, self.validation) = (trainer, learner, validation)
        let configuration = trainer.configuration
        state = TrainerState(learningRate: configuration.learningRate, random: RandomSource(seed: configuration.seed).state)
        state.data = identity
        var savedAccumulators: Tensor?
        if resume {
            let saved = try trainer.resumable(like: learner, identity: identity)
            self.learner = saved.learner
            if let world = trainer.world { self.learner.withRankState { $0.keepRankBand(in: world) } } // PCD's chains: this rank's band of the saved whole
            (state, savedAccumulators, log, hasCheckpoint) = (saved.state, saved.accumulators, saved.log, true)
        }
        random = RandomSource(state: state.random)
        secondsBefore = state.seconds
        // A fixed subset of the training data for the monitor.
        monitorData = try data.gatherRows(EpochLoop.monitorRows(count: configuration.monitorExamples, of: data.rows, seed: configuration.seed))
        // TensorBoard's view of the same channels: a new events file for this process's part of the run.
        events = try TensorBoardEvents(folder: trainer.folder, rowsAlreadyLogged: log.rows.count)
        parallel = try trainer.dataParallel(for: self.learner)
        downpour = try trainer.downpourServer(&self.learner, accumulators: savedAccumulators)
        // Synchronous ranks and Downpour's replicas alike each take their band of every global batch.
        let world = parallel?.world ?? downpour?.world
        let (rank, ranks) = (world?.rank ?? 0, world?.size ?? 1)
        let showProgress = trainer.showProgress
        plan = EpochPlan(maxEpochs: configuration.maxEpochs, examples: data, gatherer: try data.minibatches(), globalBatch: configuration.batchSize * ranks,
                         share: { DataParallel.share(of: $0, rank: rank, size: ranks) }, divergence: DivergenceGuard(factor: configuration.divergenceFactor),
                         checkpointPath: trainer.checkpointPath, checkpointEverySteps: configuration.checkpointEverySteps, bar: { showProgress ? ProgressBar(total: data.rows, label: "epoch \($0)") : nil },
                         status: { String(format: "objective %.4g", $0) })
    }

    /// The monitor's channels after `epoch`: the learner's on the training subset and the validation data.
    mutating func monitor(epoch: Int, epochSeconds: Double) -> [String: Double] {
        var monitorRandom = RandomSource(seed: configuration.seed &+ UInt64(epoch) &* 0x9E37_79B9)
        var row: [String: Double] = ["epoch": Double(epoch), "examples_seen": Double(state.examplesSeen), "learning_rate": Double(state.learningRate),
                                     "momentum": Double(configuration.momentum(atEpoch: max(epoch, 1))), "training_seconds_this_epoch": epochSeconds,
                                     "total_seconds": state.seconds]
        for (k, v) in learner.monitor(monitorData, random: &monitorRandom) { row["train_" + k] = v }
        if let validation {
            for (k, v) in learner.monitor(validation, random: &monitorRandom) { row["valid_" + k] = v }
            if let a = row["valid_free_energy"], let b = row["train_free_energy"] { row["free_energy_gap"] = a - b }
        }
        return row
    }

    /// The row of epoch 0, before any step, when the log is empty (a fresh run).
    mutating func recordStart() throws {
        guard log.rows.isEmpty else { return }
        let row = monitor(epoch: 0, epochSeconds: 0)
        log.append(row)
        (state.lowestObjective, state.firstObjective) = plan.divergence.recorded(row["train_objective"], lowest: state.lowestObjective, first: state.firstObjective)
        state.previousObjective = row["train_objective"]
        trainer.updateEarlyStopping(&state, row: row)
        try trainer.writeLog(log, &events)
    }

    func wholeEpoch(_ epoch: Int) throws -> WholeEpoch? { nil }

    mutating func startEpoch(_ epoch: Int) -> (lossSum: Double, batches: Int) {
        hyper = StepHyperparameters(learningRate: state.learningRate, momentum: configuration.momentum(atEpoch: epoch),
                                    weightDecay: configuration.weightDecay, cores: configuration.cores, optimizer: configuration.optimizer)
        return (0, 0)
    }

    mutating func step(_ rows: ArraySlice<Int>, _ batch: Tensor, globalRows: Int, firstExample: Int, position: Int) throws -> (objective: Double, stop: Bool) {
        let step = hyper.at(epochPosition: position)
        let result: (objective: Double, stop: Bool)
        if parallel != nil {
            result = try trainer.parallelStep(&learner, batch, rows: rows.count, globalRows: globalRows, firstExample: firstExample,
                                              hyper: step, random: &random, parallel: &parallel!)
        } else if downpour != nil {
            result = try trainer.downpourStep(&learner, batch, rows: rows.count, firstExample: firstExample, hyper: step, random: &random, downpour: &downpour!)
        } else {
            var local = step
            if configuration.randomPerExample { local.firstExample = firstExample }
            result = (try learner.trainStep(batch, hyper: local, random: &random), trainer.shouldStop())
        }
        state.examplesSeen += globalRows
        return result
    }

    mutating func meetServer(stop: Bool) throws -> Bool {
        guard var server = downpour else { return false }
        defer { downpour = server }
        return try server.synchronize(learningRate: hyper.learningRate, stop: stop) { try learner.forEachTrainedBuffer(velocities: false, $0) }
    }

    mutating func endSteps(_ epoch: Int, batches: Int) throws {
        if let parallel { learner.withRankState { $0.combineEpoch(in: parallel.world) } } // K-means: the ranks' sums, counts and reservoirs
        learner.finishEpoch()
        if let parallel, try !parallel.ranksAgree(&learner) {
            throw StrataError.invalidArgument(name: "data-parallel training", reason: "the \(parallel.world.size) ranks no longer hold the same weights after epoch \(epoch); run them on the same data, settings and Strata build")
        }
        guard learner.parameters.values.allSatisfy(\.isFinite) else {
            throw StrataError.diverged(epoch: epoch, batch: batches, lastCheckpoint: lastCheckpoint, reason: "a parameter became NaN or infinite")
        }
    }

    mutating func record(_ epoch: Int, objective: Double, seconds: Double, batches: Int) throws -> String {
        state.epoch = epoch
        state.seconds = secondsBefore + Date().timeIntervalSince(start)
        let row = monitor(epoch: epoch, epochSeconds: seconds)
        let divergence = plan.divergence
        if let objective = row["train_objective"], divergence.diverged(objective, lowest: state.lowestObjective, first: state.firstObjective) {
            throw StrataError.diverged(epoch: epoch, batch: batches, lastCheckpoint: lastCheckpoint,
                                       reason: divergence.reason(objective, lowest: state.lowestObjective, first: state.firstObjective))
        }
        (state.lowestObjective, state.firstObjective) = divergence.recorded(row["train_objective"], lowest: state.lowestObjective, first: state.firstObjective)
        log.append(row)
        lastRow = row
        trainer.adjustLearningRate(&state, objective: row["train_objective"])
        trainer.updateEarlyStopping(&state, row: row)
        return String(format: "objective %.5g", row["train_objective"] ?? .nan)
    }

    func checkpoints(after epoch: Int) -> Bool {
        epoch % configuration.checkpointEvery == 0 || epoch == configuration.maxEpochs || state.stopped
    }

    mutating func writeCheckpoint(_ state: TrainerState, stoppedEpoch: (lossSum: Double, batches: Int)?) throws {
        // A split learner's Downpour accumulators are each part's own: not kept (a resumed split run starts AdaGrad's anew).
        let isSplit = (learner as? any PartitionedLearner)?.isPartial ?? false
        try trainer.withWholeJob(learner) { whole in
            try LearnerCheckpoint(whole, preprocessing: trainer.preprocessing, training: configuration, trainerState: state,
                                  extra: trainer.extraMetadata, downpourAccumulators: isSplit ? nil : downpour?.accumulators).write(to: plan.checkpointPath)
        } // on a split model's other parts, nothing: the first part writes the checkpoint
        if stoppedEpoch == nil { hasCheckpoint = true }
    }

    mutating func writeLog() throws {
        try trainer.writeLog(log, &events)
        trainer.onEpoch?(state.epoch, lastRow)
    }

    mutating func freeWindows() {
        if let report = downpour?.report() ?? nil, trainer.showProgress { print(report) }
        downpour?.free()
    }
}
