import ArgumentParser
import Foundation
import Strata

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Train a classifier on labeled data: a softmax head on a pretrained stack (backpropagation through it), or a linear SVM on its features.",
        discussion: """
            The last --validation training examples are held out to choose the epoch (softmax) or C (svm); \
            the test split is used once, at the end. The run folder gets classifier.safetensors, \
            monitor.jsonl (softmax) and evaluation.txt/.json/.png (accuracy, per-class accuracy, confusion matrix).
            """,
        subcommands: [SoftmaxFinetune.self, SVMFinetune.self]
    )
}

/// The labeled data options shared by both heads.
struct LabeledDataOptions: ParsableArguments {
    @Option(help: "A dataset name (fashion-mnist, mnist, cifar10) or a folder of PNG images with one subfolder per class.")
    var dataset = "fashion-mnist"
    @Option(help: "Use only the first N training images (and N/6 test images).")
    var limit: Int?
    @Option(help: "Hold out the last N training examples for validation.")
    var validation = 10_000
    @Option(help: "Seed for initialization, shuffling and dropout.")
    var seed: UInt64 = 1
    @Option(name: .customLong("run"), help: "The run folder.")
    var runFolder = "runs/finetune"

    /// Training and test splits with the same treatment; checks labels and classes.
    func load(treatment: PixelTreatment) throws -> (train: Dataset, test: Dataset, classNames: [String]) {
        let train = try loadImages(dataset, split: .train, limit: limit, treatment: treatment)
        let test = try loadImages(dataset, split: .test, limit: limit.map { max(1, $0 / 6) }, treatment: treatment)
        let classNames = try Dataset.classNames(train: train, test: test)
        guard validation >= 1, validation < train.count else {
            throw ValidationError("--validation \(validation) must be at least 1 and leave training examples (\(train.count) in all)")
        }
        return (train, test, classNames)
    }
}

func parseSizes(_ text: String) throws -> [Int] {
    let sizes = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--hidden takes positive sizes separated by commas, for example 1000,1000 (got '\(text)')") }
    return sizes.map { $0! }
}

/// Prints the test accuracy and where the evaluation files are.
func printAccuracy(_ confusion: ConfusionMatrix, folder: String) {
    print(String(format: "test accuracy %.2f%% (%d of %d)", 100 * confusion.accuracy, confusion.correct, confusion.total))
    print("evaluation: \(folder)/evaluation.txt, \(folder)/evaluation.json, \(folder)/evaluation.png")
}

