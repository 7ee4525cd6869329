import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Trains a ``SoftmaxNetwork`` by minibatch backpropagation, monitoring the
/// validation error each epoch (`monitor.jsonl` in the run folder) and keeping
/// the weights of the best epoch; stops early after `patience` epochs without
/// a better validation error, and with a clear error on NaN or an exploding
/// loss. After every epoch (and when a stop is requested, after the batch in
/// progress) `finetune.safetensors` records the run, from which `resume`
/// continues exactly.
public struct FineTuner: Sendable {
    public var configuration: FineTuningConfiguration
    /// The run folder (gets `monitor.jsonl` and `finetune.safetensors`).
    public var folder: String
    public var showProgress = true
    /// The progress line's label before the epoch number.
    public var progressLabel = "fine-tune"
    /// Plain progress lines instead of a bar redrawn in place, even on a
    /// terminal: runs side by side share it (``SoftmaxFineTuning/runSideBySide(_:loaded:compute:showProgress:log:)``).
    public var plainProgress = false
    /// Continue the run saved in the folder (same network, settings and data).
    public var resume = false
    /// Asked after every minibatch; true stops with a checkpoint of that point.
    public var shouldStop: @Sendable () -> Bool = { StopRequest.isRequested }
    /// The ranks this run trains across (``GradientAverage``): by default the
    /// job `mpirun` started this process in; nil or one rank: one process.
    public var world: MPIWorld? = MPIWorld.current

    public init(configuration: FineTuningConfiguration, folder: String) {
        (self.configuration, self.folder) = (configuration, folder)
    }

    public var monitorPath: String { folder + "/monitor.jsonl" }
    /// With a teacher: its probabilities at the configured temperature for each
    /// training example, `(examples, classes)`, row for row with the data
    /// ``train(_:x:labels:validationX:validationLabels:)`` is given (``Distillation/softTargets(teacherScores:areProbabilities:temperature:)``).
    public var softTargets: Tensor?
    /// For ``FineTuningConfiguration/augmentation``: the training images before
    /// preprocessing, row for row with the training data, their geometry, and
    /// the preprocessing each augmented batch then gets.
    public var augmentationSource: (images: Tensor, geometry: ImageGeometry, preprocessing: PreprocessingPipeline)?
    public var checkpointPath: String { folder + "/finetune.safetensors" }
    /// Time to accuracy (as DAWNBench measures it): every `every` updates the
    /// validation error is measured, untimed, until it first falls to `error`;
    /// the report gives the updates and training seconds it took. Fresh runs only.
    public var target: (error: Double, every: Int)?

    /// When the run first reached its ``target``: minibatch updates and training
    /// seconds (the steps only, without the measurements).
    public struct TargetReached: Sendable, Equatable {
        public var updates: Int
        public var seconds: Double
    }

    /// The outcome of a fine-tuning run: epochs, the best epoch and its validation error, time and monitor log.
    public struct Report: Sendable {
        public var epochs: Int
        public var bestEpoch: Int
        public var bestValidationError: Double
        public var seconds: Double
        public var log: MonitorLog
        /// With a ``FineTuner/target``: when it was reached (nil: not within the run).
        public var targetReached: TargetReached?
    }

    /// Trains `network` on `x` (`(n, inputs)`) with `labels`, choosing the
    /// epoch by the error on (`validationX`, `validationLabels`); `network`
    /// ends with the best epoch's weights.
    @discardableResult
    public func train(_ network: inout SoftmaxNetwork, x: Tensor, labels: [Int],
                      validationX: Tensor, validationLabels: [Int]) throws -> Report {
        try train(&network, examples: .memory(x), labels: labels, validationX: validationX, validationLabels: validationLabels)
    }

