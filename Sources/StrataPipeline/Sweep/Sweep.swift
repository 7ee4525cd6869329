import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Many runs of one or more experiments searched at once (`strata sweep`): a grid
/// over the swept settings' values, or a seeded random search (Bergstra and
/// Bengio 2012), each run a normal run folder made by `strata train`, in
/// parallel processes on this machine and across the ranks of an `mpirun`
/// job; optionally asynchronous successive halving (``SuccessiveHalving``,
/// Li et al. 2018) stops runs whose validation error lags at its rungs. The
/// runs are chosen among by their validation accuracy (the fine-tuning
/// stage's held-out part of the training labels); the test set is measured
/// and reported, never used to choose. A stopped sweep resumes without
/// redoing finished runs. Runs whose experiments differ only after
/// pretraining (labels, fine-tuning settings) share one pretraining
/// (`PretrainingGroups`); a swept `seed` gives a summary over seeds
/// (``SeedSummary``).
///
/// ```
/// SWEEP/sweep.json          the plan: the experiments, the swept settings, each run's values
/// SWEEP/run001/             a run folder (experiment.yaml, run.log, result.json, the stages' outputs)
/// SWEEP/results.csv, .md    one row per run, sorted by validation accuracy
/// SWEEP/results_KEY.png     validation accuracy against each swept setting
/// ```
public enum Sweep {
    /// What a sweep runs and how.
    public struct Settings: Sendable {
        /// The experiment files each combination runs (several: a column of the table).
        public var experiments: [String]
        public var swept: [SweptSetting]
        /// The sweep's name (a sweep file's `name`): its default folder `runs/NAME`.
        public var name: String?
        /// Runs drawn at random (nil: the grid of every combination).
        public var random: Int?
        /// Seed of the random search's draws.
        public var seed: UInt64 = 1
        /// Runs at once on each machine (each rank of an `mpirun` job).
        public var parallel = 1
        /// Cores each run uses (nil: the cores divided among the parallel runs).
        public var threadsPerRun: Int?
        /// Stop lagging runs at the rungs (softmax fine-tuning only).
        public var halving: SuccessiveHalving?
        /// The sweep's folder (nil: `runs/NAME` or `runs/EXPERIMENT-sweep`).
        public var folder: String?
        public var resume = false
        /// A trial sweep: every run's trial (`--limit`, `--max-epochs`, `--dataset`).
        public var trial = ExperimentTrial()

        public init(experiments: [String], swept: [SweptSetting]) { (self.experiments, self.swept) = (experiments, swept) }

        /// The sweep's own keys (`random`, `seed`, `parallel`, `threads_per_run`,
        /// `halving`, `out`), read from `source` (flags, or a sweep file) over these settings.
        public mutating func read(from source: SettingSource) throws {
            if let v = try source.positive("random", source.int) { random = v }
            if let v = try source.seed("seed") { seed = v }
            if let v = try source.positive("parallel", source.int) { parallel = v }
            if let v = try source.positive("threads_per_run", source.int) { threadsPerRun = v }
            if let text = try source.text("halving") { halving = try SuccessiveHalving(parsing: text, key: "halving") }
            if let v = try source.text("out") { folder = v }
        }

        /// The keys ``read(from:)`` reads.
        public static let keys = ["random", "seed", "parallel", "threads_per_run", "halving", "out"]

        /// `swept` with `others` replacing the settings of the same keys and added after them.
        public mutating func set(_ others: [SweptSetting]) {
            for o in others {
                if let i = swept.firstIndex(where: { $0.key == o.key }) { swept[i] = o } else { swept.append(o) }
            }
        }
    }

    /// One run of the sweep: its place, its experiment and the values it sets.
    public struct Run: Sendable, Codable, Hashable {
        public var index: Int
        /// The index of its experiment in ``Settings/experiments``.
        public var experiment: Int
        /// The experiment's name (its `name` key), for the log and the table.
        public var experimentName: String
        public var overrides: [ExperimentOverride]
        /// `run001`, ...: its folder's name.
        public var name: String { String(format: "run%03d", index + 1) }
        public var summary: String { overrides.map(\.description).joined(separator: " ") }
    }

