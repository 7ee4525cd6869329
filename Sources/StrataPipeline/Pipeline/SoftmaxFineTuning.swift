import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Supervised fine-tuning with a softmax head: the stage behind
/// `strata finetune softmax` and an experiment's `finetune: {softmax: ...}`.
public enum SoftmaxFineTuning {
    /// The network's hidden layers: a pretrained stack's, or random ones (no
    /// pretraining; `pieces` linear pieces per unit for maxout).
    public enum Network: Sendable {
        case pretrained(LayerStack, name: String)
        case random(hidden: [Int], activation: Activation, pieces: Int = 1)

        /// A random network's hidden activation when none is named.
        public static let defaultActivation = Activation.sigmoid
        /// Linear pieces per maxout unit when none are given (Goodfellow et al. 2013 use 2 to 5).
        public static let defaultMaxoutPieces = 2

        /// The keys of a random network: `hidden`, `activation` and `maxout_pieces`.
        public static let randomKeys = ["hidden", "activation", "maxout_pieces"]

        /// A random network from `hidden` (sizes, for example `1000,1000`; none:
        /// logistic regression), `activation` (default sigmoid) and, for maxout,
        /// `maxout_pieces` (default 2).
        public static func random(reading s: SettingSource) throws -> Network {
            let activation = try s.value("activation") { try Activation(parsing: $0) } ?? defaultActivation
            guard activation == .maxout || !s.has("maxout_pieces") else {
                throw s.failure("maxout_pieces", "pieces are for maxout units (activation maxout), not \(activation.rawValue)")
            }
            var pieces = 1
            if activation == .maxout {
                pieces = try s.int("maxout_pieces") ?? defaultMaxoutPieces
                guard pieces >= 2 else { throw s.failure("maxout_pieces", "a maxout unit needs at least 2 pieces, found \(pieces)") }
            }
            return .random(hidden: try s.value("hidden", parseSizes) ?? [], activation: activation, pieces: pieces)
        }
    }

    /// Everything one fine-tuning run needs: the network, the images, the hold-out, the training settings and the run folder.
    public struct Settings: Sendable {
        public var network: Network
        /// The labeled images (for a stack: the ones it records, see ``ImageSettings/init(contract:dataset:split:limit:what:selfTaught:)``).
        public var images: ImageSettings
        /// Hold out the last N training examples to choose the epoch (nil: ``HeldOut/defaultCount(trainingExamples:)``).
        public var validation: Int?
        /// Train on this many labeled examples of each class only, drawn with
        /// the training seed (``FewLabels``); nil: every training label.
        public var labelsPerClass: Int?
        public var training = FineTuningConfiguration()
        /// The run folder: `classifier.safetensors`, `monitor.jsonl`, `evaluation.*`.
        public var folder = "runs/finetune"
        /// For a random network: fitted preprocessing applied to the images first
        /// (an experiment's comparison network sees what its stack saw).
        public var preprocessing = PreprocessingPipeline()
        /// Continue the run saved in `folder` (`finetune.safetensors`) exactly.
        public var resume = false
        /// Measure the updates and training time until the validation error first falls to a target (``FineTuner/target``).
        public var target: (error: Double, every: Int)?
        /// Runs side by side: the prefix of this run's progress lines, written as plain lines (nil: one run, a bar).
        public var progressLabel: String?

        public init(network: Network, images: ImageSettings) { (self.network, self.images) = (network, images) }
    }

    /// The trained network, its report, its test evaluation and its monitor file.
    public struct Result: Sendable {
        public var network: SoftmaxNetwork
        public var report: FineTuner.Report
        public var evaluation: EvaluatedClassifier
        public var monitorPath: String
    }

