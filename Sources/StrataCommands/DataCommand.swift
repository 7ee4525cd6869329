import ArgumentParser
import Foundation
import Strata

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Find, fetch and look at datasets.",
        subcommands: [List.self, Fetch.self, Info.self, Show.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show which datasets are found, and where.")

        func run() throws {
            let catalog = DataCatalog()
            print("search order: " + catalog.roots.joined(separator: "  ->  "))
            for dataset in KnownDataset.allCases {
                if let location = catalog.locate(dataset) {
                    print("\(dataset.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) found  \(location.folder)")
                    for split in DataCatalog.Split.allCases {
                        let files = location.files[split]!.map { URL(fileURLWithPath: $0).lastPathComponent }
                        print("    \(split.rawValue): \(files.joined(separator: ", "))")
                    }
                } else {
                    print("\(dataset.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) missing  (\(dataset.installHint))")
                }
            }
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a dataset's official files and verify their published MD5 checksums.",
            discussion: "Needs curl and a network. Offline, Fashion-MNIST comes from the Debian package dataset-fashion-mnist."
        )

        @Argument(help: "mnist, fashion-mnist or cifar10.")
        var name: String

        @Option(help: "The data folder to download into.")
        var into = "data"

        func run() throws {
            guard let dataset = KnownDataset(name: name) else {
                throw ValidationError("unknown dataset '\(name)'; known: \(KnownDataset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let folder = try DataFetcher(root: into).fetch(dataset)
            print("\(dataset.rawValue) is in \(folder)")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load a dataset and describe it: shape, classes, value range, load time.")

        @OptionGroup var which: DatasetArgument

        func run() throws {
            let start = Date()
            let dataset = try which.load()
            let seconds = Date().timeIntervalSince(start)
            print("\(dataset.name): \(dataset.count) examples x \(dataset.featureCount) values, loaded in \(String(format: "%.3f", seconds)) s")
            if let geometry = dataset.geometry { print("images: \(geometry)") }
            if let range = dataset.examples.minMax() { print("values: \(range.min) ... \(range.max)") }
            if let labels = dataset.labels {
                let names = dataset.classNames ?? []
                var counts = [Int: Int]()
                for label in labels { counts[label, default: 0] += 1 }
                let text = counts.keys.sorted().map { "\($0)\(names.indices.contains($0) ? " " + names[$0] : ""): \(counts[$0]!)" }
                print("classes: " + text.joined(separator: ", "))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the first examples of a dataset as a grid of images (PNG).")

        @OptionGroup var which: DatasetArgument

        @Option(help: "How many examples to show.")
        var count = 100

        @Option(help: "Each pixel drawn as an N x N block.")
        var scale = 2

        @Option(name: .shortAndLong, help: "The PNG file to write.")
        var output = "samples.png"

        func validate() throws {
            guard count > 0 else { throw ValidationError("--count must be positive") }
            guard (1 ... 16).contains(scale) else { throw ValidationError("--scale must be 1...16") }
        }

        func run() throws {
            let dataset = try which.load().prefix(count)
            guard let geometry = dataset.geometry else {
                throw ValidationError("\(dataset.name) has no image geometry to draw")
            }
            // Map the dataset's value range onto [-1, 1], the viewer's range.
            var tiles = dataset.examples
            let (low, high) = tiles.minMax() ?? (0, 1)
            tiles.shift(by: -(low + high) / 2)
            tiles.scale(by: high > low ? 2 / (high - low) : 1)
            var grid = TileGrid(rescale: .none)
            grid.scale = scale
            try grid.render(tiles, geometry: geometry).write(to: output)
            print("wrote \(output) (\(dataset.count) examples of \(dataset.name))")
        }
    }
}


/// A dataset named on the command line and its split.
struct DatasetArgument: ParsableArguments {
    @Argument(help: "A dataset name, or a folder of PNG images with one subfolder per class.")
    var name: String

    @Option(help: "train or test.")
    var split: DataCatalog.Split = .train

    func load() throws -> Dataset { try DataCatalog().load(name, split: split) }
}
