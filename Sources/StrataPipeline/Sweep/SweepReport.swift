import Foundation
import StrataCore
import StrataPictures

/// A sweep's results as a person reads them: `results.csv` and `results.md`
/// (one row per run with every swept setting, sorted by validation accuracy:
/// finished runs first, then those stopped at a rung, then failures) and
/// `results_KEY.png` (validation accuracy of each run against each swept
/// setting; a number axis when the values are numbers, on a log scale when
/// they span over 20x).
public struct SweepReport {
    public var settings: Sweep.Settings
    public var runs: [Sweep.Run]
    public var results: [Int: SweepResult]

    public init(settings: Sweep.Settings, runs: [Sweep.Run], results: [Int: SweepResult]) {
        (self.settings, self.runs, self.results) = (settings, runs, results)
    }

    /// The runs with a result, best first.
    public var ranked: [(run: Sweep.Run, result: SweepResult)] {
        let order: [SweepResult.Status: Int] = [.finished: 0, .stopped: 1, .failed: 2]
        return runs.compactMap { run in results[run.index].map { (run, $0) } }.sorted { a, b in
            let (x, y) = (order[a.result.status]!, order[b.result.status]!)
            if x != y { return x < y }
            let (u, v) = (a.result.validationAccuracy ?? -1, b.result.validationAccuracy ?? -1)
            return u != v ? u > v : a.run.index < b.run.index
        }
    }

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.2f", 100 * $0) } ?? "" }

    static func status(_ r: SweepResult) -> String {
        r.status == .stopped ? "stopped at epoch \(r.epochs ?? 0)" : r.status.rawValue
    }

    /// Whether the runs come from several experiments (a column of their own).
    var severalExperiments: Bool { settings.experiments.count > 1 }

    /// The run's first columns: its name, its experiment (when there are several) and its values.
    func leading(_ run: Sweep.Run, quoted: Bool) -> [String] {
        let values = run.overrides.map { quoted ? "\"" + $0.value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0.value }
        return [run.name] + (severalExperiments ? [run.experimentName] : []) + values
    }

    /// The table as CSV: run, experiment, each swept key, status, validation and test accuracy (%), epochs, seconds, rank.
    public var csv: String {
        let keys = (severalExperiments ? ["experiment"] : []) + settings.swept.map(\.key)
        var lines = [(["run"] + keys + ["status", "validation_accuracy", "test_accuracy", "epochs", "seconds", "rank"]).joined(separator: ",")]
        for (run, r) in ranked {
            lines.append((leading(run, quoted: true) + [Self.status(r), Self.percent(r.validationAccuracy), Self.percent(r.testAccuracy),
                                                  r.epochs.map(String.init) ?? "", String(format: "%.1f", r.seconds), r.rank.map(String.init) ?? ""]).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The table as Markdown, with the number of runs that have not ended.
    public var markdown: String {
        let keys = (severalExperiments ? ["experiment"] : []) + settings.swept.map(\.key)
        var lines = ["| run | " + keys.map { "`\($0)`" }.joined(separator: " | ") + " | status | validation accuracy (%) | test accuracy (%, not used to choose) | epochs | seconds |",
                     "|---|" + String(repeating: "---|", count: keys.count) + "---|---:|---:|---:|---:|"]
        for (run, r) in ranked {
            lines.append("| " + leading(run, quoted: false).joined(separator: " | ")
                + " | \(Self.status(r)) | \(Self.percent(r.validationAccuracy)) | \(Self.percent(r.testAccuracy)) | \(r.epochs.map(String.init) ?? "") | \(String(format: "%.1f", r.seconds)) |")
        }
        let missing = runs.count - results.count
        if missing > 0 { lines.append("\n\(missing) run\(missing == 1 ? " has" : "s have") not ended; `--resume` runs \(missing == 1 ? "it" : "them").") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Validation accuracy of every run against the swept setting `key`.
    public func chart(_ key: String) -> LineChart? {
        let points = ranked.compactMap { run, r -> (String, Double, SweepResult.Status, String)? in
            guard let v = r.validationAccuracy, let value = run.overrides.first(where: { $0.key == key })?.value else { return nil }
            return (value, 100 * v, r.status, run.experimentName)
        }
        guard !points.isEmpty else { return nil }
        let numbers = points.map { Double($0.0) }
        let numeric = !numbers.contains(nil)
        let categories = Array(Set(points.map(\.0))).sorted()
        func x(_ value: String) -> Double { numeric ? Double(value)! : Double(categories.firstIndex(of: value)! + 1) }
        var chart = LineChart(title: "\(title): validation accuracy against \(key)",
                              xLabel: numeric ? key : "\(key): " + categories.enumerated().map { "\($0 + 1) = \($1)" }.joined(separator: ", "),
                              yLabel: "validation accuracy (%)")
        chart.lines = false
        if numeric, let low = numbers.compactMap({ $0 }).min(), let high = numbers.compactMap({ $0 }).max(), low > 0 { chart.logarithmicX = high / low > 20 }
        for (status, label) in [(SweepResult.Status.finished, "finished"), (.stopped, "stopped by successive halving (its rung's value)")] {
            for experiment in Set(points.map(\.3)).sorted() {
                let mine = points.filter { $0.2 == status && $0.3 == experiment }.map { (x: x($0.0), y: $0.1) }
                if !mine.isEmpty { chart.series.append(.init(label: severalExperiments ? "\(experiment), \(label)" : label, points: mine)) }
            }
        }
        return chart
    }

    /// The sweep's name in titles.
    var title: String { settings.name ?? (severalExperiments ? "sweep" : runs.first?.experimentName ?? "sweep") }

    /// A file name's part for `key` (`layers[0].hidden` as `layers_0__hidden`).
    static func safe(_ key: String) -> String { String(key.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" }) }

    /// Writes the table (CSV, Markdown) and one chart per swept setting; returns the paths.
    public func write(to folder: String) throws -> [String] {
        try AtomicFile.makeFolder(folder)
        try AtomicFile.write(Data(csv.utf8), to: folder + "/results.csv")
        try AtomicFile.write(Data(markdown.utf8), to: folder + "/results.md")
        var files = [folder + "/results.csv", folder + "/results.md"]
        let summary = SeedSummary(self)
        for key in settings.swept.map(\.key) where key != summary?.seedKey { // the summary is the seeds' picture
            guard let chart = chart(key) else { continue }
            try chart.write(to: folder + "/results_\(Self.safe(key)).png")
            files.append(folder + "/results_\(Self.safe(key)).png")
        }
        if let summary { files += try summary.write(to: folder) }
        return files
    }
}
