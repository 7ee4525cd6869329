import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Greedy layer-wise pretraining, one layer at a time: the stage behind
/// `strata pretrain` and each layer of an experiment.
public enum Pretraining {
    /// What the layer is trained on.
    public enum Input: Sendable {
        /// Images, or `patches` of them drawn at random with `seed`.
        case images(ImageSettings, patches: PatchSettings?)
        /// An `.npy` matrix, one example per row.
        case matrix(path: String)
        /// An `.npy` matrix left on disk and read `blockRows` rows at a time
        /// (``TrainingExamples/file(_:blockRows:)``): data larger than memory.
        /// It trains as it is (no preprocessing; `strata patches` writes its
        /// patches already preprocessed).
        case matrixOnDisk(path: String, blockRows: Int)
        /// The top layer's features of a saved stack, on the images the stack
        /// records (`dataset`, when given, must be the same).
        case stack(path: String, dataset: String?, limit: Int?)
        /// Random `patches` windows of the pooled feature maps (made by
        /// `features`) of a patch-trained stack on the images it records:
        /// a second stage of features (``LowerStage``).
        case maps(path: String, features: FeatureSettings, dataset: String?, limit: Int?, patches: PatchSettings)
    }

    /// Random patches: `count` windows of `window` pixels.
    public struct PatchSettings: Equatable, Sendable {
        public var window: InputContract.Window
        public var count: Int
        /// Random patches when no count is given (pylearn2's quick start's 150,000).
        public static let defaultCount = 150_000

        public init(window: InputContract.Window, count: Int = PatchSettings.defaultCount) { (self.window, self.count) = (window, count) }
    }

    /// Everything one pretraining run needs.
    public struct Settings: Sendable {
        public var input: Input
        /// Fitted on the input and saved with the layer (must be empty on a stack's features).
        public var preprocessing = PreprocessingPipeline()
        public var layer: LayerSettings
        /// Hold out this fraction of the examples (the last rows) for `valid_*` channels.
        public var validationFraction: Float = 0
        /// The run folder: `model.safetensors`, `monitor.jsonl`, `stack.safetensors`.
        public var folder = "runs/pretrain"
        /// Continue the run in `folder` from its checkpoint.
        public var resume = false
        /// Seed of the random patches.
        public var patchSeed: UInt64 = 1

        public init(input: Input, layer: LayerSettings) { (self.input, self.layer) = (input, layer) }
    }

    /// Examples ready for a layer: preprocessed, with the fitted pipeline, the
    /// contract they honour and the stack they extend.
    public struct PreparedData: Sendable {
        public var examples: TrainingExamples
        /// What the new layer's input is (saved in its checkpoint); the stack keeps its own.
        public var contract: InputContract
        /// The stack the new layer goes on: empty (holding the fitted
        /// preprocessing) for raw input, or the loaded stack.
        public var base: LayerStack
        /// What the examples are, in one line.
        public var summary: String
    }

