import ArgumentParser
import Foundation
import Strata

/// A trial of an experiment (the library's `ExperimentTrial`): `train`,
/// `tutorial` and `sweep` (for every run) take it.
struct TrialOptions: ParsableArguments {
    @Option(help: "A trial run on the first N images; the plan lists everything this changes (patches, test images, held-out examples).")
    var limit: Int?
    @Option(help: "At most this many epochs per stage (a trial run).")
    var maxEpochs: Int?
    @Option(help: "Use this dataset (a name, a folder of PNG images or of CIFAR-10 binary batches) instead of the file's.")
    var dataset: String?

    func validate() throws { try trial.validate() }

    var trial: ExperimentTrial { ExperimentTrial(limit: limit, maxEpochs: maxEpochs, dataset: dataset) }
}

/// The trial-run and output overrides shared by `train` and `tutorial`.
struct ExperimentOptions: ParsableArguments {
    @OptionGroup(title: "Trial") var trialFlags: TrialOptions
    @Option(help: "Write the outputs here instead of the file's outputs.folder.")
    var out: String?
    @Option(name: .long, help: "Cores to use for everything (default: the file's threads, else all cores).")
    var threads: Int?
    @Flag(help: "Continue a stopped run in the same folder: finished stages are kept, a stage stopped part-way resumes exactly.")
    var resume = false
    @Option(help: ArgumentHelp("Split each local stage over P processes by image rows (local_stages.model_parallel); run under mpirun -np P, or R x P for R replicas.",
                               valueName: "P"))
    var modelParallel: Int?

    func validate() throws {
        if let modelParallel, modelParallel < 1 { throw ValidationError("--model-parallel must be at least 1, not \(modelParallel)") }
    }

    /// Reads the file, applies the overrides, prints the plan and (unless `dryRun`) runs it.
    func run(path: String, dryRun: Bool) throws {
        var experiment = try Experiment.read(path)
        if let out { experiment.outputs.folder = out }
        if let modelParallel {
            guard experiment.localStages != nil else {
                throw ValidationError("--model-parallel splits local stages (local_stages in the file); \(path) has none")
            }
            experiment.localStages!.modelParallel = modelParallel
        }
        let (trial, changes) = try trialFlags.trial.applied(to: experiment)
        let compute = try ComputeOptions.compute(threads: threads ?? experiment.threads)
        var runner = ExperimentRun(trial, compute: compute)
        runner.resume = resume
        print("experiment \(experiment.name) (\(path)), \(compute.cores) core\(compute.cores == 1 ? "" : "s"):")
        for step in runner.plan + changes { print("  " + step) }
        if dryRun { return }
        compute.apply()
        ComputeOptions.announce(compute)
        _ = try runner.run()
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Run an experiment described in a YAML file: data, patches, preprocessing, a stack of layers, fine-tuning, pictures.",
        discussion: """
            The file is checked before anything runs: an unknown or repeated key, a wrong type or a missing \
            field is reported with its file, line and column. Keys are the flags of `strata pretrain` and \
            `strata finetune` with underscores. Start from a tutorial's experiment.yaml:
              strata train Tutorials/stacked_autoencoders/experiment.yaml --dry-run
            """
    )

    @Argument(help: "The experiment YAML file.")
    var experiment: String
    @Flag(help: "Validate the file and print the plan without running it.")
    var dryRun = false
    @OptionGroup var options: ExperimentOptions

    func run() throws { try options.run(path: experiment, dryRun: dryRun) }
}

struct TutorialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tutorial",
        abstract: "Run a tutorial end to end, from any folder, writing its outputs there (default: grbm_smd, pylearn2's quick start).",
        discussion: "Tutorials:\n" + TutorialCatalog.shipped.map { "  " + $0.name.padding(toLength: 22, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n") + """


            Each folder holds experiment.yaml (a study: sweep.yaml) and a README walkthrough. A run ends by printing \
            the checkpoint, the weights and monitor PNGs and the report.
            """
    )

    @Argument(help: "The tutorial's folder name.", completion: .custom { _, _, _ in TutorialCatalog.names(in: TutorialCatalog.searchPath()) })
    var name = "grbm_smd"
    @Option(help: "Where the Tutorials folder is (default: ./Tutorials, $STRATA_TUTORIALS, PREFIX/share/strata/Tutorials of an installed strata, or the checkout it was built in).")
    var tutorials: String?
    @Flag(help: "Print the plan without running it.")
    var dryRun = false
    @OptionGroup var options: ExperimentOptions

    func run() throws {
        let path = try TutorialCatalog.experiment(name, given: tutorials)
        guard Sweep.Settings.isSweepFile(path) else { return try options.run(path: path, dryRun: dryRun) }
        // A study of several runs: the sweep file, with the trial overrides passed to every run.
        var settings = try Sweep.Settings.read(sweepFile: path)
        (settings.trial, settings.resume) = (options.trialFlags.trial, options.resume)
        if let out = options.out { settings.folder = out }
        if let threads = options.threads { settings.threadsPerRun = max(1, threads / settings.parallel) }
        try SweepCommand.run(settings, dryRun: dryRun)
    }
}
