import Foundation
import Synchronization
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension SoftmaxFineTuning {
    /// Several fine-tuning runs on the same images (an experiment's pretrained
    /// network and the same network from a random start), run side by side,
    /// each on an equal share of `compute`'s cores, when there are at least as
    /// many cores as runs; one after another otherwise.
    ///
    /// Why: a fine-tuning step's products at batch 100 keep one core busier
    /// than they keep two (the split over two cores waits on joins and packs
    /// each operand twice), so two independent runs on one core each finish
    /// sooner than the same runs one after another on two cores (measured on
    /// the `stacked_autoencoders` networks: 2 epochs of both in 20.8 s against
    /// 2 x 12.0 s). Each run's result is the one it gives alone: the thread
    /// count never changes a result (``FixedParts``). Progress lines carry
    /// each run's ``Settings/progressLabel`` and are written as plain lines;
    /// each run's log lines go to `log` after every run has ended, run by run
    /// in the order of `runs`. Returns the results in that order; the first
    /// error, if any, after every run has ended.
    public static func runSideBySide(_ runs: [Settings], loaded: LabeledImages, compute: Compute, showProgress: Bool = true,
                                     log: StageLog = { print($0) }) throws -> [Result] {
        guard let share = coresEach(runs: runs.count, compute: compute) else {
            return try runs.map { try run($0, loaded: loaded, compute: compute, showProgress: showProgress, log: log) }
        }
        let outcomes = Mutex<[Int: (result: Swift.Result<Result, any Error>, lines: [String])]>([:])
        let finished = DispatchSemaphore(value: 0)
        let each = Compute(cores: share)
        // Every run applies `each`, the process's compute while they run; the caller's is restored after.
        defer { compute.apply() }
        @Sendable func start(_ index: Int) {
            let lines = Mutex<[String]>([])
            let outcome = Swift.Result { try run(runs[index], loaded: loaded, compute: each, showProgress: showProgress, log: { line in lines.withLock { $0.append(line) } }) }
            outcomes.withLock { $0[index] = (outcome, lines.withLock { $0 }) }
        }
        for index in 1 ..< runs.count {
            let thread = Thread {
                start(index)
                finished.signal()
            }
            thread.name = "strata.fine-tuning.\(index)"
            thread.stackSize = 8 << 20   // a main thread's, as the run is the code the main thread runs alone
            thread.start()
        }
        start(0)
        for _ in 1 ..< runs.count { finished.wait() }
        let ended = outcomes.withLock { $0 }
        for index in runs.indices { ended[index]!.lines.forEach(log) }
        return try runs.indices.map { try ended[$0]!.result.get() }
    }

    /// The cores each of `runs` runs gets side by side in ``runSideBySide(_:loaded:compute:showProgress:log:)``
    /// (`compute.cores / runs`); nil when they run one after another (one run, or fewer cores than runs).
    public static func coresEach(runs: Int, compute: Compute) -> Int? {
        runs > 1 && compute.cores >= runs ? compute.cores / runs : nil
    }
}
