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
    let stageFolder: String
    let threadsPerRun: Int
    let maxEpochs: Int
    let ranks: SweepRanks?
    let log: StageLog
    var table: RungTable
    var results: [Int: SweepResult] = [:]
    private var active: [Active] = []
    private var lastStatus = Date()
    private var nextLocal = 0
    private let total: Int

    init(settings: Sweep.Settings, executable: String, folder: String, texts: [String], stageFolder: String, threadsPerRun: Int,
         maxEpochs: Int, ranks: SweepRanks?, log: @escaping StageLog) {
        (self.settings, self.executable, self.folder, self.texts, self.stageFolder) = (settings, executable, folder, texts, stageFolder)
        (self.threadsPerRun, self.maxEpochs, self.ranks, self.log) = (threadsPerRun, maxEpochs, ranks, log)
        table = RungTable(rungs: settings.halving?.rungs(maxEpochs: maxEpochs) ?? [])
        total = texts.count
    }

    func runFolder(_ run: Sweep.Run) -> String { folder + "/" + run.name }

    /// The next run this process should take: in turn, or the next unclaimed one across the ranks.
    private func claim() -> Int? {
        if let ranks { return ranks.claim() }
        defer { nextLocal += 1 }
        return nextLocal < total ? nextLocal : nil
    }

    /// Runs every run this process claims; returns the signal that stopped the sweep, or nil when all ended.
    func runAll(_ runs: [Sweep.Run]) throws -> Int32? {
        var claiming = true
        while true {
            if let signal = StopRequest.signal {
                stopAll(signal)
                return signal
            }
            while claiming, active.count < settings.parallel {
                guard let index = claim() else { claiming = false; break }
                let run = runs[index]
                if let done = try SweepResult.read(from: runFolder(run)), done.status != .failed {
                    results[index] = done
                    log("\(run.name) \(run.summary): \(done.status.rawValue) by an earlier sweep, kept")
                    continue
                }
                active.append(try start(run))
            }
            if active.isEmpty { return nil }
            Thread.sleep(forTimeInterval: 0.2)
            ranks?.progress()
            try poll()
        }
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
        process.arguments = ["train", runFolder + "/experiment.yaml", "--out", runFolder, "--threads", String(threadsPerRun), "--resume"]
            + (settings.limit.map { ["--limit", String($0)] } ?? []) + (settings.maxEpochs.map { ["--max-epochs", String($0)] } ?? [])
        process.environment = Self.childEnvironment()
        (process.standardOutput, process.standardError) = (output, output)
        do { try process.run() } catch {
            throw StrataError.io(path: executable, reason: "cannot start a run (\(error.localizedDescription))")
        }
        try? output.close()
        log("\(run.name) \(run.summary): started (\(threadsPerRun) core\(threadsPerRun == 1 ? "" : "s"), log \(logPath))")
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
            let errors = settings.halving == nil && Date().timeIntervalSince(lastStatus) < 30 ? [:] : SweepResult.validationErrors(stageFolder: runFolder(a.run) + "/" + stageFolder)
            a.lastEpoch = max(a.lastEpoch, errors.keys.max() ?? 0)
            if let rule = settings.halving, a.stoppedAt == nil, let rung = decide(a.run.index, errors: errors, rule: rule) {
                a.stoppedAt = rung
                log(String(format: "%@ %@: validation error %.2f%% at epoch %d lags the best 1/%d there; stopping it (successive halving)",
                           a.run.name, a.run.summary, 100 * (errors[rung] ?? .nan), rung, rule.reduction))
                a.process.terminate()
            }
            still.append(a)
        }
        active = still
        if Date().timeIntervalSince(lastStatus) >= 30 {
            lastStatus = Date()
            let running = active.map { "\($0.run.name) epoch \($0.lastEpoch)/\(maxEpochs)" }.joined(separator: ", ")
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
            let error = SweepResult.validationErrors(stageFolder: runFolder + "/" + stageFolder)[rung]
            result = SweepResult(run: a.run.index, status: .stopped, validationAccuracy: error.map { 1 - $0 }, epochs: rung, seconds: seconds)
        } else if a.process.terminationStatus == 0 {
            result = try SweepResult.measured(run: a.run.index, stageFolder: runFolder + "/" + stageFolder, seconds: seconds)
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

    static func line(_ run: Sweep.Run, _ r: SweepResult) -> String {
        let validation = r.validationAccuracy.map { String(format: "validation %.2f%%", 100 * $0) } ?? "no validation measure"
        switch r.status {
        case .finished: return String(format: "%@ %@: finished, %@, test %.2f%% (%.1f s)", run.name, run.summary, validation, 100 * (r.testAccuracy ?? .nan), r.seconds)
        case .stopped: return String(format: "%@ %@: stopped at epoch %d, %@ (%.1f s)", run.name, run.summary, r.epochs ?? 0, validation, r.seconds)
        case .failed: return "\(run.name) \(run.summary): failed (\(r.message ?? "")); --resume tries it again"
        }
    }

    /// Asks every running run to stop with its checkpoint, and waits for them.
    private func stopAll(_ signal: Int32) {
        log("sweep: \(StopRequest.name(of: signal)) received; asking \(active.count) running run\(active.count == 1 ? "" : "s") to stop with their checkpoints")
        for a in active { a.process.terminate() }
        for a in active { a.process.waitUntilExit() }
        active = []
    }
}
