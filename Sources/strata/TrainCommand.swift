import ArgumentParser
import Foundation
import Strata

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Run an experiment described in a YAML file: data, patches, preprocessing, a stack of layers, fine-tuning, pictures.",
        discussion: """
            The file is checked before anything runs: an unknown or repeated key, a wrong type or a missing \
            field is reported with its file, line and column. Start from a tutorial's experiment.yaml:
              strata train Tutorials/stacked_autoencoders/experiment.yaml --dry-run
            """
    )

    @Argument(help: "The experiment YAML file.")
    var experiment: String
    @Flag(help: "Validate the file and print the plan without running it.")
    var dryRun = false
    @Option(help: "Use only the first N images (a quick trial run).")
    var limit: Int?
    @Option(help: "At most this many epochs per stage (a quick trial run).")
    var maxEpochs: Int?
    @Option(help: "Write the outputs here instead of the file's outputs.folder.")
    var out: String?
    @Option(help: "Use this dataset (a name or a PNG folder) instead of the file's.")
    var dataset: String?
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try runExperiment(path: experiment, dryRun: dryRun, limit: limit, maxEpochs: maxEpochs, out: out, dataset: dataset, compute: compute)
    }
}

func runExperiment(path: String, dryRun: Bool, limit: Int?, maxEpochs: Int?, out: String?, dataset: String?, compute: ComputeOptions) throws {
    var experiment = try Experiment.read(path)
    if let out { experiment.outputs.folder = out }
    if let dataset { experiment.data.name = dataset }
    var runner = ExperimentRunner(experiment: experiment, limit: limit, maxEpochs: maxEpochs, cores: compute.cores)
    print("experiment \(experiment.name) (\(path)):")
    for step in runner.plan { print("  " + step) }
    if dryRun { return }
    compute.apply()
    try runner.run()
}

struct TutorialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tutorial",
        abstract: "Run a tutorial from Tutorials/ end to end (default: grbm_smd, pylearn2's quick start).",
        discussion: """
            Tutorials: grbm_smd (GRBM by score matching on 8x8 whitened patches), stacked_autoencoders \
            (greedy pretraining, softmax fine-tuning, and the same network without pretraining), \
            single_layer_svm (patch features extracted convolutionally, pooled, linear SVM). Each folder \
            holds experiment.yaml and a README walkthrough. Ends by printing the checkpoint, the weights \
            and monitor PNGs and the report.
            """
    )

    @Argument(help: "The tutorial's folder name.")
    var name = "grbm_smd"
    @Option(help: "Where the Tutorials folder is (default: ./Tutorials, or beside the strata binary's checkout).")
    var tutorials: String?
    @Option(help: "Use only the first N images (a quick trial run).")
    var limit: Int?
    @Option(help: "At most this many epochs per stage (a quick trial run).")
    var maxEpochs: Int?
    @Option(help: "Write the outputs here instead of the tutorial's outputs.folder.")
    var out: String?
    @Option(help: "Use this dataset (a name or a PNG folder) instead of the tutorial's.")
    var dataset: String?
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [tutorials, "Tutorials", executable.deletingLastPathComponent().appendingPathComponent("../../../Tutorials").standardized.path].compactMap { $0 }
        guard let root = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/" + name + "/experiment.yaml") }) else {
            let known = candidates.compactMap { try? FileManager.default.contentsOfDirectory(atPath: $0) }.first?.sorted().joined(separator: ", ") ?? "none found"
            throw ValidationError("no tutorial '\(name)' (looked for \(name)/experiment.yaml in \(candidates.joined(separator: ", "))); tutorials: \(known)")
        }
        try runExperiment(path: root + "/" + name + "/experiment.yaml", dryRun: false, limit: limit, maxEpochs: maxEpochs, out: out, dataset: dataset, compute: compute)
    }
}