struct SoftmaxFinetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "softmax",
        abstract: "Put a softmax layer on a pretrained stack and train the whole network by backpropagation.",
        discussion: """
            Stacked denoising autoencoder, pretrained greedily, then fine-tuned:
              strata finetune softmax --stack runs/sdae/l2/stack.safetensors --run runs/sdae/finetune
            The same network without pretraining, for comparison:
              strata finetune softmax --hidden 1000,1000 --run runs/sdae/no-pretraining
            """
    )

    @OptionGroup var data: LabeledDataOptions
    @Option(help: "The pretrained stack (a stack.safetensors or a layer checkpoint).")
    var stack: String?
    @Option(help: "Without --stack: hidden layer sizes of a randomly initialized network, for example 1000,1000.")
    var hidden: String?
    @Option(help: "Without --stack: the hidden activation (sigmoid, tanh, relu).")
    var activation: Activation = .sigmoid
    @Option(help: "Without --stack: multiply pixels by this.")
    var pixelScale: Float = 1
    @Flag(help: "Without --stack: binarize pixels at half their range.")
    var binarize = false
    @Option(help: "Examples per minibatch.")
    var batchSize = 100
    @Option(help: "Learning rate.")
    var learningRate: Float = 0.1
    @Option(help: "The learning rate is multiplied by this after each epoch.")
    var learningRateDecay: Float = 1
    @Option(help: "Momentum at epoch 1.")
    var momentum: Float = 0.5
    @Option(help: "Momentum reached at --momentum-saturate.")
    var finalMomentum: Float = 0.9
    @Option(help: "Epoch the momentum ramp ends.")
    var momentumSaturate = 10
    @Option(help: "L2 weight decay.")
    var weightDecay: Float = 0
    @Option(help: "Dropout probability of input values.")
    var inputDropout: Float = 0
    @Option(help: "Dropout probability of hidden units.")
    var hiddenDropout: Float = 0
    @Option(help: "Limit each unit's incoming weight norm (pylearn2's max_col_norm).")
    var maxColumnNorm: Float?
    @Option(help: "The most epochs.")
    var epochs = 50
    @Option(help: "Stop after this many epochs without a better validation error.")
    var patience = 10
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.apply()
        let start = Date()
        let pretrained = try stack.map { try LayerStack.read($0) }
        if let pretrained, pretrained.extra["patch_window"] != nil {
            throw ValidationError("\(stack!) was trained on patches; use `strata finetune svm` with its convolutional features")
        }
        let treatment = pretrained.map { PixelTreatment(metadata: $0.extra) } ?? PixelTreatment(scale: pixelScale, binarize: binarize)
        let (train, test, classNames) = try data.load(treatment: treatment)
        var x = train.examples
        try pretrained?.preprocessing.transform(&x)
        if let pretrained { try pretrained.requireInput(x, what: "\(train.name) for the stack \(stack!)") }
        let split = x.rows - data.validation
        var network: SoftmaxNetwork
        if let pretrained {
            network = try SoftmaxNetwork(hidden: pretrained.denseLayers, inputCount: x.columns, classes: classNames.count, seed: data.seed)
        } else {
            network = try SoftmaxNetwork.randomlyInitialized(inputCount: x.columns, hiddenSizes: try hidden.map(parseSizes) ?? [],
                                                              activation: activation, classes: classNames.count, seed: data.seed)
        }
        var configuration = FineTuningConfiguration()
        (configuration.batchSize, configuration.learningRate, configuration.learningRateDecay) = (batchSize, learningRate, learningRateDecay)
        (configuration.initialMomentum, configuration.finalMomentum, configuration.momentumSaturateEpoch) = (momentum, finalMomentum, momentumSaturate)
        (configuration.weightDecay, configuration.inputDropout, configuration.hiddenDropout) = (weightDecay, inputDropout, hiddenDropout)
        (configuration.maxColumnNorm, configuration.maxEpochs, configuration.patience, configuration.seed) = (maxColumnNorm, epochs, patience, data.seed)
        print("fine-tuning \(network.sizes) (\(pretrained == nil ? "no pretraining" : "pretrained: \(stack!)")) on \(split) examples, validating on \(data.validation)")
        let tuner = FineTuner(configuration: configuration, folder: data.runFolder)
        var metadata = treatment.metadata
        metadata["source"] = train.name
        let (outcome, result) = try tuner.trainAndEvaluate(&network, x: x, labels: train.labels!, validation: data.validation, test: test,
                                                           preprocessing: pretrained?.preprocessing ?? PreprocessingPipeline(),
                                                           classNames: classNames, metadata: metadata)
        print(String(format: "%d epochs in %.1f s; best validation error %.2f%% at epoch %d", outcome.epochs, outcome.seconds,
                     100 * outcome.bestValidationError, outcome.bestEpoch))
        printAccuracy(result.confusion, folder: result.folder)
        print(String(format: "total %.1f s", Date().timeIntervalSince(start)))
        print("classifier: \(result.classifierPath)\nmonitor:    \(tuner.monitorPath)")
    }
}

extension Activation: ExpressibleByArgument {}
extension LinearSVM.Loss: ExpressibleByArgument {}

