import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

extension FineTuningState: EpochState {}

/// One fine-tuning run as the epoch loop drives it (``EpochLoop/run(_:)``):
/// the network's minibatch steps (augmented, distilled, across ranks or as a
/// Downpour replica) or L-BFGS's whole-batch iterations; the monitor with the
/// best epoch kept; its checkpoints (`finetune.safetensors`).
struct FineTuningRun: EpochTask {
    let tuner: FineTuner
    var network: SoftmaxNetwork, best: SoftmaxNetwork
    var state: FineTuningState
    var random: RandomSource
    var log = MonitorLog()
    var events: TensorBoardEvents
    var averaging: GradientAverage?, downpour: Downpour?, lbfgs: FineTuner.LBFGSRun?
    let plan: EpochPlan
    let labels: [Int], validationX: Tensor, validationLabels: [Int], monitorX: Tensor, monitorLabels: [Int]
    let start = Date(), secondsBefore: Double
    /// The epoch is chosen by the validation error: the shared early-stopping rule with no required decrease.
    let stopping: EarlyStopping
    /// The current epoch's step settings, and what an L-BFGS epoch adds to its row and line.
    var settings = SoftmaxNetwork.StepSettings(learningRate: 0), extra: [String: Double] = [:], summary = ""
    var updates = 0, stepSeconds = 0.0, targetReached: FineTuner.TargetReached?
    var batchLabels: [Int] = [], batchTargets = Tensor(zeros: [0, 0]), augmented = Tensor(zeros: [0, 0])

    var configuration: FineTuningConfiguration { tuner.configuration }
    var lastCheckpoint: String? { state.epoch > 0 ? plan.checkpointPath : nil }

    /// A fresh run of `network`, or with ``FineTuner/resume`` the run saved in the folder (checked to be this run on this data).
    init(_ tuner: FineTuner, network: SoftmaxNetwork, examples x: TrainingExamples, labels: [Int], validationX: Tensor, validationLabels: [Int],
         identity: String) throws {
        let configuration = tuner.configuration
        (self.tuner, self.labels, self.validationX, self.validationLabels) = (tuner, labels, validationX, validationLabels)
        (self.network, state) = (network, FineTuningState(learningRate: configuration.learningRate, random: RandomSource(seed: configuration.seed).state, data: identity))
        if configuration.batchNorm { self.network.enableBatchNormalization(epsilon: configuration.batchNormEpsilon, momentum: configuration.batchNormMomentum) }
        best = self.network
        var savedLBFGS: LBFGS?, savedAccumulators: Tensor?
        if tuner.resume {
            let saved = try tuner.resumable(like: self.network, identity: identity)
            (self.network, best, state, savedLBFGS, savedAccumulators, log) = (saved.network, saved.best, saved.state, saved.lbfgs, saved.accumulators, saved.log)
        }
        if let split = tuner.modelSplit { // each part keeps its band of the hidden units (a resumed run's cut from the whole)
            (self.network, best) = (try self.network.splitting(split), try best.splitting(split))
        }
        random = RandomSource(state: state.random)
        let monitorRows = EpochLoop.monitorRows(count: configuration.monitorExamples, of: x.rows, seed: configuration.seed)
        (monitorX, monitorLabels) = (try x.gatherRows(monitorRows), monitorRows.map { labels[$0] })
        secondsBefore = log.rows.last?["total_seconds"] ?? 0
        stopping = EarlyStopping(channel: "valid_y_misclass", proportionalDecrease: 0, patience: configuration.patience)
        // TensorBoard's view of the same channels: a new events file for this process's part of the run.
        events = try TensorBoardEvents(folder: tuner.folder, rowsAlreadyLogged: log.rows.count)
        averaging = try tuner.gradientAverage()
        downpour = try tuner.downpourServer(&self.network, accumulators: savedAccumulators)
        lbfgs = try tuner.lbfgsRun(&self.network, examples: x, labels: labels, saved: savedLBFGS)
        // Synchronous ranks and Downpour's replicas alike each take their band of every global batch.
        let world = averaging?.world ?? downpour?.world
        let (rank, ranks) = (world?.rank ?? 0, world?.size ?? 1)
        let (showProgress, withBar, label, plain) = (tuner.showProgress, lbfgs == nil, tuner.progressLabel, tuner.plainProgress)
        let lossName = tuner.softTargets == nil ? "nll" : "objective" // distillation's is not a negative log-likelihood
        plan = EpochPlan(maxEpochs: configuration.maxEpochs, examples: x, gatherer: try x.minibatches(), globalBatch: configuration.batchSize * ranks,
                         share: { DataParallel.share(of: $0, rank: rank, size: ranks) }, divergence: DivergenceGuard(factor: configuration.divergenceFactor),
                         checkpointPath: tuner.checkpointPath, checkpointEverySteps: configuration.checkpointEverySteps,
                         bar: { showProgress && withBar ? ProgressBar(total: x.rows, label: "\(label) \($0)", plain: plain) : nil },
                         status: { String(format: "\(lossName) %.4f", $0) })
    }

