import ArgumentParser
import Foundation
import Strata

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Train a classifier on labeled data: a softmax head on a pretrained stack (backpropagation through it), or a linear SVM on its features.",
        discussion: """
            The last --validation training examples are held out to choose the epoch (softmax) or C (svm); \
            the test split is used once, at the end. With --stack, the images are the ones the stack \
            records (--dataset may only repeat it). The run folder gets classifier.safetensors, \
            monitor.jsonl (softmax) and evaluation.txt/.json/.png (accuracy, per-class accuracy, confusion matrix).
            """,
        subcommands: [SoftmaxFinetune.self, SVMFinetune.self]
    )
}

/// The labeled data and hold-out shared by both heads.
struct LabeledOptions: ParsableArguments {
    @OptionGroup(title: "Data") var images: ImageOptions
    @Option(help: "Hold out the last N training examples for validation (default \(HeldOut.defaultCount), or a fifth of a smaller training set).")
    var validation: Int?
    @Option(name: .customLong("labels-per-class"), help: ArgumentHelp("Learn from few labels: train (and choose the epoch or C, on a held-out part of them) on N labeled examples of each class, a seeded stratified draw; no other training label is read. all: every label (the default).", valueName: "N"))
    var labelsPerClassText: String?
    @Flag(help: "With --stack and --dataset OTHER: apply the stack to another dataset's images (self-taught learning, Raina et al. 2007): a patch-trained stack reads any images its window fits with its channels; recorded in the classifier.")
    var selfTaught = false
    @OptionGroup var run: RunOptions
    @Flag(help: "Continue the run in --run where it stopped, with the same stack, settings and data: softmax exactly where it was (finetune.safetensors), svm skipping the candidates of C already solved (c_search.json).")
    var resume = false

    func validate() throws {
        _ = try labelsPerClass
        if selfTaught, images.dataset == nil { throw ValidationError("--self-taught needs --dataset: the other dataset whose images the stack should read") }
    }

    /// `--labels-per-class`, read by the library's reader (nil: every label).
    var labelsPerClass: Int? {
        get throws { try FewLabels.read(from: FlagSettings([FewLabels.key: labelsPerClassText])) }
    }

    /// The images: the stack's (checked against --dataset), else the flags'.
    func imageSettings(stack: LayerStack?, name: String?, pixels: PixelOptions?) throws -> ImageSettings {
        if let stack, let name {
            return try ImageSettings(contract: InputContract(metadata: stack.extra, path: name), dataset: images.dataset, split: .train, limit: images.limit, what: name,
                                     selfTaught: selfTaught)
        }
        return try ImageSettings.read(from: FlagSettings(images.settings.merging(pixels?.settings ?? [:]) { a, _ in a }))
    }
}

struct SoftmaxFinetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "softmax",
        abstract: "Put a softmax layer on a pretrained stack and train the whole network by backpropagation.",
        discussion: """
            Stacked denoising autoencoder, pretrained greedily, then fine-tuned:
              strata finetune softmax --stack runs/sdae/l2/stack.safetensors \\
                --run runs/sdae/finetune
            The same network without pretraining, for comparison:
              strata finetune softmax --hidden 1000,1000 --run runs/sdae/no-pretraining
            The modern recipe instead of pretraining (ReLU with He initialization, batch norm, Adam):
              strata finetune softmax --hidden 1000,1000 --activation relu --batch-norm true --optimizer adam --run runs/relu-bn
            A small student learning from a trained classifier (distillation):
              strata finetune softmax --hidden 100 --teacher runs/sdae/finetune/classifier.safetensors --run runs/student
            A network on features written by `strata features` (labels in FILE.labels.npy), the training \
            features read from disk 65,536 rows at a time:
              strata finetune softmax --train-features train.npy --test-features test.npy --block-rows 65536 --hidden 1000 --run runs/mlp
            Every run writes classifier.safetensors, monitor.jsonl, TensorBoard events, learning_curves.png and evaluation.*.
            """
    )

    @OptionGroup var data: LabeledOptions
    @OptionGroup(title: "Network") var layers: NetworkOptions
    @OptionGroup(title: "Without --stack") var pixels: PixelOptions
    @OptionGroup(title: "Training") var training: FineTuningOptions
    @OptionGroup var compute: ComputeOptions
    @OptionGroup(title: "Feature files") var featureFileOptions: FeatureFileOptions
    @Option(help: ArgumentHelp("With --train-features: leave them on disk and read N rows at a time (features larger than memory).", valueName: "N"))
    var blockRows: Int?

    /// Every flag that chooses the input, by its settings key.
    var inputFlags: FlagSettings {
        FlagSettings(featureFileOptions.settings.merging(data.images.settings) { a, _ in a }.merging(pixels.settings) { a, _ in a }
            .merging(["stack": layers.stack, "block_rows": blockRows.map(String.init)]) { a, _ in a }.merging(layers.randomSettings) { a, _ in a })
    }

    func settings() throws -> SoftmaxFineTuning.Settings {
        let training = try FineTuningConfiguration.read(from: FlagSettings(self.training.settings))
        let network: SoftmaxFineTuning.Network, pretrained: LayerStack?
        if case .stack(let stack) = try FineTuningInput.readSoftmax(from: inputFlags) {
            pretrained = try LayerStack.read(stack)
            network = .pretrained(pretrained!, name: stack)
        } else {
            pretrained = nil
            network = try .random(reading: FlagSettings(layers.randomSettings))
        }
        var s = SoftmaxFineTuning.Settings(network: network, images: try data.imageSettings(stack: pretrained, name: layers.stack, pixels: pixels))
        s.training = training
        (s.validation, s.labelsPerClass) = (data.validation, try data.labelsPerClass)
        if let folder = data.run.folder { s.folder = folder }
        s.resume = data.resume
        return s
    }

    func validate() throws {
        try settingsFailure {
            if case .pixels = try FineTuningInput.readSoftmax(from: inputFlags) { _ = try settings() }
        }
    }

    func run() throws {
        let start = Date()
        let result: SoftmaxFineTuning.Result
        if case .featureFiles(let files) = try FineTuningInput.readSoftmax(from: inputFlags) {
            result = try SoftmaxFineTuning.run(try settings(), features: files, compute: try compute.announced())
        } else {
            result = try SoftmaxFineTuning.run(try settings(), compute: try compute.announced())
        }
        print(String(format: "total %.1f s", Date().timeIntervalSince(start)))
        print("classifier: \(result.evaluation.classifierPath)\nmonitor:    \(result.monitorPath)\nevaluation: \(result.evaluation.evaluationPath)")
    }
}

