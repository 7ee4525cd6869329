import Foundation
import StrataCore
import StrataDistributed

/// Runs a sweep's runs as child processes of the `strata` tool
/// (`strata train RUN/experiment.yaml --out RUN --threads T --resume`), at
/// most `parallel` at once, watching their monitors for successive halving.
/// The children are plain processes (the `mpirun` variables removed), each
/// told to stop with its checkpoint when the sweep ends
/// (`STRATA_SWEEP_PARENT`), so no run outlives the sweep that started it.
final class SweepLauncher {
    struct Active {
        let run: Sweep.Run
        let process: Process
        let started: Date
        /// The rung epoch successive halving stopped it at.
        var stoppedAt: Int?
        var lastEpoch = 0
    }

    let settings: Sweep.Settings
    let executable: String
    let folder: String
    let texts: [String]
    /// Each run's stage folder name (`finetune` or `svm`), whose monitor and evaluation measure it.
    let stageFolders: [String]
    let groups: PretrainingGroups
    let threadsPerRun: Int
    let maxEpochs: Int
    let ranks: SweepRanks?
    let log: StageLog
    var table: RungTable
    var results: [Int: SweepResult] = [:]
    private var active: [Active] = []
    private var lastStatus = Date()
    /// The runs not yet taken (one process; across ranks the counter on rank 0 hands them out).
    private var pending: [Int]
    private let total: Int

    init(settings: Sweep.Settings, executable: String, folder: String, texts: [String], stageFolders: [String], groups: PretrainingGroups,
         threadsPerRun: Int, maxEpochs: Int, ranks: SweepRanks?, log: @escaping StageLog) {
        (self.settings, self.executable, self.folder, self.texts, self.stageFolders, self.groups) = (settings, executable, folder, texts, stageFolders, groups)
        (self.threadsPerRun, self.maxEpochs, self.ranks, self.log) = (threadsPerRun, maxEpochs, ranks, log)
        table = RungTable(rungs: settings.halving?.rungs(maxEpochs: maxEpochs) ?? [])
        total = texts.count
        pending = Array(0 ..< texts.count)
    }

    func runFolder(_ run: Sweep.Run) -> String { folder + "/" + run.name }
    func stageFolder(_ run: Sweep.Run) -> String { runFolder(run) + "/" + stageFolders[run.index] }

    /// The next run this process should take (nil: none now), and whether
    /// any are left. One process takes the first run whose pretraining no
    /// running run of its group is still doing (it will lend it instead).
    private func claim(_ runs: [Sweep.Run]) -> (run: Int?, more: Bool) {
        if let ranks {
            let next = ranks.claim()
            return (next, next != nil)
        }
        guard !pending.isEmpty else { return (nil, false) }
        let busy = Set(active.filter { !groups.pretrained($0.run.index, in: runFolder($0.run)) }.map { groups.group[$0.run.index] })
        guard let i = pending.firstIndex(where: { !busy.contains(groups.group[$0]) }) ?? (active.isEmpty ? 0 : nil) else { return (nil, true) }
        return (pending.remove(at: i), true)
    }

    /// Runs every run this process claims; returns the signal that stopped the sweep, or nil when all ended.
    func runAll(_ runs: [Sweep.Run]) throws -> Int32? {
        var more = true
        while true {
            if let signal = StopRequest.signal {
                stopAll(signal)
                return signal
            }
            while more, active.count < settings.parallel {
                let (next, left) = claim(runs)
                more = left
                guard let index = next else { break }
                let run = runs[index]
                if let done = try SweepResult.read(from: runFolder(run)), done.status != .failed {
                    results[index] = done
                    log("\(run.name) \(Self.label(run)): \(done.status.rawValue) by an earlier sweep, kept")
                    continue
                }
                try borrowPretraining(run, runs: runs)
                active.append(try start(run))
            }
            if active.isEmpty && !more { return nil }
            Thread.sleep(forTimeInterval: 0.2)
            ranks?.progress()
            try poll()
        }
    }

    /// The run's experiment and values, for the log.
    static func label(_ run: Sweep.Run) -> String { "\(run.experimentName) \(run.summary)" }

    /// Copies a finished pretraining of `run`'s group (from another run's folder here) into its folder.
    private func borrowPretraining(_ run: Sweep.Run, runs: [Sweep.Run]) throws {
        let target = runFolder(run)
        guard groups.pretrains[run.index], !groups.pretrained(run.index, in: target) else { return }
        guard let lender = runs.first(where: { $0.index != run.index && groups.group[$0.index] == groups.group[run.index]
            && groups.pretrained($0.index, in: runFolder($0)) }) else { return }
        try AtomicFile.makeFolder(target)
        try PretrainingGroups.lend(from: runFolder(lender), to: target, finalStack: groups.finalStack(of: run.index, in: target))
        log("\(run.name): pretraining shared with \(lender.name) (the same experiment up to fine-tuning; its layers copied)")
    }