    /// ``train(_:x:labels:validationX:validationLabels:)`` on training examples
    /// in memory or read from disk block by block (``TrainingExamples``).
    @discardableResult
    public func train(_ network: inout SoftmaxNetwork, examples x: TrainingExamples, labels: [Int],
                      validationX: Tensor, validationLabels: [Int]) throws -> Report {
        try configuration.validate()
        try checkLabels(labels, rows: x.rows, classes: network.classCount, what: "training labels")
        try checkLabels(validationLabels, rows: validationX.rows, classes: network.classCount, what: "validation labels")
        for (shape, what) in [([x.rows, x.columns], "training data"), (validationX.shape, "validation data")] where shape[1] != network.inputCount {
            throw StrataError.shapeMismatch(context: "\(what) for a \(network.sizes) network", expected: [shape[0], network.inputCount], found: shape)
        }
        if let target {
            guard target.every >= 1, (0 ... 1).contains(target.error), !resume else {
                throw StrataError.invalidArgument(name: "target", reason: "the validation error to reach lies in [0, 1], is measured every 1 or more updates, and only in a fresh run")
            }
            guard !configuration.optimizer.isLBFGS else {
                throw StrataError.invalidArgument(name: "target", reason: "is measured in minibatch updates, which lbfgs does not make; its monitor gives the validation error after every iteration")
            }
        }
        guard x.rows > 0, validationX.rows > 0 else { throw StrataError.invalidArgument(name: "fine-tuning data", reason: "training and validation sets must not be empty") }
        try AtomicFile.makeFolder(folder)
        if let softTargets, softTargets.shape != [x.rows, network.classCount] {
            throw StrataError.shapeMismatch(context: "the teacher's soft targets for \(x.rows) examples of \(network.classCount) classes",
                                            expected: [x.rows, network.classCount], found: softTargets.shape)
        }
        if configuration.augmentation.isActive {
            guard let source = augmentationSource, source.images.rows == x.rows, source.images.columns == source.geometry.size else {
                throw StrataError.invalidArgument(name: "augmentation", reason: "needs the training images with their geometry (flips and translations act on images, not on a matrix)")
            }
        }
        let dataIdentity = ([try x.validatedFingerprint(what: "training data", showProgress: showProgress), validationX.fingerprint, Tensor.fingerprint(labels: labels)] + (softTargets.map { [$0.fingerprint] } ?? []))
            .joined(separator: ",")
        var state = FineTuningState(learningRate: configuration.learningRate, random: RandomSource(seed: configuration.seed).state, data: dataIdentity)
        if configuration.batchNorm { network.enableBatchNormalization(epsilon: configuration.batchNormEpsilon, momentum: configuration.batchNormMomentum) }
        var best = network
        var log = MonitorLog()
        var savedLBFGS: LBFGS?, savedAccumulators: Tensor?
        if resume {
            let saved = try FineTuningCheckpoint.read(checkpointPath, like: network)
            let changed = saved.differences(from: configuration)
            guard changed.isEmpty else {
                throw StrataError.badKey(path: checkpointPath, key: "__metadata__.configuration",
                                         reason: "resume with the run's own settings; these differ: \(changed.joined(separator: "; "))")
            }
            guard saved.state.data == dataIdentity else {
                throw StrataError.badKey(path: checkpointPath, key: "__metadata__.state.data",
                                         reason: "the run was trained on other data (\(saved.state.data)), not \(dataIdentity); resume with the same images, limit and validation")
            }
            (network, best, state, savedLBFGS, savedAccumulators) = (saved.network, saved.best, saved.state, saved.lbfgs, saved.downpourAccumulators)
            if FileManager.default.fileExists(atPath: monitorPath) {
                log = MonitorLog(rows: try MonitorLog.read(monitorPath).rows.filter { ($0["epoch"] ?? 0) <= Double(state.epoch) })
            }
        }
        var random = RandomSource(state: state.random)
        let monitorRows = EpochLoop.monitorRows(count: configuration.monitorExamples, of: x.rows, seed: configuration.seed)
        let monitorX = try x.gatherRows(monitorRows), monitorLabels = monitorRows.map { labels[$0] }
        let start = Date()
        let secondsBefore = log.rows.last?["total_seconds"] ?? 0

        func record(epoch: Int, objective: Double?, learningRate: Float, seconds: Double, extra: [String: Double] = [:]) -> Double {
            let train = network.evaluate(monitorX, labels: monitorLabels)
            let valid = network.evaluate(validationX, labels: validationLabels)
            var row: [String: Double] = extra.merging(["epoch": Double(epoch), "examples_seen": Double(epoch * x.rows),
                                         "learning_rate": Double(learningRate), "training_seconds_this_epoch": seconds,
                                         "total_seconds": secondsBefore + Date().timeIntervalSince(start),
                                         "train_y_nll": train.crossEntropy, "train_y_misclass": train.errorRate,
                                         "valid_y_nll": valid.crossEntropy, "valid_y_misclass": valid.errorRate]) { mine, _ in mine }
            if let objective { row["train_objective"] = objective }
            log.append(row)
            return valid.errorRate
        }

        // The epoch is chosen by the validation error: the shared early-stopping
        // rule with no required decrease, and the weights of its best epoch kept.
        let stopping = EarlyStopping(channel: "valid_y_misclass", proportionalDecrease: 0, patience: configuration.patience)
        let divergence = DivergenceGuard(factor: configuration.divergenceFactor)
        // TensorBoard's view of the same channels: a new events file for this process's part of the run.
        var events = try TensorBoardEvents(folder: folder, rowsAlreadyLogged: log.rows.count)
        if log.rows.isEmpty {
            _ = stopping.record(record(epoch: 0, objective: nil, learningRate: configuration.learningRate, seconds: 0),
                                best: &state.bestError, epochsWithoutImprovement: &state.epochsWithoutImprovement)
            (state.lowestObjective, state.firstObjective) = divergence.recorded(log.rows.last?["train_y_nll"], lowest: state.lowestObjective, first: state.firstObjective)
            try log.write(to: monitorPath)
            try events.append(log)
        }
        let lossName = softTargets == nil ? "nll" : "objective" // distillation's is not a negative log-likelihood
        var updates = 0, stepSeconds = 0.0, targetReached: TargetReached?
        let gatherer = try x.minibatches()
        var averaging = try gradientAverage()
        var downpour = try downpourServer(&network, accumulators: savedAccumulators)
        var lbfgs = try lbfgsRun(&network, examples: x, labels: labels, saved: savedLBFGS)
        // Freeing the windows is collective: only where every rank ends alike (success, an agreed stop). After an
        // error on one rank the others may be inside a collective, and the job ends through MPI_Abort instead.
        var endingTogether = false
        defer { if endingTogether { downpour?.free(); lbfgs?.objective.queue.free() } }
        var stopAfterEpoch = false
        let (rank, ranks) = (averaging?.world.rank ?? 0, averaging?.world.size ?? 1)
        var batch = Tensor(zeros: [0, 0]), batchLabels: [Int] = [], batchTargets = Tensor(zeros: [0, 0]), augmented = Tensor(zeros: [0, 0])
        while state.epoch < configuration.maxEpochs && !state.stopped {
            let epoch = state.epoch + 1
            let epochStart = Date()
            let objective: Double
            var extra: [String: Double] = [:], summary = ""
            let bar = showProgress && lbfgs == nil ? ProgressBar(total: x.rows, label: "\(progressLabel) \(epoch)", plain: plainProgress) : nil
            if lbfgs != nil {
                let done = try lbfgsEpoch(&network, run: &lbfgs!, epoch: epoch)
                objective = done.iteration.objective
                stopAfterEpoch = done.stopRequested
                // examples_seen counts every evaluation's pass, the first included.
                extra = ["examples_seen": Double(lbfgs!.solver.evaluations * x.rows), "lbfgs_evaluations": Double(lbfgs!.solver.evaluations),
                         "lbfgs_step_length": done.iteration.stepLength]
                summary = ", \(done.iteration.evaluations) evaluations" + (done.chunksByRank.count > 1 ? ", chunks by rank \(done.chunksByRank.map(String.init).joined(separator: "/"))" : "")
                if done.iteration.stalled { // a minimum to float precision: more iterations would not move
                    state.stopped = true
                    summary += "; no step along the search direction lowered the objective, so the run stops here"
                }
            } else {
                let (order, resumedPosition, epochRandom) = EpochLoop.start(examples: x, position: state.epochPosition,
                                                                            savedRandom: state.epochRandom, random: &random)
                // A resumed epoch's mean loss goes on from the batches done before the stop.
                var lossSum = state.epochLossSum ?? 0, batches = state.epochBatches ?? 0, done = resumedPosition
                (state.epochPosition, state.epochRandom, state.epochLossSum, state.epochBatches) = (nil, nil, nil, nil)
                let settings = SoftmaxNetwork.StepSettings(
                    learningRate: state.learningRate, momentum: configuration.momentum(atEpoch: epoch), weightDecay: configuration.weightDecay,
                    inputDropout: configuration.inputDropout, hiddenDropout: configuration.hiddenDropout, maxColumnNorm: configuration.maxColumnNorm,
                    optimizer: configuration.optimizer)
                do {
                    try EpochLoop.forEachShare(of: gatherer, order: order, from: resumedPosition, batchSize: configuration.batchSize * ranks,
                                               share: { DataParallel.share(of: $0, rank: rank, size: ranks) }, batch: &batch) { rows, batch, globalRows, firstExample in
                        let stepStart = Date()
                        batchLabels.removeAll(keepingCapacity: true)
                        for row in rows { batchLabels.append(labels[row]) }
                        var distillation: Distillation?
                        if let softTargets {
                            if !rows.isEmpty { softTargets.gatherRows(rows, into: &batchTargets) }
                            distillation = Distillation(softTargets: batchTargets, temperature: configuration.temperature, softWeight: configuration.softWeight)
                        }
                        // Per-example streams (across ranks): drawn before the augmentation, which flips and shifts by them too.
                        let examples = drawsPerExample(averaging: averaging, downpour: downpour)
                            ? ExampleStreams(firstExample: firstExample, random: &random) : nil
                        var input = batch
                        if configuration.augmentation.isActive, let source = augmentationSource, !rows.isEmpty {
                            // The same rows as images: flipped and shifted, then preprocessed as the clean data was.
                            source.images.gatherRows(rows, into: &augmented)
                            configuration.augmentation.apply(&augmented, geometry: source.geometry, random: &random, examples: examples)
                            try source.preprocessing.transform(&augmented)
                            input = augmented
                        }
                        let (loss, stop) = try step(&network, input, labels: batchLabels[...], globalRows: globalRows, examples: examples,
                                                    settings: settings, distillation: distillation, averaging: &averaging, downpour: &downpour,
                                                    random: &random)
                        guard !divergence.diverged(loss, lowest: state.lowestObjective, first: state.firstObjective) else {
                            throw StrataError.diverged(epoch: epoch, batch: batches + 1, lastCheckpoint: state.epoch > 0 ? checkpointPath : nil,
                                                       reason: divergence.reason(loss, lowest: state.lowestObjective, first: state.firstObjective))
                        }
                        stepSeconds += Date().timeIntervalSince(stepStart)
                        updates += 1
                        if let target, targetReached == nil, updates % target.every == 0,
                           network.evaluate(validationX, labels: validationLabels).errorRate <= target.error {
                            targetReached = TargetReached(updates: updates, seconds: stepSeconds)
                        }
                        lossSum += loss
                        batches += 1
                        done += globalRows
                        if let bar { bar.status = String(format: "\(lossName) %.4f", lossSum / Double(batches)); bar.update(done) }
                        if stop { throw StopAfterBatch() }
                    }
                } catch is StopAfterBatch {
                    bar?.finish("stopped after \(done) examples")
                    // Downpour: every replica stops at its next push; they meet and save the server's parameters.
                    _ = try downpour?.synchronize(learningRate: state.learningRate, stop: true) { network.forEachParameterBuffer($0) }
                    if let world = downpour?.world { network.averageRunningStatistics(over: world) }
                    var stoppedState = state
                    (stoppedState.epochPosition, stoppedState.epochRandom, stoppedState.random) = (done, epochRandom, random.state)
                    (stoppedState.epochLossSum, stoppedState.epochBatches) = (lossSum, batches)
                    try FineTuningCheckpoint(network: network, best: best, configuration: configuration, state: stoppedState,
                                             downpourAccumulators: downpour?.accumulators).write(to: checkpointPath)
                    endingTogether = true
                    throw StrataError.interrupted(signal: StopRequest.signal ?? SIGINT, checkpoint: checkpointPath, epoch: epoch, position: done)
                }
                if downpour != nil { // the replicas push, meet and fetch: the epoch ends on the server's parameters
                    stopAfterEpoch = try downpour!.synchronize(learningRate: state.learningRate, stop: false) { network.forEachParameterBuffer($0) }
                    network.averageRunningStatistics(over: downpour!.world) // batch norm's running statistics, kept apart while training
                }
                objective = lossSum / Double(max(batches, 1))
            }
            let error = record(epoch: epoch, objective: objective, learningRate: state.learningRate,
                               seconds: Date().timeIntervalSince(epochStart), extra: extra)
            if let reason = DivergenceGuard.chanceLevel(trainError: log.rows.last?["train_y_misclass"], trainLoss: log.rows.last?["train_y_nll"],
                                                        classes: network.classCount) {
                bar?.finish("diverged")
                throw StrataError.diverged(epoch: epoch, batch: (x.rows + configuration.batchSize - 1) / configuration.batchSize,
                                           lastCheckpoint: state.epoch > 0 ? checkpointPath : nil, reason: reason)
            }
            if lbfgs != nil {
                if showProgress { print(String(format: "L-BFGS %d: objective %.6f, valid error %.2f%%", epoch, objective, 100 * error) + summary) }
            } else {
                bar?.finish(Self.epochLine(objective: objective, hardLabelLoss: softTargets == nil ? nil : log.rows.last?["train_y_nll"], validError: error))
            }
            let outcome = stopping.record(error, best: &state.bestError, epochsWithoutImprovement: &state.epochsWithoutImprovement)
            if outcome.improved { (state.bestEpoch, best) = (epoch, network) }
            state.stopped = state.stopped || outcome.stop
            state.learningRate = configuration.schedule.rate(after: epoch, current: state.learningRate, base: configuration.learningRate,
                                                             objective: objective, previousObjective: state.previousObjective)
            state.previousObjective = objective
            (state.lowestObjective, state.firstObjective) = divergence.recorded(objective, lowest: state.lowestObjective, first: state.firstObjective)
            state.epoch = epoch
            state.random = random.state
            try FineTuningCheckpoint(network: network, best: best, configuration: configuration, state: state, lbfgs: lbfgs?.solver,
                                     downpourAccumulators: downpour?.accumulators).write(to: checkpointPath)
            try log.write(to: monitorPath)
            try events.append(log)
            if stopAfterEpoch && !state.stopped && epoch < configuration.maxEpochs {
                endingTogether = true
                throw StrataError.interrupted(signal: StopRequest.signal ?? SIGINT, checkpoint: checkpointPath, epoch: epoch + 1, position: 0)
            }
        }
        endingTogether = true
        network = best
        return Report(epochs: state.epoch, bestEpoch: state.bestEpoch, bestValidationError: state.bestError ?? 1,
                      seconds: secondsBefore + Date().timeIntervalSince(start), log: log, targetReached: targetReached)
    }
}

extension FineTuner {
    /// An epoch's closing line: the objective and the validation error; when
    /// distilling, whose objective mixes in the T²-scaled soft term, the
    /// hard-label loss (on the monitor sample) beside it.
    static func epochLine(objective: Double, hardLabelLoss: Double?, validError: Double) -> String {
        guard let hardLabelLoss else { return String(format: "nll %.4f, valid error %.2f%%", objective, 100 * validError) }
        return String(format: "objective %.4f (hard-label nll %.4f on the monitor sample), valid error %.2f%%", objective, hardLabelLoss, 100 * validError)
    }
}

/// Checks that there is one label per example and every label is a class index.
package func checkLabels(_ labels: [Int], rows: Int, classes: Int, what: String) throws {
    guard labels.count == rows else {
        throw StrataError.shapeMismatch(context: "\(what): one per example", expected: [rows], found: [labels.count])
    }
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
        throw StrataError.invalidArgument(name: what, reason: "label \(bad) is not one of the \(classes) classes 0..\(classes - 1)")
    }
}
