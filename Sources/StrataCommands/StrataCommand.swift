import ArgumentParser
import Foundation
import Strata

/// The `strata` command: every subcommand parses its flags into the library's
/// typed settings and makes one library call.
public struct StrataCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Unsupervised pretraining and feature extraction: RBMs, autoencoders, stacks, pictures.",
        discussion: """
            Datasets are found by name (mnist, fashion-mnist, cifar10) in $STRATA_DATA_PATH, \
            then ./data, then /usr/share/datasets. Start with `strata data list`, then `strata tutorial`; `strata info` shows the kernels in use.
            """,
        version: StrataVersion.current,
        subcommands: [TutorialCommand.self, TrainCommand.self, DataCommand.self, PatchesCommand.self, PreprocessCommand.self, PretrainCommand.self,
                      FeaturesCommand.self, FinetuneCommand.self, EvaluateCommand.self, PredictCommand.self, ExportCommand.self, ShowWeightsCommand.self,
                      PlotMonitorCommand.self, SweepCommand.self, LaunchCommand.self, BenchCommand.self, InfoCommand.self]
    )

    public init() {}

    /// Parses the process's arguments and runs the command, exiting non-zero with the error's sentence on failure.
    public static func main() {
        // Line-buffered output, so that a long run's log (`strata ... | tee run.log`)
        // shows each epoch and each candidate C as it happens, not at exit.
        setvbuf(stdout, nil, _IOLBF, 0)
        // Ctrl-C or SIGTERM: training finishes its batch, writes a checkpoint and says how to resume.
        StopRequest.installSignalHandlers()
        ParentWatch.startIfAsked()
        // Started by mpirun: join the job; ranks other than 0 train silently.
        let world = MPIWorld.startIfLaunched()
        let errors = world?.silenceOutputUnlessRankZero() ?? stderr
        do {
            var command = try parseAsRoot(joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
            try command.run()
            MPIWorld.finish()
        } catch StrataError.interrupted(let signal, let checkpoint, let epoch, let position) {
            // Every rank stops after the same batch (the stop is agreed in the step's allreduce).
            let error = StrataError.interrupted(signal: signal, checkpoint: checkpoint, epoch: epoch, position: position)
            if world?.rank ?? 0 == 0 { fputs("\(error.description)\n", stderr) }
            MPIWorld.finish()
            Foundation.exit(128 + signal) // the shell's convention for a run ended by a signal
        } catch {
            if let world, world.size > 1, exitCode(for: error) != .success {
                // The other ranks may be waiting for this one in a collective: end them all.
                fputs("strata rank \(world.rank) of \(world.size): \(fullMessage(for: error))\n", errors)
                fflush(errors) // MPI_Abort ends the process without flushing its streams
                world.abort(code: 1)
            }
            MPIWorld.finish()
            exit(withError: error)
        }
    }
}

/// The arguments with a negative number after a long option joined to it
/// (`--hidden -5` as `--hidden=-5`), so the option's reader judges the value
/// and says what is allowed, where the parser would take `-5` for a flag and
/// report the value missing. No flag of Strata's is a digit, so `-5` is never one.
public func joiningNegativeValues(_ arguments: [String]) -> [String] {
    var joined: [String] = []
    for argument in arguments {
        if let option = joined.last, option.hasPrefix("--"), !option.contains("="),
           argument.count > 1, argument.hasPrefix("-"), argument.dropFirst().first.map({ $0.isNumber || $0 == "." }) == true {
            joined[joined.count - 1] = option + "=" + argument
        } else {
            joined.append(argument)
        }
    }
    return joined
}

/// The cores every computing command uses: BLAS, training steps, patches, features, SVM.
struct ComputeOptions: ParsableArguments {
    @Option(name: .long, help: "Cores to use for everything: BLAS threads, training steps, patches, preprocessing, features, the SVM (default: all cores).")
    var threads: Int?

    func compute() throws -> Compute { try Self.compute(threads: threads) }

    /// The compute for `threads` cores (nil: all), its refusal worded as the flag's.
    static func compute(threads: Int?) throws -> Compute {
        var compute = Compute.allCores
        try settingsFailure { compute = try Compute(threads: threads) }
        return compute
    }

    /// The compute, applied to the process.
    func applied() throws -> Compute {
        let c = try compute()
        c.apply()
        return c
    }

    /// The compute, applied, with the run's header: the kernels in use on
    /// how many cores (and ranks), and any warning about them.
    func announced() throws -> Compute {
        let c = try applied()
        Self.announce(c)
        return c
    }

    /// Prints the run's header for `compute` (the kernels, the cores, the ranks).
    static func announce(_ compute: Compute) {
        KernelReport.logLines(cores: compute.cores, ranks: MPIWorld.current?.size ?? 1).forEach { print($0) }
    }

    func validate() throws { _ = try compute() }
}

/// The images a command reads.
struct ImageOptions: ParsableArguments {
    @Option(help: "A dataset name (fashion-mnist, mnist, cifar10), a folder of CIFAR-10 binary batches, or a folder of PNG images with one subfolder per class, or train/CLASS and test/CLASS subfolders for separate test images (default: \(ImageSettings.defaultDataset), or the one the input file records).")
    var dataset: String?
    @Option(help: "Use only the first N images (N/6 of the test images beside N training images).")
    var limit: Int?

    var settings: [String: String?] { ["dataset": dataset, "limit": limit.map(String.init)] }
}

/// Pixel treatment of raw images (recorded in every file trained on them).
struct PixelOptions: ParsableArguments {
    @Option(help: "Multiply pixel values by this (255 gives CIFAR-like 0..255 values to MNIST-style data; default 1).")
    var pixelScale: String?
    @Flag(help: "Threshold pixels at half their range to 0/1 (for binary RBMs on images).")
    var binarize = false

    var settings: [String: String?] { ["pixel_scale": pixelScale, "binarize": binarize ? "true" : nil] }
}

/// The run folder.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("run"), help: "The run folder.")
    var folder: String?
}

/// Wraps a library error so the command prints it with its usage hint.
func settingsFailure<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as StrataError { throw ValidationError(error.description) }
}
