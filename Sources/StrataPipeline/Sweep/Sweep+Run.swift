import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension Sweep {
    /// What a sweep did.
    public struct Outcome: Sendable {
        public var folder: String
        public var runs: [Run]
        /// How each run ended, by run index (runs that did not end are missing).
        public var results: [Int: SweepResult]
        /// The signal that stopped the sweep before every run ended (`--resume` finishes it), or nil.
        public var stoppedBy: Int32?
        /// The tables and charts written (by rank 0 of an `mpirun` job).
        public var files: [String]
    }

    /// The plan a sweep folder records (`sweep.json`), so that `--resume` goes on with the same runs.
    struct Record: Codable, Equatable {
        var experiments: [String]
        var experimentTexts: [String]
        var swept: [String]
        var runs: [Run]
    }

    /// Runs the sweep: every run's experiment read first (a bad key or value
    /// refused before anything runs), then the runs through `executable`
    /// (the `strata` tool) in parallel processes, spread over the ranks of
    /// `world`, then the tables and charts. With `resume`, the runs that
    /// ended (finished, or stopped by successive halving) are kept and the
    /// others continue from their checkpoints; experiments added at the end of
    /// the list (a sweep file's `experiments`) extend the sweep by their runs.
    public static func run(_ settings: Settings, executable: String, compute: Compute, world: MPIWorld? = MPIWorld.current,
                           log: @escaping StageLog = { print($0) }) throws -> Outcome {
        let (files, runs, planned) = try plan(settings)
        let folder = folder(settings, names: files.map(\.name))
        let record = Record(experiments: settings.experiments, experimentTexts: files.map(\.text), swept: settings.swept.map(\.description), runs: runs)
        try checkFolder(folder, record: record, resume: settings.resume)
        world?.barrier() // every rank has looked at the folder before rank 0 writes the plan
        if (world?.rank ?? 0) == 0 { try writeRecord(record, in: folder) }
        let maxEpochs = planned.map { p -> Int in
            guard case .softmax(let c, _)? = p.experiment.finetune else { return 1 }
            return min(c.maxEpochs, settings.trial.maxEpochs ?? c.maxEpochs)
        }.max() ?? 1
        let threads = settings.threadsPerRun ?? max(1, compute.cores / settings.parallel)
        let ranks = world.flatMap { $0.size > 1 ? SweepRanks(world: $0, runs: runs.count, rungs: settings.halving?.rungs(maxEpochs: maxEpochs).count ?? 0) : nil }
        let groups = try PretrainingGroups(planned.map(\.text))
        log("sweep of \(settings.experiments.joined(separator: ", ")): \(runs.count) run\(runs.count == 1 ? "" : "s") "
            + "(\(settings.random.map { "random search, \($0) draws, seed \(settings.seed)" } ?? "grid")) of \(settings.swept.map(\.description).joined(separator: " ")); "
            + "\(settings.parallel) at once" + (ranks.map { " on each of \($0.world.size) ranks" } ?? "") + ", \(threads) core\(threads == 1 ? "" : "s") each; folder \(folder)")
        let pretraining = runs.filter { groups.pretrains[$0.index] }, distinct = Set(pretraining.map { groups.group[$0.index] }).count
        if distinct < pretraining.count {
            log("\(distinct) pretraining\(distinct == 1 ? "" : "s") for the \(pretraining.count) runs that pretrain (runs that differ only after pretraining share its layers)")
        }
        if let h = settings.halving { log("\(h.description): rungs at epochs \(h.rungs(maxEpochs: maxEpochs).map(String.init).joined(separator: ", "))") }
        log("runs are compared by validation accuracy (a held-out part of the training labels); the test set is reported, never used to choose")
        let launcher = SweepLauncher(settings: settings, executable: executable, folder: folder, texts: planned.map(\.text),
                                     stageFolders: planned.map { stageFolder($0.experiment) }, groups: groups,
                                     threadsPerRun: threads, maxEpochs: maxEpochs, ranks: ranks, log: log)
        if settings.halving != nil { try launcher.recordEarlierRungs(runs) }
        let stoppedBy = try launcher.runAll(runs)
        let results = ranks?.gather(launcher.results) ?? launcher.results
        ranks?.free()
        var written: [String] = []
        if (world?.rank ?? 0) == 0 {
            written = try SweepReport(settings: settings, runs: runs, results: results).write(to: folder)
            if let stoppedBy {
                log("sweep stopped by \(StopRequest.name(of: stoppedBy)): \(results.count) of \(runs.count) runs ended; `strata sweep ... --resume` finishes the others")
            }
        }
        return Outcome(folder: folder, runs: runs, results: results, stoppedBy: stoppedBy, files: written)
    }

    static func checkFolder(_ folder: String, record: Record, resume: Bool) throws {
        let path = folder + "/sweep.json"
        guard FileManager.default.fileExists(atPath: path) else { return }
        guard resume else {
            throw StrataError.invalidArgument(name: "--out", reason: "\(folder) already holds a sweep (\(path)); give --resume to finish it, or another --out")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let earlier: Record
        do { earlier = try decoder.decode(Record.self, from: try readWholeFile(path)) } catch {
            throw StrataError.corrupt(path: path, offset: nil, reason: "not a sweep's plan (\(error))")
        }
        // Experiments added at the end of the list extend the sweep: the runs it had keep their places.
        if earlier.swept == record.swept, earlier.experiments.count < record.experiments.count,
           Array(record.experiments.prefix(earlier.experiments.count)) == earlier.experiments,
           Array(record.experimentTexts.prefix(earlier.experiments.count)) == earlier.experimentTexts,
           Array(record.runs.prefix(earlier.runs.count)) == earlier.runs {
            return
        }
        guard earlier == record else {
            let what = earlier.experiments != record.experiments ? "it swept \(earlier.experiments.joined(separator: ", "))"
                : earlier.experimentTexts != record.experimentTexts ? "an experiment file changed since"
                : earlier.swept != record.swept ? "it swept \(earlier.swept.joined(separator: " "))" : "its runs differ (another --random or --seed)"
            throw StrataError.invalidArgument(name: "--resume", reason: "\(path) records another sweep: \(what); resume with the same settings, or give another --out")
        }
    }

    static func writeRecord(_ record: Record, in folder: String) throws {
        try AtomicFile.makeFolder(folder)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(try encoder.encode(record), to: folder + "/sweep.json")
    }
}

extension SweepLauncher {
    /// A resumed sweep's rungs: what the runs that already ended recorded, in run order.
    func recordEarlierRungs(_ runs: [Sweep.Run]) throws {
        for run in runs {
            guard let done = try SweepResult.read(from: runFolder(run)), done.status != .failed else { continue }
            let errors = SweepResult.validationErrors(stageFolder: stageFolder(run))
            for (r, epoch) in table.rungs.enumerated() { if let e = errors[epoch] { table.errors[r][run.index] = e } }
        }
        ranks?.withSharedRungs(&table) { _ in }
    }
}
