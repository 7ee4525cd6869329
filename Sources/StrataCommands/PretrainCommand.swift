import ArgumentParser
import Foundation
import Strata

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Train one layer (GRBM, binary RBM, autoencoder or K-means) without labels; write its checkpoint, monitor file and stack.",
        discussion: """
            Input is a dataset's images (--dataset, --pixel-scale, --binarize), random patches of them \
            (--window with --random N), an .npy matrix (--input; with --block-rows N it stays on disk and is \
            read N rows at a time, for data larger than memory), or the features of a stack's top layer \
            (--on: the next layer of a greedy stack, on the data the stack records), or, with --on a stack \
            trained on patches and --window, random windows of that stack's pooled maps (a second layer of \
            features, Coates and Ng 2011; --pool, --encoding, --pool-op, --stride say how the maps are made). \
            The run folder gets \
            model.safetensors (the checkpoint, with the fitted preprocessing), monitor.jsonl (channels per \
            epoch) and stack.safetensors (the layers so far). --resume continues a run exactly. Flags have \
            the names of an experiment file's keys (--learning-rate is learning_rate).

              strata pretrain --learner autoencoder --hidden 1000 \\
                --corruption masking:0.1 --run runs/l1
              strata pretrain --on runs/l1/stack.safetensors \\
                --learner autoencoder --hidden 1000 \\
                --corruption masking:0.2 --run runs/l2
            (runs/l2/stack.safetensors is then 784-1000-1000.)

            A second layer on 2x2 windows of a K-means layer's maps, triangle-encoded \
            and sum-pooled over a 6x6 grid (Tutorials/two_layer_svm):
              strata pretrain --on runs/km/stack.safetensors --window 2 \\
                --pool 6x6 --encoding triangle --preprocess zca \\
                --learner kmeans --hidden 1024 --run runs/km2

            pylearn2's quick start (grbm_smd) on Fashion-MNIST patches:
              strata pretrain --pixel-scale 255 --window 8 --random 150000 \\
                --preprocess gcn,zca --learner grbm --hidden 400 \\
                --objective smd:0.4 --init-sigma 0.4 --init-hidden-bias -2 \\
                --batch-size 5 --learning-rate 0.1 --lr-schedule monitor \\
                --epochs 100 --early-stopping train_objective \\
                --run runs/grbm_smd/layer1
            """
    )

    @OptionGroup(title: "Data") var images: ImageOptions
    @OptionGroup(title: "Data") var pixels: PixelOptions
    @OptionGroup(title: "Input") var source: PretrainInputOptions
    @OptionGroup(title: "Maps (with --on a patch-trained stack and --window: a second stage on windows of its pooled maps)") var maps: FeatureOptions
    @OptionGroup(title: "Preprocessing") var preprocessing: PreprocessingOptions
    @Option(help: "Hold out this fraction of the examples (the last) for valid_* channels (default: none held out).")
    var validationFraction: Float?
    @OptionGroup(title: "Learner") var learner: LearnerOptions
    @OptionGroup(title: "Training") var training: TrainingOptions
    @Option(help: "Seed of initialization, shuffling, sampling and patches (default \(TrainingConfiguration().seed)).")
    var seed: String?
    @OptionGroup var runFolder: RunOptions
    @Flag(help: "Continue the run in --run from its checkpoint.")
    var resume = false
    @OptionGroup var compute: ComputeOptions

    /// The typed settings these flags describe, refusing flags that would not act.
    func settings() throws -> Pretraining.Settings {
        let layerSource = FlagSettings(learner.settings.merging(["seed": seed]) { a, _ in a })
        let trainingSource = FlagSettings(training.settings)
        let layer = try LayerSettings.read(learner: layerSource, training: trainingSource)
        let input = try Pretraining.Input.read(from: FlagSettings(images.settings.merging(pixels.settings) { a, _ in a }
            .merging(source.settings) { a, _ in a }.merging(maps.settings) { a, _ in a }.merging(["preprocess": preprocessing.given ? "" : nil]) { a, _ in a }))
        var s = Pretraining.Settings(input: input, layer: layer)
        s.preprocessing = try preprocessing.pipeline()
        if let validationFraction { s.validationFraction = validationFraction }
        if let folder = runFolder.folder { s.folder = folder }
        s.resume = resume
        s.patchSeed = layer.training.seed
        return s
    }

    func validate() throws {
        try settingsFailure { _ = try settings() }
        if let f = validationFraction, !(f >= 0 && f < 1) { throw ValidationError("--validation-fraction must lie in [0, 1), not \(f)") }
    }

    func run() throws {
        try Pretraining.run(try settings(), compute: try compute.announced())
    }
}


/// What a pretraining run trains on, when not a dataset's whole images.
struct PretrainInputOptions: ParsableArguments {
    @Option(help: "Train on this .npy matrix (examples x features) instead of images.")
    var input: String?
    @Option(help: "Add a layer on top of this stack (a stack.safetensors or a layer checkpoint): train on its features of the images it records.")
    var on: String?
    @Option(help: "Train on random patches of this size (N or HxW).")
    var window: String?
    @Option(help: "Number of random patches (with --window; default \(Pretraining.PatchSettings.defaultCount)).")
    var random: Int?
    @Option(help: ArgumentHelp("Leave the --input matrix on disk and read it N rows at a time (data larger than memory; blocks are shuffled, then the rows within each block).", valueName: "N"))
    var blockRows: Int?

    var settings: [String: String?] {
        ["input": input, "on": on, "window": window, "random": random.map(String.init), "block_rows": blockRows.map(String.init)]
    }
}
