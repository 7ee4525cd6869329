import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Many runs of one experiment searched at once (`strata sweep`): a grid
/// over the swept settings' values, or a seeded random search (Bergstra and
/// Bengio 2012), each run a normal run folder made by `strata train`, in
/// parallel processes on this machine and across the ranks of an `mpirun`
/// job; optionally asynchronous successive halving (``SuccessiveHalving``,
/// Li et al. 2018) stops runs whose validation error lags at its rungs. The
/// runs are chosen among by their validation accuracy (the fine-tuning
/// stage's held-out part of the training labels); the test set is measured
/// and reported, never used to choose. A stopped sweep resumes without
/// redoing finished runs.
///
/// ```
/// SWEEP/sweep.json          the plan: the experiment, the swept settings, each run's values
/// SWEEP/run001/             a run folder (experiment.yaml, run.log, result.json, the stages' outputs)
/// SWEEP/results.csv, .md    one row per run, sorted by validation accuracy
/// SWEEP/results_KEY.png     validation accuracy against each swept setting
/// ```
public enum Sweep {
    /// What a sweep runs and how.
    public struct Settings: Sendable {
        /// The experiment file each run starts from.
        public var experiment: String
        public var swept: [SweptSetting]
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
        /// The sweep's folder (nil: `runs/NAME-sweep`, NAME the experiment's).
        public var folder: String?
        public var resume = false
        /// A trial sweep: passed to every run as `--limit` and `--max-epochs`.
        public var limit: Int?
        public var maxEpochs: Int?

        public init(experiment: String, swept: [SweptSetting]) { (self.experiment, self.swept) = (experiment, swept) }

        /// Reads the sweep's own keys (`random`, `seed`, `parallel`,
        /// `threads_per_run`, `halving`) from `source`; `swept` comes from `--set`.
        public static func read(experiment: String, swept: [SweptSetting], from source: SettingSource) throws -> Settings {
            var s = Settings(experiment: experiment, swept: swept)
            s.random = try source.positive("random", source.int)
            if let v = try source.seed("seed") { s.seed = v }
            if let v = try source.positive("parallel", source.int) { s.parallel = v }
            s.threadsPerRun = try source.positive("threads_per_run", source.int)
            if let text = try source.text("halving") { s.halving = try SuccessiveHalving(parsing: text, key: "halving") }
            return s
        }
    }

    /// One run of the sweep: its place and the values it sets.
    public struct Run: Sendable, Codable, Hashable {
        public var index: Int
        public var overrides: [ExperimentOverride]
        /// `run001`, ...: its folder's name.
        public var name: String { String(format: "run%03d", index + 1) }
        public var summary: String { overrides.map(\.description).joined(separator: " ") }
    }

    /// The runs of `settings`: the grid (the first setting varying slowest)
    /// or `random` draws; ranges need a random search.
    public static func runs(_ settings: Settings) throws -> [Run] {
        guard !settings.swept.isEmpty else { throw StrataError.invalidArgument(name: "--set", reason: "give at least one KEY=VALUES to sweep") }
        let keys = settings.swept.map(\.key)
        if let repeated = keys.first(where: { k in keys.filter { $0 == k }.count > 1 }) {
            throw StrataError.invalidArgument(name: "--set \(repeated)", reason: "is given more than once; list its values in one --set")
        }
        if let count = settings.random {
            var random = RandomSource(seed: settings.seed)
            return (0 ..< count).map { i in Run(index: i, overrides: settings.swept.map { ExperimentOverride(key: $0.key, value: $0.draw(&random)) }) }
        }
        var combinations: [[ExperimentOverride]] = [[]]
        for s in settings.swept {
            guard let values = s.listed else {
                throw StrataError.invalidArgument(name: "--set \(s.key)", reason: "a range is drawn from by a random search (--random N); a grid needs a list of values")
            }
            combinations = combinations.flatMap { c in values.map { c + [ExperimentOverride(key: s.key, value: $0)] } }
        }
        guard combinations.count <= 10_000 else {
            throw StrataError.invalidArgument(name: "--set", reason: "the grid has \(combinations.count) runs; use --random N to draw some of them")
        }
        return combinations.enumerated().map { Run(index: $0, overrides: $1) }
    }

    /// Each run's experiment, read by the experiment reader, so a key that does
    /// not exist or a value of the wrong type is refused before anything runs;
    /// and the experiment must measure a validation accuracy to choose by.
    public static func experiments(_ runs: [Run], settings: Settings) throws -> [(text: String, experiment: Experiment)] {
        let text = String(decoding: try readWholeFile(settings.experiment), as: UTF8.self)
        return try runs.map { run in
            let changed = try ExperimentOverride.apply(run.overrides, to: text, file: settings.experiment)
            let experiment = try Experiment.parse(changed, file: "\(settings.experiment) with \(run.summary)")
            try checkMeasurable(experiment, settings: settings)
            return (changed, experiment)
        }
    }

    static func checkMeasurable(_ e: Experiment, settings: Settings) throws {
        switch e.finetune {
        case .softmax?: break
        case .svm(_, let grid, _, _)?:
            guard grid != nil else {
                throw StrataError.invalidArgument(name: settings.experiment, reason: "the svm stage needs c_grid, so that C is chosen on held-out labels and the run has a validation accuracy to compare")
            }
            if settings.halving != nil {
                throw StrataError.invalidArgument(name: "--halving", reason: "successive halving reads the validation error after each epoch of softmax fine-tuning; the svm stage has no epochs")
            }
        default:
            throw StrataError.invalidArgument(name: settings.experiment, reason: "a sweep compares runs by validation accuracy, so the experiment needs a finetune stage (softmax, or svm with c_grid)")
        }
    }

    /// The sweep's folder.
    public static func folder(_ settings: Settings, experiment: Experiment) -> String {
        settings.folder ?? "runs/\(experiment.name)-sweep"
    }

    /// The stage folder whose `evaluation.json` and `monitor.jsonl` a run is measured by.
    static func stageFolder(_ e: Experiment) -> String {
        if case .svm? = e.finetune { return "svm" }
        return "finetune"
    }
}
