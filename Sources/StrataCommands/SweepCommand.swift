import ArgumentParser
import Foundation
import Strata

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Search an experiment's settings: a grid or a random search, runs in parallel, successive halving, a table and charts of the results.",
        discussion: """
            Each run is the experiment with the swept keys set, run by `strata train` in its own folder \
            (SWEEP/run001, ...). Keys are the experiment file's (layers[0].hidden, finetune.learning_rate, \
            labels_per_class); a value is YAML, `default` removes the key. Every run's experiment is read \
            before anything runs, so a key that does not exist or a value of the wrong type is refused first. \
            Runs are compared by validation accuracy (the held-out part of the training labels); the test \
            accuracy is reported, never used to choose. Under `mpirun -np N` the runs spread over the ranks \
            (one rank per machine, each running --parallel runs).
              strata sweep Tutorials/stacked_autoencoders/experiment.yaml --set finetune.learning_rate=0.1,0.5 \\
                  --set layers[0].hidden=500,1000 --parallel 2 --limit 5000 --max-epochs 5
              strata sweep experiment.yaml --set finetune.learning_rate=log:0.01..1 --random 20 --halving 1:3
            With several experiment files, every combination runs on each. A sweep file (a study) names its experiments, \
            beside it, and its values: `experiments: [a.yaml, b.yaml]`, `set: {labels_per_class: [10, 100, all], \
            seed: [1, 2, 3]}`, and any of the options below by their YAML names (parallel, threads_per_run, ...):
              strata sweep Tutorials/label_efficiency/sweep.yaml
            Runs that differ only after pretraining (labels, fine-tuning settings) share one pretraining. \
            Writes SWEEP/results.csv, results.md and results_KEY.png; a swept seed adds summary.md/.csv and \
            summary_KEY.png (mean, lowest and highest test accuracy over the seeds). Stopped (Ctrl-C), it resumes \
            with --resume, keeping the runs that ended.
            """
    )

    @Argument(help: "The experiment YAML files each combination runs, or one sweep file (a study: its experiments and values, see the discussion).")
    var experiments: [String]
    @Option(name: .customLong("set"), help: "KEY=V1,V2,... (a list), or for --random KEY=LOW..HIGH or KEY=log:LOW..HIGH. Repeat for each key; replaces a sweep file's values of KEY.")
    var swept: [String] = []
    @Option(help: "Draw N runs at random from the values and ranges (default: the grid of every combination).")
    var random: String?
    @Option(help: "Seed of the random search's draws (default \(Sweep.Settings(experiments: [], swept: []).seed)).")
    var seed: String?
    @Option(help: "Runs at once on this machine (each rank of an mpirun job) (default \(Sweep.Settings(experiments: [], swept: []).parallel)).")
    var parallel: String?
    @Option(help: "Cores each run uses (default: the cores divided among the parallel runs).")
    var threadsPerRun: String?
    @Option(help: "Successive halving, GRACE:REDUCTION or on (\(SuccessiveHalving().grace):\(SuccessiveHalving().reduction)): rungs at GRACE x REDUCTION^k epochs; a run whose validation error is outside the best 1/REDUCTION at a rung stops. Softmax fine-tuning only.")
    var halving: String?
    @Option(help: "The sweep's folder (default: a sweep file's runs/NAME, else runs/EXPERIMENT-sweep).")
    var out: String?
    @Flag(help: "Finish a stopped sweep: the runs that ended are kept, the others continue from their checkpoints.")
    var resume = false
    @OptionGroup(title: "Trial (every run)") var trialFlags: TrialOptions
    @Flag(help: "Read every run's experiment and print the runs without running them.")
    var dryRun = false

    func run() throws {
        var settings = Sweep.Settings(experiments: experiments, swept: [])
        try settingsFailure {
            let flags = FlagSettings(["random": random, "seed": seed, "parallel": parallel, "threads_per_run": threadsPerRun, "halving": halving, "out": out])
            settings = try Sweep.Settings.read(paths: experiments, swept: try swept.map(SweptSetting.parse), flags: flags)
        }
        (settings.resume, settings.trial) = (resume, trialFlags.trial)
        try Self.run(settings, dryRun: dryRun)
    }

    /// Prints the runs (`dryRun`) or runs the sweep and prints its table; exits 128 + the signal that stopped it.
    static func run(_ settings: Sweep.Settings, dryRun: Bool) throws {
        if dryRun {
            let runs = try Sweep.plan(settings).runs
            print("\(runs.count) run\(runs.count == 1 ? "" : "s"), each experiment read and valid:")
            for run in runs { print("  \(run.name) \(run.experimentName) \(run.summary)") }
            return
        }
        let compute = try ComputeOptions.compute(threads: nil)
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let outcome = try Sweep.run(settings, executable: executable, compute: compute)
        if !outcome.files.isEmpty {
            print(SweepReport(settings: settings, runs: outcome.runs, results: outcome.results).markdown, terminator: "")
            for file in outcome.files { print(file) }
        }
        if let signal = outcome.stoppedBy {
            MPIWorld.finish()
            Foundation.exit(128 + signal)
        }
    }
}