    /// Appends the monitor row of `epoch` (the network on the training
    /// sample and the validation set); returns the validation error.
    mutating func monitorRow(epoch: Int, objective: Double?, seconds: Double) -> Double {
        let train = network.evaluate(monitorX, labels: monitorLabels)
        let valid = network.evaluate(validationX, labels: validationLabels)
        var row: [String: Double] = extra.merging(["epoch": Double(epoch), "examples_seen": Double(epoch * plan.examples.rows),
                                                   "learning_rate": Double(state.learningRate), "training_seconds_this_epoch": seconds,
                                                   "total_seconds": secondsBefore + Date().timeIntervalSince(start),
                                                   "train_y_nll": train.crossEntropy, "train_y_misclass": train.errorRate,
                                                   "valid_y_nll": valid.crossEntropy, "valid_y_misclass": valid.errorRate]) { mine, _ in mine }
        if let objective { row["train_objective"] = objective }
        log.append(row)
        return valid.errorRate
    }

    /// The row of epoch 0, before any step, when the log is empty (a fresh run).
    mutating func recordStart() throws {
        guard log.rows.isEmpty else { return }
        _ = stopping.record(monitorRow(epoch: 0, objective: nil, seconds: 0), best: &state.bestError, epochsWithoutImprovement: &state.epochsWithoutImprovement)
        (state.lowestObjective, state.firstObjective) = plan.divergence.recorded(log.rows.last?["train_y_nll"], lowest: state.lowestObjective, first: state.firstObjective)
        try writeLog()
    }

    mutating func wholeEpoch(_ epoch: Int) throws -> WholeEpoch? {
        (extra, summary) = ([:], "")
        guard lbfgs != nil else { return nil }
        let done = try tuner.lbfgsEpoch(&network, run: &lbfgs!, epoch: epoch)
        // examples_seen counts every evaluation's pass, the first included.
        extra = ["examples_seen": Double(lbfgs!.solver.evaluations * plan.examples.rows), "lbfgs_evaluations": Double(lbfgs!.solver.evaluations),
                 "lbfgs_step_length": done.iteration.stepLength]
        summary = ", \(done.iteration.evaluations) evaluations" + (done.chunksByRank.count > 1 ? ", chunks by rank \(done.chunksByRank.map(String.init).joined(separator: "/"))" : "")
        if done.iteration.stalled { // a minimum to float precision: more iterations would not move
            state.stopped = true
            summary += "; no step along the search direction lowered the objective, so the run stops here"
        }
        return WholeEpoch(objective: done.iteration.objective, stopRequested: done.stopRequested)
    }

    mutating func startEpoch(_ epoch: Int) -> (lossSum: Double, batches: Int) {
        // A resumed epoch's mean loss goes on from the batches done before the stop.
        let sums = (state.epochLossSum ?? 0, state.epochBatches ?? 0)
        (state.epochLossSum, state.epochBatches) = (nil, nil)
        settings = SoftmaxNetwork.StepSettings(
            learningRate: state.learningRate, momentum: configuration.momentum(atEpoch: epoch), weightDecay: configuration.weightDecay,
            inputDropout: configuration.inputDropout, hiddenDropout: configuration.hiddenDropout, maxColumnNorm: configuration.maxColumnNorm,
            optimizer: configuration.optimizer)
        return sums
    }