struct SVMFinetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svm",
        abstract: "Train a one-vs-rest linear SVM on a stack's features (convolutional for patch-trained stacks) or on .npy features.",
        discussion: """
            Features are standardized (mean 0, std 1 per feature, fitted on training data). Without --c, \
            C is chosen from --c-grid by the validation accuracy, then the SVM is retrained on all \
            training examples with it. Coates, Lee and Ng's single-layer pipeline:
              strata finetune svm --stack runs/patches/stack.safetensors --stride 1 --pool 2x2 --run runs/svm
            """
    )

    @OptionGroup var data: LabeledDataOptions
    @Option(help: "The stack whose features are classified.")
    var stack: String?
    @OptionGroup var features: FeatureOptions
    @Option(help: "Instead of --stack: training features (.npy; labels in FILE.labels.npy).")
    var trainFeatures: String?
    @Option(help: "With --train-features: test features (.npy; labels in FILE.labels.npy).")
    var testFeatures: String?
    @Option(help: "The SVM's C; without it, chosen on the validation examples from --c-grid.")
    var c: Float?
    @Option(help: "Candidate values of C, comma-separated.")
    var cGrid = "0.001,0.01,0.1,1"
    @Option(help: "squared_hinge (L2-SVM) or hinge.")
    var loss: LinearSVM.Loss = .squaredHinge
    @Option(help: "Solver tolerance on the projected gradient (LIBLINEAR's eps).")
    var tolerance: Float = 0.01
    @Option(help: "The most passes over the data per class.")
    var maxIterations = 1000
    @Option(help: "Standardization: added to each feature's standard deviation.")
    var stdEps: Float = 0.01
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.apply()
        let start = Date()
        var (trainX, trainY, testX, testY, classNames, extractor, extra) = try loadFeatures()
        let featureSeconds = Date().timeIntervalSince(start)
        var settings = LinearSVM.Settings(c: c ?? 1, loss: loss, tolerance: tolerance, maxIterations: maxIterations, seed: data.seed)
        let classes = classNames.count
        if c == nil {
            let grid = cGrid.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !grid.isEmpty, grid.allSatisfy({ $0 > 0 }) else { throw ValidationError("--c-grid takes positive numbers separated by commas (got '\(cGrid)')") }
            settings.c = try LinearSVM.chooseC(trainX, labels: trainY, classes: classes, validation: data.validation, grid: grid,
                                               settings: settings, stdEps: stdEps) { candidate in
                print(String(format: "C %-8g validation accuracy %.2f%%  (%.1f s, %d-%d passes)", candidate.c, 100 * candidate.validationAccuracy,
                             candidate.seconds, candidate.iterations.lowerBound, candidate.iterations.upperBound))
            }
            print("chose C = \(settings.c)")
        }
        let (svm, svmSeconds, result) = try LinearSVM.trainAndEvaluate(
            train: &trainX, labels: trainY, test: &testX, testLabels: testY, settings: settings, stdEps: stdEps, extractor: extractor,
            classNames: classNames, metadata: extra, folder: data.runFolder, numbers: ["feature_seconds": featureSeconds])
        print(String(format: "SVM (C %g, %@) on %d x %d features: %.1f s; objectives %@", settings.c, loss.rawValue, trainX.rows, trainX.columns,
                     svmSeconds, svm.objectives.map { String(format: "%.4g", $0) }.joined(separator: " ")))
        printAccuracy(result.confusion, folder: result.folder)
        print(String(format: "total %.1f s", Date().timeIntervalSince(start)))
        print("classifier: \(result.classifierPath)")
    }

    /// Training and test features with labels, from a stack or from .npy files.
    func loadFeatures() throws -> (Tensor, [Int], Tensor, [Int], [String], FeatureExtractor?, [String: String]) {
        if let trainFeatures {
            guard let testFeatures else { throw ValidationError("--train-features needs --test-features") }
            let trainX = try NPY.read(trainFeatures).tensor, testX = try NPY.read(testFeatures).tensor
            let trainY = try NPY.readIntegers(labelsPath(for: trainFeatures)), testY = try NPY.readIntegers(labelsPath(for: testFeatures))
            guard trainX.columns == testX.columns else {
                throw StrataError.shapeMismatch(context: "\(testFeatures): features must match \(trainFeatures)", expected: [testX.rows, trainX.columns], found: testX.shape)
            }
            let train = try Dataset(name: trainFeatures, examples: trainX.reshaped([trainX.rows, trainX.columns]), labels: trainY)
            let test = try Dataset(name: testFeatures, examples: testX.reshaped([testX.rows, testX.columns]), labels: testY)
            let names = try Dataset.classNames(train: train, test: test)
            return (train.examples, trainY, test.examples, testY, names, nil, ["source": trainFeatures])
        }
        guard let stack else { throw ValidationError("give --stack (features computed here) or --train-features/--test-features") }
        let loaded = try LayerStack.read(stack)
        let treatment = PixelTreatment(metadata: loaded.extra)
        let (train, test, classNames) = try data.load(treatment: treatment)
        let extractor = try features.extractor(for: loaded, images: train.geometry)
        print(extractor.summary)
        let trainX = try extractFeatures(extractor, of: train, label: "train features", batch: features.imagesPerBatch)
        let testX = try extractFeatures(extractor, of: test, label: "test features", batch: features.imagesPerBatch)
        var extra = treatment.metadata
        extra["source"] = train.name
        return (trainX, train.labels!, testX, test.labels!, classNames, extractor, extra)
    }
}