    /// Loads the images, builds the network, trains it (keeping the best
    /// validation epoch), saves the classifier and evaluates it on the test split.
    /// `loaded` gives the images already read from `s.images` (several networks on the same data read them once).
    public static func run(_ s: Settings, loaded: LabeledImages? = nil, compute: Compute, showProgress: Bool = true,
                           log: StageLog = { print($0) }) throws -> Result {
        compute.apply()
        var stackContract: InputContract?
        var preprocessing = s.preprocessing
        if case .pretrained(let stack, let name) = s.network {
            stackContract = try InputContract(metadata: stack.extra, path: name)
            if stack.layers.contains(where: { $0 is KMeans }) {
                throw StrataError.invalidArgument(name: "stack", reason: "\(name) holds K-means layers, whose triangle features are no affine layer to fine-tune; classify its features with the SVM stage (`strata finetune svm`)")
            }
            if let window = stackContract?.patchWindow {
                throw StrataError.invalidArgument(name: "stack", reason: "\(name) was trained on \(window) patches; use the SVM stage (`strata finetune svm`) with its convolutional features")
            }
            preprocessing = stack.preprocessing
        }
        let (all, test, classNames) = try loaded ?? s.images.loadLabeled()
        let train = try FewLabels.subset(all, perClass: s.labelsPerClass, seed: s.training.seed, log: log)
        let validation = try HeldOut.count(s.validation, trainingExamples: train.count, log: log)
        var contract = stackContract ?? s.images.contract(geometry: train.geometry)
        if s.images.checkedAgainst?.selfTaught == true, stackContract != nil, let geometry = train.geometry {
            contract = contract.selfTaught(on: s.images.dataset, geometry: geometry)
            log("self-taught: the stack learned on \(contract.taughtOn ?? "other images"); fine-tuned on \(all.name)")
        }
        var x = train.examples
        try preprocessing.transform(&x)
        var network: SoftmaxNetwork
        switch s.network {
        case .pretrained(let stack, let name):
            try stack.requireInput(x, what: "\(train.name) for the stack \(name)")
            if let stages = stack.layers as? [LocalFeatureStage], !stages.isEmpty {
                // Le et al.'s stages: fine-tuned through, with a softmax layer on their output.
                network = try SoftmaxNetwork(front: LocalFront(stages: stages), hidden: [], classes: classNames.count, seed: s.training.seed)
            } else {
                try stack.requireDenseLayers(what: "fine-tuning \(name)")
                network = try SoftmaxNetwork(hidden: stack.denseLayers, inputCount: x.columns, classes: classNames.count, seed: s.training.seed)
            }
        case .random(let hidden, let activation, let pieces):
            network = try SoftmaxNetwork.randomlyInitialized(inputCount: x.columns, hiddenSizes: hidden, activation: activation, pieces: pieces,
                                                             classes: classNames.count, seed: s.training.seed)
        }
        let pretrainedName: String? = { if case .pretrained(_, let name) = s.network { return name }; return nil }()
        let units = network.hidden.first.map { $0.pieces > 1 ? ", maxout units of \($0.pieces) pieces" : ", \($0.activation.rawValue) units" } ?? ""
        log("fine-tuning \(network.sizes) (\(pretrainedName.map { "pretrained: \($0)" } ?? "no pretraining")\(units)) on \(x.rows - validation) examples, validating on \(validation)")
        log("techniques: " + s.training.techniques.joined(separator: ", "))
        if let line = s.training.sgd.ranksLine(in: MPIWorld.current) { log(line) }
        let (training, note) = s.training.withMinimumUpdates(trainingExamples: x.rows - validation)
        if let note { log(note) }
        var tuner = FineTuner(configuration: training, folder: s.folder)
        tuner.showProgress = showProgress
        if let label = s.progressLabel { (tuner.progressLabel, tuner.plainProgress) = ("\(label): fine-tune", true) }
        tuner.resume = s.resume
        tuner.target = s.target
        try splitByHiddenUnits(&tuner, network: network, log: log)
        if s.training.augmentation.isActive {
            guard let geometry = train.geometry else {
                throw StrataError.invalidArgument(name: "augmentation", reason: "\(train.name) has no image geometry; flips and translations need images")
            }
            tuner.augmentationSource = (train.examples, geometry, preprocessing)
        }
        if let teacher = s.training.teacher {
            tuner.softTargets = try softTargets(teacher: teacher, settings: s, student: train, classes: classNames, log: log)
        }
        let (report, result) = try tuner.trainAndEvaluate(&network, x: x, labels: train.labels!, validation: validation, test: test,
                                                          preprocessing: preprocessing, classNames: classNames, metadata: contract.metadata)
        logOutcome(report, result, log: log)
        if let regime = LearningCurves.regime(report.log, epoch: report.bestEpoch, classes: classNames.count) { log("at epoch \(report.bestEpoch): \(regime)") }
        // From epoch 1: the untrained network's error at epoch 0 would flatten the curves.
        let trained = MonitorLog(rows: report.log.rows.filter { ($0["epoch"] ?? 0) >= 1 })
        var (chart, _, _) = try Pictures.monitorChart([("fine-tuning", trained)], selection: LearningCurves.channels,
                                                      title: "learning curves: \(network.sizes)")
        chart.yLabel = "error"
        try chart.write(to: s.folder + "/learning_curves.png")
        log("learning curves (training and validation error): \(s.folder)/learning_curves.png")
        return Result(network: network, report: report, evaluation: result, monitorPath: tuner.monitorPath)
    }

