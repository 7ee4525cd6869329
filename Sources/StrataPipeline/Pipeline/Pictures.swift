import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// The pictures a person looks at: a layer's filters as tiles, and monitor
/// channels as a chart. Shared by `strata show-weights`, `strata plot-monitor`
/// and an experiment's outputs.
public enum Pictures {
    /// What `show-weights` draws.
    public struct WeightSettings: Sendable {
        /// Of a stack: the layer (1 = bottom); upper layers are shown in input space.
        public var layer = 1
        public var rescale: TileGrid.Rescale = .individual
        public var border = false
        public var count: Int?
        public var order: WeightViewer.Order = .stored
        /// Each filter pixel drawn as an N x N block (nil: 32 / tile height, at least 1).
        public var scale: Int?
        /// Undo the preprocessing's ZCA to show filters in input space.
        public var unwhiten = false
        public init() {}
    }

    /// The checkpoint view of layer `layer` of `stack`: layers above the first
    /// as patterns over the input (`W_1 W_2 ... W_k`).
    public static func layerView(_ stack: LayerStack, layer: Int) throws -> LearnerCheckpoint {
        guard (1 ... max(stack.layers.count, 1)).contains(layer), !stack.layers.isEmpty else {
            throw StrataError.invalidArgument(name: "layer", reason: "\(layer): the stack has \(stack.layers.count) layers (\(stack.sizes))")
        }
        guard layer > 1 else { return LearnerCheckpoint(learner: stack.layers[0], preprocessing: stack.preprocessing, extra: stack.extra) }
        var combined = stack.layers[0].filters
        for k in 1 ..< layer { combined = combined.matmul(stack.layers[k].filters) }
        var c = Autoencoder.Configuration(visibleCount: combined.rows, hiddenCount: combined.columns)
        c.irange = 1
        let projected = try Autoencoder(configurationJSON: encodeJSON(c), parameters: ["weights": combined, "hidden_bias": Tensor(zeros: [combined.columns]),
                                                                                  "visible_bias": Tensor(zeros: [combined.rows])], trainingState: [:])
        return LearnerCheckpoint(learner: projected, preprocessing: stack.preprocessing, extra: stack.extra)
    }

    /// Draws the filters of `settings.layer` of `stack` as a PNG at `path`; returns a line saying what was drawn.
    @discardableResult
    public static func weights(of stack: LayerStack, to path: String, settings: WeightSettings = WeightSettings()) throws -> String {
        let view = try layerView(stack, layer: settings.layer)
        let geometry = try WeightViewer.geometry(of: view)
        let tiles = try WeightViewer.tiles(view, count: settings.count, order: settings.order, unwhiten: settings.unwhiten)
        var grid = TileGrid(rescale: settings.rescale, border: settings.border)
        let scale = settings.scale ?? max(1, 32 / max(geometry.height, 1))
        guard (1 ... 32).contains(scale) else { throw StrataError.invalidArgument(name: "scale", reason: "\(scale) must lie in 1...32") }
        grid.scale = scale
        let image = try grid.render(tiles, geometry: geometry)
        try image.write(to: path)
        return "wrote \(path): \(tiles.rows) filters of \(geometry), \(image.width)x\(image.height) pixels"
    }

    /// The x axis of a monitor chart.
    public enum XAxis: String, CaseIterable, Sendable {
        case epochs, examples, seconds
        var channel: String { ["epochs": "epoch", "examples": "examples_seen", "seconds": "total_seconds"][rawValue]! }
        var label: String { ["epochs": "epoch", "examples": "examples seen", "seconds": "seconds"][rawValue]! }
    }

    /// A chart of the `selection` channels (names, globs, letter codes, ranges,
    /// comma-separated; codes index the sorted union of every run's channels)
    /// of each named run. Returns the chart and the items of the selection that
    /// no run has; each run draws every picked channel it has.
    public static func monitorChart(_ runs: [(name: String, log: MonitorLog)], selection: String, x: XAxis = .epochs, title: String)
        throws -> (chart: LineChart, picked: [String], missing: [String]) {
        let all = Array(Set(runs.flatMap { $0.log.channelNames })).sorted()
        var picked: [String] = [], missing: [String] = []
        for item in selection.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            if let found = try? ChannelSelection.select(item, from: all) {
                for channel in found where !picked.contains(channel) { picked.append(channel) }
            } else {
                missing.append(item)
            }
        }
        var chart = LineChart(title: title, xLabel: x.label, yLabel: picked.count == 1 ? picked[0] : "value")
        for (name, log) in runs {
            for channel in picked {
                let points = log.rows.compactMap { row -> (x: Double, y: Double)? in
                    guard let xv = row[x.channel], let yv = row[channel] else { return nil }
                    return (xv, yv)
                }
                if points.isEmpty { continue }
                let label = runs.count > 1 ? (picked.count > 1 ? "\(name): \(channel)" : name) : channel
                chart.series.append(.init(label: label, points: points))
            }
        }
        return (chart, picked, missing)
    }
}