    private func start(_ run: Sweep.Run) throws -> Active {
        let runFolder = runFolder(run)
        try AtomicFile.makeFolder(runFolder)
        try AtomicFile.write(Data(texts[run.index].utf8), to: runFolder + "/experiment.yaml")
        let logPath = runFolder + "/run.log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let output = FileHandle(forWritingAtPath: logPath) else { throw StrataError.io(path: logPath, reason: "cannot be opened for writing") }
        output.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["train", runFolder + "/experiment.yaml", "--out", runFolder, "--threads", String(threadsPerRun), "--resume"] + settings.trial.arguments
        process.environment = Self.childEnvironment()
        (process.standardOutput, process.standardError) = (output, output)
        do { try process.run() } catch {
            throw StrataError.io(path: executable, reason: "cannot start a run (\(error.localizedDescription))")
        }
        try? output.close()
        log("\(run.name) \(Self.label(run)): started (\(threadsPerRun) core\(threadsPerRun == 1 ? "" : "s"), log \(logPath))")
        return Active(run: run, process: process, started: Date())
    }

    /// This process's environment without `mpirun`'s variables (a run is a
    /// plain process, not a rank), and with this process as the run's parent.
    static func childEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "PMI_", "HYDRA_", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "PRTE_"].contains { key.hasPrefix($0) }
        }
        environment[ParentWatch.variable] = String(getpid())
        return environment
    }

    /// Ends the runs that have ended, and applies successive halving to the others.
    private func poll() throws {
        var still: [Active] = []
        for var a in active {
            if !a.process.isRunning {
                try finish(a)
                continue
            }
            let errors = settings.halving == nil && Date().timeIntervalSince(lastStatus) < 30 ? [:] : SweepResult.validationErrors(stageFolder: stageFolder(a.run))
            a.lastEpoch = max(a.lastEpoch, errors.keys.max() ?? 0)
            if let rule = settings.halving, a.stoppedAt == nil, let rung = decide(a.run.index, errors: errors, rule: rule) {
                a.stoppedAt = rung
                log(String(format: "%@ %@: validation error %.2f%% at epoch %d lags the best 1/%d there; stopping it (successive halving)",
                           a.run.name, Self.label(a.run), 100 * (errors[rung] ?? .nan), rung, rule.reduction))
                a.process.terminate()
            }
            still.append(a)
        }
        active = still
        if Date().timeIntervalSince(lastStatus) >= 30 {
            lastStatus = Date()
            let running = active.map { "\($0.run.name)" + ($0.lastEpoch > 0 ? " at epoch \($0.lastEpoch)" : "") }.joined(separator: ", ")
            log("sweep: \(results.count) run\(results.count == 1 ? "" : "s") ended here; running \(running)")
        }
    }

    private func decide(_ run: Int, errors: [Int: Double], rule: SuccessiveHalving) -> Int? {
        guard !errors.isEmpty else { return nil }
        if let ranks {
            var decision: Int?
            ranks.withSharedRungs(&table) { decision = $0.record(run: run, errorsByEpoch: errors, rule: rule) }
            return decision
        }
        return table.record(run: run, errorsByEpoch: errors, rule: rule)
    }

    private func finish(_ a: Active) throws {
        let runFolder = runFolder(a.run)
        let seconds = Date().timeIntervalSince(a.started)
        var result: SweepResult
        if let rung = a.stoppedAt {
            let error = SweepResult.validationErrors(stageFolder: stageFolder(a.run))[rung]
            result = SweepResult(run: a.run.index, status: .stopped, validationAccuracy: error.map { 1 - $0 }, epochs: rung, seconds: seconds)
        } else if a.process.terminationStatus == 0 {
            result = try SweepResult.measured(run: a.run.index, stageFolder: stageFolder(a.run), seconds: seconds)
        } else {
            let tail = (try? String(decoding: readWholeFile(runFolder + "/run.log"), as: UTF8.self))?
                .split(separator: "\n").suffix(3).joined(separator: " | ") ?? ""
            result = SweepResult(run: a.run.index, status: .failed, seconds: seconds, message: "exit \(a.process.terminationStatus): \(tail)")
        }
        result.rank = ranks?.world.rank
        try result.write(to: runFolder)
        results[a.run.index] = result
        log(Self.line(a.run, result) + " [\(results.count) of \(total) ended here]")
    }

    /// How long a run asked to stop may take to write its checkpoint.
    static let stopGraceSeconds = 20.0

    static func line(_ run: Sweep.Run, _ r: SweepResult) -> String {
        let validation = r.validationAccuracy.map { String(format: "validation %.2f%%", 100 * $0) } ?? "no validation measure"
        switch r.status {
        case .finished: return String(format: "%@ %@: finished, %@, test %.2f%% (%.1f s)", run.name, label(run), validation, 100 * (r.testAccuracy ?? .nan), r.seconds)
        case .stopped: return String(format: "%@ %@: stopped at epoch %d, %@ (%.1f s)", run.name, label(run), r.epochs ?? 0, validation, r.seconds)
        case .failed: return "\(run.name) \(label(run)): failed (\(r.message ?? "")); --resume tries it again"
        }
    }

    /// Asks every running run to stop with its checkpoint, and waits for them.
    private func stopAll(_ signal: Int32) {
        log("sweep: \(StopRequest.name(of: signal)) received; asking \(active.count) running run\(active.count == 1 ? "" : "s") to stop with their checkpoints")
        for a in active { a.process.terminate() }
        // A stage that does not look at the request (the SVM's solver) ends at the second signal.
        let deadline = Date().addingTimeInterval(Self.stopGraceSeconds)
        while active.contains(where: \.process.isRunning), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        for a in active where a.process.isRunning {
            log("\(a.run.name) did not stop within \(Int(Self.stopGraceSeconds)) s (a stage without checkpoints between steps); ending it")
            a.process.terminate()
        }
        for a in active { a.process.waitUntilExit() }
        active = []
    }
}
