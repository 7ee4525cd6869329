import ArgumentParser
import Foundation
import Strata

@main
struct StrataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Unsupervised pretraining and feature extraction: RBMs, autoencoders, stacks, pictures.",
        discussion: """
            Datasets are found by name (mnist, fashion-mnist, cifar10) in $STRATA_DATA_PATH, \
            then ./data, then /usr/share/datasets. Start with `strata data list`.
            """,
        version: "0.1.0",
        subcommands: [TutorialCommand.self, TrainCommand.self, DataCommand.self, PatchesCommand.self, PreprocessCommand.self, PretrainCommand.self, FeaturesCommand.self,
                      FinetuneCommand.self, EvaluateCommand.self, PredictCommand.self, ShowWeightsCommand.self, PlotMonitorCommand.self,
                      BenchCommand.self]
    )

    static func main() {
        // Line-buffered output, so that a long run's log (`strata ... | tee run.log`, `> run.log`)
        // shows each epoch and each candidate C as it happens, not at exit.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every computing command takes.
struct ComputeOptions: ParsableArguments {
    @Option(name: .long, help: "Cores to use: BLAS threads, and the cores a plain-SGD training step splits itself over (default: all cores).")
    var threads: Int?

    /// The cores to use: BLAS's threads, and the cores a training step may split itself over.
    var cores: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    func apply() {
        BLAS.threadCount = cores
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
    }
}

import Foundation
