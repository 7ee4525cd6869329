import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension DataCatalog {
    /// Which known datasets are found, and where: the lines of `strata data list`.
    public func report() -> [String] {
        var lines = ["search order: " + roots.joined(separator: "  ->  ")]
        for dataset in KnownDataset.allCases {
            let name = dataset.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
            guard let location = locate(dataset) else { lines.append("\(name) missing  (\(dataset.installHint))"); continue }
            lines.append("\(name) found  \(location.folder)")
            for split in DataCatalog.Split.allCases {
                lines.append("    \(split.rawValue): \(location.files[split]!.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "))")
            }
        }
        return lines
    }
}

extension Dataset {
    /// Shape, image geometry, value range and examples per class: the lines of `strata data info`.
    public var report: [String] {
        var lines = ["\(name): \(count) examples x \(featureCount) values"]
        if let geometry { lines.append("images: \(geometry)") }
        if let range = examples.minMax() { lines.append("values: \(range.min) ... \(range.max)") }
        if let labels {
            let names = classNames ?? []
            var counts = [Int: Int]()
            for label in labels { counts[label, default: 0] += 1 }
            lines.append("classes: " + counts.keys.sorted().map { "\($0)\(names.indices.contains($0) ? " " + names[$0] : ""): \(counts[$0]!)" }.joined(separator: ", "))
        }
        return lines
    }
}

extension Pictures {
    /// Draws the examples of `dataset` as a grid of images at `path`, the
    /// dataset's value range mapped onto the viewer's [-1, 1], each pixel an
    /// N x N block (`scale`, 1...16).
    public static func examples(of dataset: Dataset, to path: String, scale: Int = 2) throws {
        guard let geometry = dataset.geometry else { throw StrataError.invalidArgument(name: "dataset", reason: "\(dataset.name) has no image geometry to draw") }
        guard (1 ... 16).contains(scale) else { throw StrataError.invalidArgument(name: "scale", reason: "\(scale) must lie in 1...16") }
        var tiles = dataset.examples
        let (low, high) = tiles.minMax() ?? (0, 1)
        tiles.shift(by: -(low + high) / 2)
        tiles.scale(by: high > low ? 2 / (high - low) : 1)
        var grid = TileGrid(rescale: .none)
        grid.scale = scale
        try grid.render(tiles, geometry: geometry).write(to: path)
    }

    /// The runs named by `specs`: a run folder (its `monitor.jsonl`) or a
    /// `monitor.jsonl` file, optionally suffixed `:NAME` (default: the folder's name).
    public static func monitorRuns(_ specs: [String]) throws -> [(name: String, log: MonitorLog)] {
        try specs.map { spec in
            var path = spec, name: String?
            if let colon = spec.lastIndex(of: ":"), !FileManager.default.fileExists(atPath: spec) {
                (path, name) = (String(spec[..<colon]), String(spec[spec.index(after: colon)...]))
            }
            var isFolder: ObjCBool = false
            let folder = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
            let runName = name ?? URL(fileURLWithPath: path).lastPathComponent
            return (runName, try MonitorLog.read(folder ? path + "/monitor.jsonl" : path))
        }
    }
}