    mutating func step(_ rows: ArraySlice<Int>, _ batch: Tensor, globalRows: Int, firstExample: Int, position: Int) throws -> (objective: Double, stop: Bool) {
        let stepStart = Date()
        batchLabels.removeAll(keepingCapacity: true)
        for row in rows { batchLabels.append(labels[row]) }
        var distillation: Distillation?
        if let softTargets = tuner.softTargets {
            if !rows.isEmpty { softTargets.gatherRows(rows, into: &batchTargets) }
            distillation = Distillation(softTargets: batchTargets, temperature: configuration.temperature, softWeight: configuration.softWeight)
        }
        // Per-example streams (across ranks): drawn before the augmentation, which flips and shifts by them too.
        let examples = tuner.drawsPerExample(averaging: averaging, downpour: downpour) ? ExampleStreams(firstExample: firstExample, random: &random) : nil
        var input = batch
        if configuration.augmentation.isActive, let source = tuner.augmentationSource, !rows.isEmpty {
            // The same rows as images: flipped and shifted, then preprocessed as the clean data was.
            source.images.gatherRows(rows, into: &augmented)
            configuration.augmentation.apply(&augmented, geometry: source.geometry, random: &random, examples: examples)
            try source.preprocessing.transform(&augmented)
            input = augmented
        }
        let (loss, stop) = try tuner.step(&network, input, labels: batchLabels[...], globalRows: globalRows, examples: examples, settings: settings,
                                          distillation: distillation, averaging: &averaging, downpour: &downpour, random: &random)
        stepSeconds += Date().timeIntervalSince(stepStart)
        updates += 1
        if let target = tuner.target, targetReached == nil, updates % target.every == 0,
           network.evaluate(validationX, labels: validationLabels).errorRate <= target.error {
            targetReached = FineTuner.TargetReached(updates: updates, seconds: stepSeconds)
        }
        return (loss, stop)
    }

    mutating func meetServer(stop: Bool) throws -> Bool {
        guard var server = downpour else {
            // Synchronous ranks (the loop meets them at every epoch's end and before every checkpoint): their batch
            // normalization's running statistics, each of its own share of the batches, averaged (the checkpoint is every rank's).
            if let averaging { network.averageRunningStatistics(over: averaging.world) }
            return false
        }
        defer { downpour = server }
        let asked = try server.synchronize(learningRate: state.learningRate, stop: stop) { network.forEachParameterBuffer($0) }
        network.averageRunningStatistics(over: server.world) // batch norm's running statistics, kept apart while training
        return asked
    }

    func endSteps(_ epoch: Int, batches: Int) throws {}

    mutating func record(_ epoch: Int, objective: Double, seconds: Double, batches: Int) throws -> String {
        let error = monitorRow(epoch: epoch, objective: objective, seconds: seconds)
        // L-BFGS's iterations count as its updates.
        if let reason = DivergenceGuard.chanceLevel(trainError: log.rows.last?["train_y_misclass"], trainLoss: log.rows.last?["train_y_nll"],
                                                    classes: network.classCount, updates: lbfgs == nil ? updates : epoch) {
            throw StrataError.diverged(epoch: epoch, batch: batches, lastCheckpoint: lastCheckpoint, reason: reason)
        }
        if lbfgs != nil, tuner.showProgress { print(String(format: "L-BFGS %d: objective %.6f, valid error %.2f%%", epoch, objective, 100 * error) + summary) }
        let line = FineTuner.epochLine(objective: objective, hardLabelLoss: tuner.softTargets == nil ? nil : log.rows.last?["train_y_nll"], validError: error)
        let outcome = stopping.record(error, best: &state.bestError, epochsWithoutImprovement: &state.epochsWithoutImprovement)
        if outcome.improved { (state.bestEpoch, best) = (epoch, network) }
        state.stopped = state.stopped || outcome.stop
        state.learningRate = configuration.schedule.rate(after: epoch, current: state.learningRate, base: configuration.learningRate,
                                                         objective: objective, previousObjective: state.previousObjective)
        state.previousObjective = objective
        (state.lowestObjective, state.firstObjective) = plan.divergence.recorded(objective, lowest: state.lowestObjective, first: state.firstObjective)
        state.epoch = epoch
        return line
    }

    func checkpoints(after epoch: Int) -> Bool { true }

    mutating func writeCheckpoint(_ state: FineTuningState, stoppedEpoch: (lossSum: Double, batches: Int)?) throws {
        var saved = state
        if let stoppedEpoch { (saved.epochLossSum, saved.epochBatches) = (stoppedEpoch.lossSum, stoppedEpoch.batches) }
        // A split network's file is written whole by its first part, one tensor gathered at a time; its Downpour
        // accumulators are each part's own and are not kept (a resumed split run starts AdaGrad's anew).
        try FineTuningCheckpoint(network: network, best: best, configuration: configuration, state: saved, lbfgs: stoppedEpoch == nil ? lbfgs?.solver : nil,
                                 downpourAccumulators: network.split == nil ? downpour?.accumulators : nil).write(to: plan.checkpointPath)
    }

    mutating func writeLog() throws {
        try log.write(to: tuner.monitorPath)
        try events.append(log)
    }

    mutating func freeWindows() {
        if let report = downpour?.report() ?? nil, tuner.showProgress { print(report) }
        downpour?.free()
        lbfgs?.objective.queue.free()
    }
}
