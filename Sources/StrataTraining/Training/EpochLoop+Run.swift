import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// The state a run saves and resumes by, as the epoch loop reads and writes
/// it: ``TrainerState`` (pretraining) and ``FineTuningState`` (fine-tuning).
public protocol EpochState: Sendable {
    /// Epochs completed.
    var epoch: Int { get set }
    var learningRate: Float { get set }
    /// The random generator's state after the last step recorded.
    var random: [UInt64] { get set }
    /// Set when the run's stopping rule has ended it.
    var stopped: Bool { get set }
    /// A run stopped inside an epoch: the examples of epoch `epoch + 1` done.
    var epochPosition: Int? { get set }
    /// ... and the random state at that epoch's start (its order).
    var epochRandom: [UInt64]? { get set }
    /// ``DivergenceGuard``'s lowest and first epoch objectives.
    var lowestObjective: Double? { get set }
    var firstObjective: Double? { get set }
}

extension TrainerState: EpochState {}

/// How a run's epochs go, fixed for the run: what ``EpochLoop/run(_:)`` needs
/// beyond the task's own steps.
struct EpochPlan {
    var maxEpochs: Int
    var examples: TrainingExamples
    var gatherer: MinibatchGatherer
    /// The global minibatch (every rank's rows), and this rank's share of a batch of `n` rows.
    var globalBatch: Int
    var share: (Int) -> Range<Int>
    var divergence: DivergenceGuard
    var checkpointPath: String
    /// A checkpoint every this many steps inside an epoch too (0: none).
    var checkpointEverySteps = 0
    /// An epoch's progress bar (nil: none), and its running status from the mean objective.
    var bar: (_ epoch: Int) -> ProgressBar?
    var status: (_ meanObjective: Double) -> String
}

/// One epoch made whole at once (L-BFGS: one iteration of the full-batch objective).
struct WholeEpoch {
    var objective: Double
    var stopRequested: Bool
}

/// What one kind of training gives the epoch loop: its steps, the end of its
/// epochs, its monitor and its checkpoints. ``EpochLoop/run(_:)`` does the
/// rest, once for pretraining (``Trainer``) and fine-tuning (``FineTuner``).
protocol EpochTask {
    associatedtype State: EpochState
    var state: State { get set }
    var random: RandomSource { get set }
    var plan: EpochPlan { get }
    /// The checkpoint a divergence leaves in place (nil: none written yet).
    var lastCheckpoint: String? { get }
    /// The epoch made whole at once, or nil when it runs minibatches.
    mutating func wholeEpoch(_ epoch: Int) throws -> WholeEpoch?
    /// Before an epoch's minibatches; returns the objective's sum and count
    /// over a stopped epoch's batches done before the stop (zero otherwise).
    mutating func startEpoch(_ epoch: Int) -> (lossSum: Double, batches: Int)
    /// One step on this rank's `rows` (in `batch`) of a global batch of
    /// `globalRows`, the first at `firstExample`, `position` examples into the
    /// epoch: the batch's objective, and whether the run must stop after it.
    mutating func step(_ rows: ArraySlice<Int>, _ batch: Tensor, globalRows: Int, firstExample: Int, position: Int) throws -> (objective: Double, stop: Bool)
    /// Downpour: the replicas push, meet and fetch the server's parameters (at
    /// a stop or an epoch's end); whether a replica asked to stop. Otherwise false.
    mutating func meetServer(stop: Bool) throws -> Bool
    /// After the epoch's steps and the meeting: the learner's epoch step and checks.
    mutating func endSteps(_ epoch: Int, batches: Int) throws
    /// The epoch's monitor row appended to the log and what follows from it
    /// (schedule, early stopping, the best epoch); the line its bar ends with.
    mutating func record(_ epoch: Int, objective: Double, seconds: Double, batches: Int) throws -> String
    /// Whether the checkpoint is written after `epoch` (a stop after it forces one).
    func checkpoints(after epoch: Int) -> Bool
    /// Writes the checkpoint of `state`; `stoppedEpoch`: a stopped epoch's objective sum and count.
    mutating func writeCheckpoint(_ state: State, stoppedEpoch: (lossSum: Double, batches: Int)?) throws
    /// `monitor.jsonl` and the TensorBoard events of the rows so far.
    mutating func writeLog() throws
    /// Frees the one-sided windows (collective: only where every rank ends alike).
    mutating func freeWindows()
}