struct SVMFinetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svm",
        abstract: "Train a one-vs-rest linear SVM on a stack's features (convolutional for patch-trained stacks) or on .npy features.",
        discussion: """
            Features are standardized (mean 0, std 1 per feature, fitted on training data). Without --c, \
            C is chosen from --c-grid by the validation accuracy, then the SVM is retrained on all \
            training examples with it. Coates, Lee and Ng's single-layer pipeline:
              strata finetune svm --stack runs/patches/stack.safetensors \\
                --stride 1 --pool 2x2 --run runs/svm
            """
    )

    @OptionGroup var data: LabeledOptions
    @Option(help: "The stack whose features are classified.")
    var stack: String?
    @OptionGroup(title: "Features") var features: FeatureOptions
    @OptionGroup(title: "Feature files") var featureFiles: FeatureFileOptions
    @OptionGroup(title: "SVM") var svm: SVMOptions
    @OptionGroup var compute: ComputeOptions

    func settings() throws -> SVMFineTuning.Settings {
        let (svm, grid, stdEps) = try SVMFineTuning.readSVM(from: FlagSettings(self.svm.settings))
        let source: SVMFineTuning.Features, pretrained: LayerStack?
        let input = FlagSettings(featureFiles.settings.merging(data.images.settings) { a, _ in a }.merging(features.settings) { a, _ in a }
            .merging(["stack": stack]) { a, _ in a })
        switch try FineTuningInput.readSVM(from: input) {
        case .featureFiles(let files):
            (source, pretrained) = (.files(train: files.train, test: files.test), nil)
        case .stack(let stack):
            pretrained = try LayerStack.read(stack)
            source = .stack(pretrained!, name: stack, try FeatureSettings.read(from: FlagSettings(features.settings)))
        case .pixels:
            throw ValidationError("an SVM reads feature files or a stack's features, not pixels")
        }
        var s = SVMFineTuning.Settings(features: source, images: try data.imageSettings(stack: pretrained, name: stack, pixels: nil))
        (s.svm, s.cGrid, s.stdEps) = (svm, grid, stdEps)
        (s.validation, s.labelsPerClass) = (data.validation, try data.labelsPerClass)
        if let folder = data.run.folder { s.folder = folder }
        s.resume = data.resume
        return s
    }

    func run() throws {
        let start = Date()
        let result = try SVMFineTuning.run(try settings(), compute: try compute.announced())
        print(String(format: "total %.1f s", Date().timeIntervalSince(start)))
        print("classifier: \(result.evaluation.classifierPath)\nevaluation: \(result.evaluation.evaluationPath)")
    }
}

/// The softmax network's hidden layers: a pretrained stack's, or random ones.
struct NetworkOptions: ParsableArguments {
    @Option(help: "The pretrained stack (a stack.safetensors or a layer checkpoint).")
    var stack: String?
    @Option(help: "Without --stack: hidden layer sizes of a randomly initialized network, for example 1000,1000.")
    var hidden: String?
    @Option(help: "Without --stack: the hidden activation, sigmoid, tanh, relu, leaky_relu (rectifiers get He initialization) or maxout (default \(SoftmaxFineTuning.Network.defaultActivation.rawValue)).")
    var activation: String?
    @Option(help: "Without --stack, with --activation maxout: linear pieces per unit, each unit their maximum (default \(SoftmaxFineTuning.Network.defaultMaxoutPieces); Goodfellow et al. 2013).")
    var maxoutPieces: String?

    /// The random network's flags, by their settings keys.
    var randomSettings: [String: String?] { ["hidden": hidden, "activation": activation, "maxout_pieces": maxoutPieces] }
}

/// Features written by `strata features` instead of images: a training and a
/// test `.npy`, each with its labels in FILE.labels.npy (both heads read them).
struct FeatureFileOptions: ParsableArguments {
    @Option(help: "Instead of images (or --stack): training features (.npy; labels in FILE.labels.npy).")
    var trainFeatures: String?
    @Option(help: "With --train-features: test features (.npy; labels in FILE.labels.npy).")
    var testFeatures: String?

    var settings: [String: String?] { ["train_features": trainFeatures, "test_features": testFeatures] }
}
