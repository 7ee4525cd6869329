import ArgumentParser
import Foundation
import Strata

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Find, fetch and look at datasets.",
        subcommands: [List.self, Fetch.self, Info.self, Show.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show which datasets are found, and where.")

        func run() throws { DataCatalog().report().forEach { print($0) } }
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
            print(String(format: "loaded in %.3f s", Date().timeIntervalSince(start)))
            dataset.report.forEach { print($0) }
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
            try Pictures.examples(of: dataset, to: output, scale: scale)
            print("wrote \(output) (\(dataset.count) examples of \(dataset.name))")
        }
    }
}

/// A dataset named on the command line and its split.
struct DatasetArgument: ParsableArguments {
    @Argument(help: "A dataset name, a folder of CIFAR-10 binary batches, or a folder of PNG images with one subfolder per class (or train/CLASS and test/CLASS subfolders).")
    var name: String

    @Option(help: "train or test.")
    var split: DataCatalog.Split = .train

    func load() throws -> Dataset { try DataCatalog().load(name, split: split) }
}