    /// Loads and prepares `input`: fits `preprocessing` on it (images, patches, a matrix),
    /// or computes a stack's features (no preprocessing allowed).
    public static func prepare(_ input: Input, preprocessing: PreprocessingPipeline, patchSeed: UInt64) throws -> PreparedData {
        switch input {
        case .images(let images, let patches):
            let data = try images.load()
            var contract = images.contract(geometry: data.geometry)
            let window = patches.map { (height: $0.window.height, width: $0.window.width) }
            let prepared = try PretrainingData(images: data, window: window, patchCount: patches?.count ?? 0, seed: patchSeed, pipeline: preprocessing)
            contract.patchWindow = patches?.window
            let what = patches.map { "\(prepared.examples.rows) random \($0.window) patches of \(data.name)" } ?? "\(data.count) images of \(data.name)"
            return PreparedData(examples: .memory(prepared.examples), contract: contract, base: try LayerStack(preprocessing: prepared.pipeline, extra: contract.metadata),
                                summary: "\(what), preprocessing \(prepared.pipeline.summary)")
        case .matrix(let path):
            var x = try NPY.read(path).tensor
            guard x.rank == 2, x.rows > 0, x.columns > 0 else {
                throw StrataError.shapeMismatch(context: "\(path): a training matrix is 2-D, one example per row", expected: [-1, -1], found: x.shape)
            }
            var pipeline = preprocessing
            try pipeline.fitTransform(&x)
            var contract = InputContract()
            contract.matrix = path
            return PreparedData(examples: .memory(x), contract: contract, base: try LayerStack(preprocessing: pipeline, extra: contract.metadata),
                                summary: "\(x.rows) x \(x.columns) matrix \(path), preprocessing \(pipeline.summary)")
        case .matrixOnDisk(let path, let blockRows):
            guard preprocessing.steps.isEmpty else {
                throw StrataError.invalidArgument(name: "preprocessing", reason: "\(path) is read from disk as it is; preprocess it when it is written (`strata patches --preprocess ...` or `strata preprocess`)")
            }
            let file = try NPYRowFile(path: path)
            try TrainingExamples.validate(blockRows: blockRows, columns: file.columns)
            var contract = InputContract()
            contract.matrix = path
            let examples = TrainingExamples.file(file, blockRows: blockRows)
            return PreparedData(examples: examples, contract: contract, base: try LayerStack(preprocessing: PreprocessingPipeline(), extra: contract.metadata),
                                summary: examples.summary)
        case .maps(let path, let features, let dataset, let limit, let patches):
            return try prepareMaps(of: path, features: features, dataset: dataset, limit: limit, patches: patches, preprocessing: preprocessing, patchSeed: patchSeed)
        case .stack(let path, let dataset, let limit):
            guard preprocessing.steps.isEmpty else {
                throw StrataError.invalidArgument(name: "preprocessing", reason: "a layer on \(path) trains on its features; the stack's own preprocessing applies to the images")
            }
            let stack = try LayerStack.read(path)
            var contract = try InputContract(metadata: stack.extra, path: path)
            guard contract.patchWindow == nil else {
                throw StrataError.invalidArgument(name: "stack", reason: "\(path) was trained on \(contract.patchWindow!) patches; a layer above it needs per-example features (use `strata features` for its convolutional features, or train on windows of its pooled maps: `--window` with `--on`)")
            }
            let images = try ImageSettings(contract: contract, dataset: dataset, split: .train, limit: limit, what: path)
            let data = try images.load()
            let features = try stack.features(ofRaw: data.examples)
            contract.dataset = contract.dataset ?? images.dataset
            contract.through = [contract.through, "\(path) (\(stack.sizes))"].compactMap { $0 }.joined(separator: ", ")
            return PreparedData(examples: .memory(features), contract: contract, base: stack,
                                summary: "the \(features.columns) features of \(path)'s top layer on \(data.count) images of \(data.name)")
        }
    }

    /// The outcome of one layer's training.
    public struct Result: Sendable {
        public var learner: any UnsupervisedLearner
        public var report: Trainer.Report
        /// The new stack: the base with the trained layer on top.
        public var stack: LayerStack
        public var checkpointPath: String
        public var monitorPath: String
        public var stackPath: String
    }

