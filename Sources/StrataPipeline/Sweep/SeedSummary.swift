import Foundation
import StrataCore
import StrataPictures

/// A sweep that varies `seed` summarized over its seeds: for each
/// experiment and each combination of the other swept values, the mean,
/// lowest and highest test accuracy (and validation accuracy) of its
/// finished runs (`summary.md`, `summary.csv`), and for each other swept
/// number a chart of the mean test accuracy against it, bars from the
/// lowest to the highest seed (`summary_KEY.png`: accuracy against labels
/// per class, on a log scale, for the label-efficiency study). These report
/// what was measured; choosing among settings is the validation column's job.
public struct SeedSummary {
    public struct Row: Sendable {
        public var experiment: String
        /// The other swept keys' values, in the sweep's order.
        public var values: [String]
        public var test: [Double]
        public var validation: [Double]
        /// The labels per class the runs learned from (what `all` was, on the chart's axis).
        public var labelsPerClass: Double?
    }

    public let seedKey: String
    /// The swept keys other than the seed.
    public let keys: [String]
    public let rows: [Row]
    let title: String

    /// The summary of `report`, or nil when no swept key is a seed (`seed` or `....seed`).
    public init?(_ report: SweepReport) {
        guard let seed = report.settings.swept.map(\.key).first(where: { $0 == "seed" || $0.hasSuffix(".seed") }) else { return nil }
        seedKey = seed
        keys = report.settings.swept.map(\.key).filter { $0 != seed }
        title = report.title
        var rows: [Row] = []
        for run in report.runs {
            guard let r = report.results[run.index], r.status == .finished, let test = r.testAccuracy, let validation = r.validationAccuracy else { continue }
            let values = keys.map { k in run.overrides.first { $0.key == k }?.value ?? "" }
            if let i = rows.firstIndex(where: { $0.experiment == run.experimentName && $0.values == values }) {
                rows[i].test.append(test)
                rows[i].validation.append(validation)
            } else {
                rows.append(Row(experiment: run.experimentName, values: values, test: [test], validation: [validation], labelsPerClass: r.labelsPerClass))
            }
        }
        self.rows = rows
    }

    static func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(max(v.count, 1)) }
    static func percent(_ v: Double) -> String { String(format: "%.2f", 100 * v) }

    public var markdown: String {
        var lines = ["| experiment | " + keys.map { "`\($0)`" }.joined(separator: " | ") + " | seeds | test accuracy (%): mean | lowest | highest | validation accuracy (%): mean |",
                     "|---|" + String(repeating: "---|", count: keys.count) + "---:|---:|---:|---:|---:|"]
        for r in rows {
            lines.append("| \(r.experiment) | " + r.values.joined(separator: " | ") + " | \(r.test.count) | **\(Self.percent(Self.mean(r.test)))** | "
                + "\(Self.percent(r.test.min()!)) | \(Self.percent(r.test.max()!)) | \(Self.percent(Self.mean(r.validation))) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var csv: String {
        var lines = [(["experiment"] + keys + ["seeds", "test_mean", "test_lowest", "test_highest", "validation_mean"]).joined(separator: ",")]
        for r in rows {
            lines.append(([r.experiment] + r.values.map { "\"\($0)\"" } + ["\(r.test.count)", Self.percent(Self.mean(r.test)), Self.percent(r.test.min()!),
                                                                            Self.percent(r.test.max()!), Self.percent(Self.mean(r.validation))]).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mean test accuracy against the numbers of `key` (nil when its values are not all numbers), one line per experiment and other values.
    public func chart(_ key: String) -> LineChart? {
        // `labels_per_class: all` sits where the labels it meant are.
        func number(_ r: Row, _ k: Int) -> Double? { Double(r.values[k]) ?? (key == FewLabels.key && r.values[k] == "all" ? r.labelsPerClass : nil) }
        guard let k = keys.firstIndex(of: key), rows.allSatisfy({ number($0, k) != nil }), !rows.isEmpty else { return nil }
        var chart = LineChart(title: "\(title): test accuracy against \(key)", xLabel: key,
                              yLabel: "test accuracy (%), mean of the seeds (bars: lowest to highest)")
        chart.markers = true
        let xs = rows.map { number($0, k)! }
        if let low = xs.min(), let high = xs.max(), low > 0 { chart.logarithmicX = high / low > 20 }
        var lines: [String: LineChart.Series] = [:], order: [String] = []
        for r in rows {
            let others = r.values.enumerated().filter { $0.offset != k }.map { "\(keys[$0.offset])=\($0.element)" }
            let label = ([r.experiment] + others).joined(separator: ", ")
            if lines[label] == nil { lines[label] = LineChart.Series(label: label, points: []); order.append(label) }
            let x = number(r, k)!
            lines[label]!.points.append((x, 100 * Self.mean(r.test)))
            lines[label]!.bars.append((x, 100 * r.test.min()!, 100 * r.test.max()!))
        }
        chart.series = order.map { label in
            var s = lines[label]!
            s.points.sort { $0.x < $1.x }
            return s
        }
        return chart
    }

    /// Writes `summary.md`, `summary.csv` and a chart per swept number; returns the paths.
    public func write(to folder: String) throws -> [String] {
        guard !rows.isEmpty else { return [] }
        try AtomicFile.write(Data(markdown.utf8), to: folder + "/summary.md")
        try AtomicFile.write(Data(csv.utf8), to: folder + "/summary.csv")
        var files = [folder + "/summary.md", folder + "/summary.csv"]
        for key in keys {
            guard let chart = chart(key) else { continue }
            try chart.write(to: folder + "/summary_\(SweepReport.safe(key)).png")
            files.append(folder + "/summary_\(SweepReport.safe(key)).png")
        }
        return files
    }
}