    /// The run's epochs, best validation error and test accuracy, in two lines.
    static func logOutcome(_ report: FineTuner.Report, _ evaluation: EvaluatedClassifier, log: StageLog) {
        log(counted(report.epochs, "epoch") + String(format: " in %.1f s; best validation error %.2f%% at epoch %d", report.seconds, 100 * report.bestValidationError, report.bestEpoch))
        log(String(format: "test accuracy %.2f%% (%d of %d)", 100 * evaluation.confusion.accuracy, evaluation.confusion.correct, evaluation.confusion.total))
    }
}

extension FineTuningConfiguration {
    /// Every key of fine-tuning.
    public static let keys = minibatchSGDKeys + ["learning_rate_decay", "lr_schedule", "input_dropout", "hidden_dropout", "max_column_norm", "patience", "min_updates", "seed",
                                                   "batch_norm", "batch_norm_epsilon", "batch_norm_momentum",
                                                   "teacher", "temperature", "soft_weight", "augment_flip", "augment_shift", "augment_padding"]

    /// Fine-tuning settings from `s` (defaults for what is not given), validated.
    public static func read(from s: SettingSource) throws -> FineTuningConfiguration {
        var c = FineTuningConfiguration()
        try c.readMinibatchSGD(from: s)
        if let v = try s.float("learning_rate_decay") { c.learningRateDecay = v }
        if let v = try s.value("lr_schedule", LearningRateSchedule.init(parsing:)) {
            try s.refuse(["learning_rate_decay"], "is the schedule exponential:DECAY; give it or lr_schedule, not both")
            c.lrSchedule = v
        }
        if let v = try s.float("input_dropout") { c.inputDropout = v }
        if let v = try s.float("hidden_dropout") { c.hiddenDropout = v }
        if let v = try s.float("max_column_norm") { c.maxColumnNorm = v }
        if let v = try s.positive("patience", s.int) { c.patience = v }
        if let v = try s.int("min_updates") { c.minUpdates = v }
        if let v = try s.seed("seed") { c.seed = v }
        if let v = try s.bool("batch_norm") { c.batchNorm = v }
        if let v = try s.float("batch_norm_epsilon") { c.batchNormEpsilon = v }
        if let v = try s.float("batch_norm_momentum") { c.batchNormMomentum = v }
        if !c.batchNorm { try s.refuse(["batch_norm_epsilon", "batch_norm_momentum"], "applies only with batch_norm: true") }
        c.teacher = try s.value("teacher") { $0 }
        if let v = try s.float("temperature") { c.temperature = v }
        if let v = try s.float("soft_weight") { c.softWeight = v }
        if c.teacher == nil { try s.refuse(["temperature", "soft_weight"], "applies only with a teacher (distillation)") }
        if let v = try s.bool("augment_flip") { c.augmentation.flip = v }
        if let v = try s.int("augment_shift") {
            guard (0 ... 64).contains(v) else { throw s.failure("augment_shift", "must be a number of pixels in 0...64, not \(v)") }
            c.augmentation.shift = v
        }
        if let v = try s.value("augment_padding", Augmentation.padding(parsing:)) { c.augmentation.padding = v }
        if c.augmentation.shift == 0 { try s.refuse(["augment_padding"], "applies only with augment_shift") }
        try s.checked(at: "") { try c.validate() }
        return c
    }
}

extension ImageSettings {
    /// Test images read beside `limit` training images: a sixth as many
    /// (at least one), so a trial run keeps the usual train/test proportion.
    public var testLimit: Int? { limit.map { max(1, $0 / 6) } }
}