    /// Trains `layer` on prepared `data` in `folder`, then writes
    /// `folder/stack.safetensors` (the base stack with the new layer on top).
    public static func trainLayer(_ layer: LayerSettings, on data: PreparedData, folder: String, validationFraction: Float = 0,
                                  resume: Bool = false, compute: Compute, showProgress: Bool = true, log: StageLog) throws -> Result {
        guard validationFraction >= 0, validationFraction < 1 else {
            throw StrataError.invalidArgument(name: "validation fraction", reason: "\(validationFraction) must lie in [0, 1)")
        }
        var x = data.examples, validation: Tensor?
        if validationFraction > 0 {
            let held = max(1, Int(Float(x.rows) * validationFraction))
            guard held < x.rows else { throw StrataError.invalidArgument(name: "validation fraction", reason: "leaves no training examples of \(x.rows)") }
            (x, validation) = try x.holdingOut(last: held)
        }
        var training = layer.training
        training.cores = compute.cores
        var trainer = Trainer(configuration: training, folder: folder)
        trainer.preprocessing = data.base.layers.isEmpty ? data.base.preprocessing : PreprocessingPipeline()
        trainer.extraMetadata = data.contract.metadata
        trainer.showProgress = showProgress
        try AtomicFile.makeFolder(folder)
        log("training \(layer.kindName) \(x.columns)-\(layer.hiddenCount) on \(x.rows) examples\(validation.map { ", validating on \($0.rows)" } ?? ""); run folder \(folder)")
        if let line = training.sgd.ranksLine(in: MPIWorld.current) { log(line) }
        var learner = try layer.makeLearner(visible: x.columns)
        if let split = try ModelParallel.split(training.modelParallel, world: MPIWorld.current) {
            learner = try splitByHiddenUnits(learner, split, kindName: layer.kindName, batch: training.batchSize, log: log)
            trainer.modelSplit = split
        }
        let report = try trainer.train(&learner, examples: x, validation: validation, resume: resume)
        // A split layer joins the stack whole (gathered on every part: the next layer's features need no more than its transform).
        if let split = learner as? any HiddenUnitSplitLearner, let whole = split.wholeOnEveryPart() { learner = whole }
        let stack = try data.base.appending(learner)
        let stackPath = folder + "/stack.safetensors"
        try stack.write(to: stackPath)
        return Result(learner: learner, report: report, stack: stack, checkpointPath: trainer.checkpointPath, monitorPath: trainer.monitorPath, stackPath: stackPath)
    }

    /// `learner` cut to this process's band of hidden units (an autoencoder or
    /// an RBM; K-means is refused), the split logged: each part's units and what the parts sum per step.
    static func splitByHiddenUnits(_ learner: any UnsupervisedLearner, _ split: ModelParallel, kindName: String, batch: Int,
                                   log: StageLog) throws -> any UnsupervisedLearner {
        let (whole, visible) = (learner.hiddenCount, learner.visibleCount)
        let part: any UnsupervisedLearner, sums: String
        switch learner {
        case let autoencoder as Autoencoder:
            (part, sums) = (try SplitAutoencoder(autoencoder, exchange: split), "each step sums")
        case let rbm as RBM:
            (part, sums) = (try SplitRBM(rbm, exchange: split), "each Gibbs step sums")
        default:
            throw StrataError.invalidArgument(name: "model_parallel", reason: "splits an autoencoder or an RBM by hidden units (or a local stage by image rows); a \(kindName) trains whole on every rank")
        }
        log(split.hiddenUnitPlan(layerSizes: [whole]) + "; \(sums) " + String(format: "%.1f KB of reconstructions over the parts", Double(batch * visible * 4) / 1e3))
        return part
    }

    /// Prepares the input and trains the layer: `strata pretrain` as a library call.
    @discardableResult
    public static func run(_ settings: Settings, compute: Compute, showProgress: Bool = true, log: StageLog = { print($0) }) throws -> Result {
        compute.apply()
        let data = try prepare(settings.input, preprocessing: settings.preprocessing, patchSeed: settings.patchSeed)
        log(data.summary)
        let result = try trainLayer(settings.layer, on: data, folder: settings.folder, validationFraction: settings.validationFraction,
                                    resume: settings.resume, compute: compute, showProgress: showProgress, log: log)
        let last = result.report.log.rows.last ?? [:]
        let summary = ["train_objective", "train_reconstruction_error", "train_pseudo_likelihood", "valid_objective"]
            .compactMap { key in last[key].map { "\(key) \(String(format: "%.5g", $0))" } }.joined(separator: ", ")
        log("\(result.report.epochs) epochs\(result.report.stoppedEarly ? " (stopped early)" : ""), \(String(format: "%.1f", result.report.seconds)) s: \(summary)")
        log("checkpoint: \(result.checkpointPath)\nmonitor:    \(result.monitorPath)\nstack:      \(result.stackPath) (\(result.stack.sizes))")
        return result
    }
}