extension EpochLoop {
    /// Runs `task`'s epochs from its state to its last: each epoch's order (or
    /// a stopped epoch's, from where it stopped), its minibatches shared over
    /// the ranks, the divergence guard after every step, a stop request
    /// answered with the checkpoint of that point, Downpour's meeting at the
    /// epoch's end, then the task's record, checkpoint and log.
    static func run<Task: EpochTask>(_ task: inout Task) throws {
        // After an error on one rank the others may be inside a collective: the job then ends through MPI_Abort.
        var endingTogether = false
        defer { if endingTogether { task.freeWindows() } }
        // The minibatch buffer, made once for the run (reallocated only when a batch's size changes).
        var batch = Tensor(zeros: [min(task.plan.globalBatch, task.plan.examples.rows), task.plan.examples.columns])
        while task.state.epoch < task.plan.maxEpochs && !task.state.stopped {
            let epoch = task.state.epoch + 1
            let epochStart = Date()
            let bar = task.plan.bar(epoch)
            let (objective, batches, stopAfterEpoch) = try runSteps(epoch, &task, bar: bar, batch: &batch, endingTogether: &endingTogether)
            try task.endSteps(epoch, batches: batches)
            do {
                let line = try task.record(epoch, objective: objective, seconds: Date().timeIntervalSince(epochStart), batches: batches)
                bar?.finish(line) // (not inside the optional chain: the record happens with or without a bar)
            } catch {
                bar?.finish("stopped")
                throw error
            }
            task.state.random = task.random.state
            if task.checkpoints(after: epoch) || stopAfterEpoch {
                try task.writeCheckpoint(task.state, stoppedEpoch: nil)
                RunProgress.shared?.checkpointed(epoch: epoch, batch: batches)
            }
            try task.writeLog()
            if stopAfterEpoch && !task.state.stopped && epoch < task.plan.maxEpochs {
                endingTogether = true
                throw StrataError.interrupted(signal: StopRequest.signal ?? SIGINT, checkpoint: task.plan.checkpointPath, epoch: epoch + 1, position: 0)
            }
        }
        endingTogether = true
    }

    /// An epoch's steps: its mean objective, its batches, and whether a replica asked to stop at its end.
    private static func runSteps<Task: EpochTask>(_ epoch: Int, _ task: inout Task, bar: ProgressBar?, batch: inout Tensor,
                                                  endingTogether: inout Bool) throws -> (objective: Double, batches: Int, stop: Bool) {
        if let whole = try task.wholeEpoch(epoch) { return (whole.objective, 0, whole.stopRequested) }
        let plan = task.plan
        // A run stopped inside this epoch goes on with the same order, after the examples it did.
        let (order, resumedPosition, epochRandom) = start(examples: plan.examples, position: task.state.epochPosition,
                                                          savedRandom: task.state.epochRandom, random: &task.random)
        (task.state.epochPosition, task.state.epochRandom) = (nil, nil)
        var (lossSum, batches) = task.startEpoch(epoch)
        var done = resumedPosition
        do {
            try forEachShare(of: plan.gatherer, order: order, from: resumedPosition, batchSize: plan.globalBatch, share: plan.share,
                             batch: &batch) { rows, batch, globalRows, firstExample in
                let (objective, stop) = try task.step(rows, batch, globalRows: globalRows, firstExample: firstExample, position: done)
                guard !plan.divergence.diverged(objective, lowest: task.state.lowestObjective, first: task.state.firstObjective) else {
                    throw StrataError.diverged(epoch: epoch, batch: batches + 1, lastCheckpoint: task.lastCheckpoint,
                                               reason: plan.divergence.reason(objective, lowest: task.state.lowestObjective, first: task.state.firstObjective))
                }
                (lossSum, batches, done) = (lossSum + objective, batches + 1, done + globalRows)
                if let bar { bar.status = plan.status(lossSum / Double(batches)); bar.update(done) }
                if stop { throw StopAfterBatch() }
                RunProgress.shared?.stepped(epoch: epoch, batch: batches)
                if plan.checkpointEverySteps > 0, batches % plan.checkpointEverySteps == 0, done < plan.examples.rows {
                    // Downpour's replicas meet first, so the checkpoint holds the server's parameters.
                    if try task.meetServer(stop: false) { throw StopAfterBatch(met: true) }
                    var saved = task.state
                    (saved.epochPosition, saved.epochRandom, saved.random) = (done, epochRandom, task.random.state)
                    try task.writeCheckpoint(saved, stoppedEpoch: (lossSum, batches))
                    RunProgress.shared?.checkpointed(epoch: epoch, batch: batches)
                }
            }
        } catch let stop as StopAfterBatch {
            bar?.finish("stopped after \(done) examples")
            // Downpour: every replica stops at its next push; they meet and save the server's parameters
            // (once: a replica that learned of the stop at a checkpoint's meeting has met the others already).
            if !stop.met { _ = try task.meetServer(stop: true) }
            var stopped = task.state
            (stopped.epochPosition, stopped.epochRandom, stopped.random) = (done, epochRandom, task.random.state)
            try task.writeCheckpoint(stopped, stoppedEpoch: (lossSum, batches))
            RunProgress.shared?.checkpointed(epoch: epoch, batch: batches)
            endingTogether = true
            throw StrataError.interrupted(signal: StopRequest.signal ?? SIGINT, checkpoint: plan.checkpointPath, epoch: epoch, position: done)
        }
        let stopAfterEpoch = try task.meetServer(stop: false)
        return (lossSum / Double(max(batches, 1)), batches, stopAfterEpoch)
    }
}