    /// The runs of `settings`: for each experiment, the grid (the first
    /// setting varying slowest) or the same `random` draws; ranges need a
    /// random search. `names` are the experiments' names.
    public static func runs(_ settings: Settings, names: [String]) throws -> [Run] {
        guard !settings.swept.isEmpty else { throw StrataError.invalidArgument(name: "--set", reason: "give at least one KEY=VALUES to sweep") }
        let keys = settings.swept.map(\.key)
        if let repeated = keys.first(where: { k in keys.filter { $0 == k }.count > 1 }) {
            throw StrataError.invalidArgument(name: "--set \(repeated)", reason: "is given more than once; list its values in one --set")
        }
        var combinations: [[ExperimentOverride]] = [[]]
        if let count = settings.random {
            var random = RandomSource(seed: settings.seed)
            combinations = (0 ..< count).map { _ in settings.swept.map { ExperimentOverride(key: $0.key, value: $0.draw(&random)) } }
        } else {
            for s in settings.swept {
                guard let values = s.listed else {
                    throw StrataError.invalidArgument(name: "--set \(s.key)", reason: "a range is drawn from by a random search (--random N); a grid needs a list of values")
                }
                combinations = combinations.flatMap { c in values.map { c + [ExperimentOverride(key: s.key, value: $0)] } }
            }
        }
        guard combinations.count * names.count <= 10_000 else {
            throw StrataError.invalidArgument(name: "--set", reason: "the sweep has \(combinations.count * names.count) runs; use --random N to draw some of them")
        }
        return names.enumerated().flatMap { e, name in combinations.map { (e, name, $0) } }.enumerated()
            .map { Run(index: $0, experiment: $1.0, experimentName: $1.1, overrides: $1.2) }
    }

    /// The experiments' texts and names, each file read and checked as it is.
    public static func experimentFiles(_ settings: Settings) throws -> [(text: String, name: String)] {
        guard !settings.experiments.isEmpty else { throw StrataError.invalidArgument(name: "experiment", reason: "give at least one experiment file to sweep") }
        return try settings.experiments.map { path in
            let text = String(decoding: try readWholeFile(path), as: UTF8.self)
            return (text, try Experiment.parse(text, file: path).name)
        }
    }

    /// Each run's experiment, read by the experiment reader, so a key that does
    /// not exist or a value of the wrong type is refused before anything runs;
    /// and the experiment must measure a validation accuracy to choose by.
    public static func experiments(_ runs: [Run], settings: Settings, files given: [(text: String, name: String)]? = nil) throws -> [(text: String, experiment: Experiment)] {
        let files = try given ?? experimentFiles(settings)
        return try runs.map { run in
            let path = settings.experiments[run.experiment]
            let changed = try ExperimentOverride.apply(run.overrides, to: files[run.experiment].text, file: path)
            let experiment = try Experiment.parse(changed, file: "\(path) with \(run.summary)")
            try checkMeasurable(experiment, path: path, settings: settings)
            return (changed, experiment)
        }
    }

    /// The sweep's plan: the experiment files read once, the runs, and every
    /// run's experiment read and checked (what `--dry-run` prints and ``run(_:executable:compute:world:log:)`` runs).
    public static func plan(_ settings: Settings) throws -> (files: [(text: String, name: String)], runs: [Run], planned: [(text: String, experiment: Experiment)]) {
        try settings.trial.validate()
        let files = try experimentFiles(settings)
        let runs = try runs(settings, names: files.map(\.name))
        return (files, runs, try experiments(runs, settings: settings, files: files))
    }

    static func checkMeasurable(_ e: Experiment, path: String, settings: Settings) throws {
        switch e.finetune {
        case .softmax?: break
        case .svm(_, let grid, _, _)?:
            guard grid != nil else {
                throw StrataError.invalidArgument(name: path, reason: "the svm stage needs c_grid, so that C is chosen on held-out labels and the run has a validation accuracy to compare")
            }
            if settings.halving != nil {
                throw StrataError.invalidArgument(name: "--halving", reason: "successive halving reads the validation error after each epoch of softmax fine-tuning; the svm stage has no epochs")
            }
        default:
            throw StrataError.invalidArgument(name: path, reason: "a sweep compares runs by validation accuracy, so the experiment needs a finetune stage (softmax, or svm with c_grid)")
        }
    }

    /// The sweep's folder: the one given, `runs/NAME` for a named sweep, or `runs/EXPERIMENT-sweep`.
    public static func folder(_ settings: Settings, names: [String]) -> String {
        settings.folder ?? "runs/" + (settings.name ?? (names.count == 1 ? names[0] + "-sweep" : "sweep"))
    }

    /// The stage folder whose `evaluation.json` and `monitor.jsonl` a run is measured by.
    static func stageFolder(_ e: Experiment) -> String {
        if case .svm? = e.finetune { return "svm" }
        return "finetune"
    }
}
