import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension DepthStudy {
    /// The table of a study as Markdown: one row per variant, one column per
    /// depth, each cell the updates to the target (`—` where not reached) over
    /// the test accuracy; then the training and pretraining seconds.
    public static func table(_ rows: [Row], targetAccuracy: Double) -> String {
        let depths = Array(Set(rows.map(\.depth))).sorted()
        let variants = rows.map(\.variant).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        func row(_ variant: String, _ depth: Int) -> Row? { rows.first { $0.variant == variant && $0.depth == depth } }
        let target = String(format: "%.0f%%", 100 * targetAccuracy)
        var lines = ["Updates to \(target) validation accuracy (— not reached), and test accuracy, by depth (hidden layers):", ""]
        lines.append("| variant | " + depths.map { "depth \($0)" }.joined(separator: " | ") + " |")
        lines.append("|---|" + depths.map { _ in "---:" }.joined(separator: "|") + "|")
        for variant in variants {
            let cells = depths.map { d in
                row(variant, d).map { r in (r.updatesToTarget.map(String.init) ?? "—") + String(format: " / %.2f%%", 100 * r.testAccuracy) } ?? ""
            }
            lines.append("| \(variant) | " + cells.joined(separator: " | ") + " |")
        }
        lines += ["", "Training seconds to \(target) (— not reached) / whole run; the pretrained variant's greedy pretraining in brackets:", ""]
        lines.append("| variant | " + depths.map { "depth \($0)" }.joined(separator: " | ") + " |")
        lines.append("|---|" + depths.map { _ in "---:" }.joined(separator: "|") + "|")
        for variant in variants {
            let cells = depths.map { d in
                row(variant, d).map { r in
                    (r.secondsToTarget.map { String(format: "%.1f", $0) } ?? "—") + String(format: " / %.1f", r.seconds)
                        + (r.pretrainingSeconds.map { String(format: " (+%.0f)", $0) } ?? "")
                } ?? ""
            }
            lines.append("| \(variant) | " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per network: `variant,depth,sizes,updates_to_target,seconds_to_target,best_validation_error,test_accuracy,seconds,pretraining_seconds`.
    public static func csv(_ rows: [Row]) -> String {
        func number(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "" }
        let lines = rows.map { r in
            [r.variant, String(r.depth), r.sizes, r.updatesToTarget.map(String.init) ?? "", number(r.secondsToTarget),
             number(r.bestValidationError), number(r.testAccuracy), number(r.seconds), number(r.pretrainingSeconds)].joined(separator: ",")
        }
        return (["variant,depth,sizes,updates_to_target,seconds_to_target,best_validation_error,test_accuracy,seconds,pretraining_seconds"] + lines)
            .joined(separator: "\n") + "\n"
    }

    /// Updates to the target against depth, one line per variant, broken where it was not reached.
    public static func chart(_ rows: [Row], targetAccuracy: Double, title: String) -> LineChart {
        var chart = LineChart(title: title, xLabel: "hidden layers",
                              yLabel: String(format: "updates to %.0f%% validation accuracy", 100 * targetAccuracy))
        chart.markers = true
        let variants = rows.map(\.variant).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        chart.series = variants.map { variant in
            LineChart.Series(label: variant, points: rows.filter { $0.variant == variant }.sorted { $0.depth < $1.depth }
                .map { (Double($0.depth), $0.updatesToTarget.map(Double.init) ?? .nan) })
        }
        return chart
    }

    /// Why there is no `depth_study.png` (no network reached the target), with
    /// the closest any came and what would draw it; nil when there is one.
    public static func noChartReason(_ rows: [Row], targetAccuracy: Double, evaluateEvery: Int) -> String? {
        guard !rows.contains(where: { $0.updatesToTarget != nil }),
              let closest = rows.min(by: { $0.bestValidationError < $1.bestValidationError }) else { return nil }
        return String(format: "no depth_study.png: no network reached %.0f%% validation accuracy (measured every %d updates); the closest, %@ at depth %d, reached %.2f%%. "
                      + "More data or epochs (a run without --limit / --max-epochs), or a lower target_accuracy, draw the chart",
                      100 * targetAccuracy, evaluateEvery, closest.variant, closest.depth, 100 * (1 - closest.bestValidationError))
    }

    /// Writes `depth_study.md`, `depth_study.csv` and, when any network reached the target, `depth_study.png` into `folder`; returns the files written.
    public static func write(_ rows: [Row], targetAccuracy: Double, title: String, to folder: String) throws -> [(name: String, path: String)] {
        var files: [(name: String, path: String)] = [("depth study table", folder + "/depth_study.md"), ("depth study data", folder + "/depth_study.csv")]
        try AtomicFile.write(Data(table(rows, targetAccuracy: targetAccuracy).utf8), to: files[0].path)
        try AtomicFile.write(Data(csv(rows).utf8), to: files[1].path)
        if rows.contains(where: { $0.updatesToTarget != nil }) {
            try chart(rows, targetAccuracy: targetAccuracy, title: title).write(to: folder + "/depth_study.png")
            files.append(("depth study chart", folder + "/depth_study.png"))
        }
        return files
    }
}
