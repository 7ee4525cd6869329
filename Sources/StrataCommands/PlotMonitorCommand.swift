import ArgumentParser
import Foundation
import Strata

struct PlotMonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-monitor",
        abstract: "Chart monitor channels of one or more runs as a PNG.",
        discussion: """
            RUN is a run folder (its monitor.jsonl is read) or a monitor.jsonl file; give several to \
            compare them on one chart (name one with RUN:NAME). Channels are picked by name, by glob \
            pattern, or by pylearn2's letter codes and ranges (see --list):
              strata plot-monitor runs/grbm_smd/layer1 --list
              strata plot-monitor runs/grbm_smd/layer1 --channels train_objective \\
                -o monitor.png
              strata plot-monitor runs/a:plain runs/b:dropout \\
                --channels valid_y_misclass --x epochs -o cmp.png
              strata plot-monitor runs/ft --channels B-D,*_nll --log -o curves.png
            """
    )

    @Argument(help: "Run folders or monitor.jsonl files, each optionally suffixed :NAME.")
    var runs: [String]
    @Option(help: "Channels: names, glob patterns, letter codes or code ranges, comma-separated; *objective is every objective channel.")
    var channels = "*objective"
    @Flag(help: "Learning curves: training and validation error (train_y_misclass, valid_y_misclass) instead of --channels.")
    var learningCurves = false
    @Flag(help: "List the channels with their letter codes and stop.")
    var list = false
    @Option(help: "The x axis: epochs, examples or seconds.")
    var x: Pictures.XAxis = .epochs
    @Flag(help: "Logarithmic y axis.")
    var log = false
    @Option(help: "Fixed y range LOW:HIGH.")
    var yrange: String?
    @Option(help: "The chart title (default: the runs' names).")
    var title: String?
    @Option(name: .shortAndLong, help: "The PNG file to write.")
    var output = "monitor.png"

    func run() throws {
        let logs = try Pictures.monitorRuns(runs)
        if list {
            let all = Array(Set(logs.flatMap { $0.log.channelNames })).sorted()
            for (i, channel) in all.enumerated() { print("\(ChannelSelection.code(i).padding(toLength: 4, withPad: " ", startingAt: 0)) \(channel)") }
            return
        }
        let selection = learningCurves ? LearningCurves.channels : channels
        var (chart, picked, missing) = try Pictures.monitorChart(logs, selection: selection, x: x, title: title ?? logs.map(\.name).joined(separator: " vs "))
        if !missing.isEmpty { print("note: no run has \(missing.joined(separator: ", ")) (see --list)") }
        chart.logarithmicY = log
        if let yrange {
            let parts = yrange.split(separator: ":").compactMap { Double($0) }
            guard parts.count == 2, parts[0] < parts[1] else { throw ValidationError("--yrange takes LOW:HIGH, for example 0:0.2 (got '\(yrange)')") }
            chart.yRange = parts[0] ... parts[1]
        }
        guard !chart.series.isEmpty else { throw ValidationError("none of the runs has the channels \(selection) against \(x.rawValue) (see --list)") }
        try chart.write(to: output)
        print("wrote \(output): \(chart.series.count) curve\(chart.series.count == 1 ? "" : "s") (\(picked.joined(separator: ", ")))")
    }
}
