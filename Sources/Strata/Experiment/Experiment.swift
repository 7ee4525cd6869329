import Foundation

/// A whole experiment read from one YAML file: the dataset, optional patch
/// extraction and preprocessing, each layer of the stack with its learner and
/// training settings, an optional fine-tuning stage, and the outputs. Like
/// pylearn2's YAML, but typed: an unknown or repeated key, a wrong type or a
/// missing field is refused with its file, line, column and what is expected.
///
/// ```yaml
/// name: grbm_smd
/// dataset: {name: fashion-mnist, pixel_scale: 255}
/// patches: {window: 8, count: 150000}
/// preprocessing: [{gcn: {sqrt_bias: 10, use_std: true}}, {zca: {filter_bias: 0.1}}]
/// layers:
///   - learner: grbm
///     hidden: 400
///     objective: {smd: {noise: 0.4}}
///     training: {batch_size: 5, learning_rate: 0.1, lr_schedule: monitor, epochs: 100,
///                early_stopping: {channel: train_objective, prop_decrease: 0.01, patience: 1}}
/// outputs: {folder: runs/grbm_smd}
/// ```
public struct Experiment: Sendable {
    public struct DataSpec: Sendable {
        public var name = "fashion-mnist"
        public var pixelScale: Float = 1
        public var binarize = false
        /// Use only the first N training images (and N/6 test images).
        public var limit: Int?
    }

    public struct PatchSpec: Sendable {
        public var windowHeight: Int
        public var windowWidth: Int
        public var count: Int
    }

    public enum LayerSpec: Sendable {
        /// The RBM's configuration with `visibleCount` set when the layer's input is known.
        case rbm(RBM.Configuration)
        case autoencoder(Autoencoder.Configuration)
    }

    public struct Layer: Sendable {
        public var learner: LayerSpec
        public var training: TrainingConfiguration
    }

    public enum Finetune: Sendable {
        case softmax(FineTuningConfiguration, compareWithoutPretraining: Bool)
        case svm(settings: LinearSVM.Settings, cGrid: [Float]?, stride: (Int, Int), pooling: Pooling, encoding: Encoding)
    }

    public struct Outputs: Sendable {
        public var folder: String
        /// Filter tiles of the first layer (`weights.png`), also unwhitened when ZCA was used.
        public var weights = true
        /// Chart of channels (`monitor.png`).
        public var monitor = true
        /// The channels charted (names, globs or codes); default: each layer's `train_objective`.
        public var monitorChannels = "train_objective"
    }

    public var name: String
    public var data = DataSpec()
    public var patches: PatchSpec?
    public var preprocessing = PreprocessingPipeline()
    public var layers: [Layer] = []
    public var finetune: Finetune?
    /// Hold out this many training examples for validation (fine-tuning, C selection).
    public var validation = 10_000
    public var outputs: Outputs

    /// Reads and validates an experiment file.
    public static func read(_ path: String) throws -> Experiment {
        let data = try readWholeFile(path)
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses and validates experiment YAML; `file` names it in errors.
    public static func parse(_ text: String, file: String = "<experiment>") throws -> Experiment {
        let root = try YAMLField.parse(text, file: file).mapping(allowed: ["name", "dataset", "patches", "preprocessing", "layers", "finetune", "validation", "outputs"])
        let name = try root.required("name").string()
        var experiment = Experiment(name: name, outputs: Outputs(folder: "runs/" + name))
        if let d = root["dataset"] {
            let m = try d.mapping(allowed: ["name", "pixel_scale", "binarize", "limit"])
            if let v = m["name"] { experiment.data.name = try v.string() }
            if let v = m["pixel_scale"] { experiment.data.pixelScale = try positive(v.float(), v) }
            if let v = m["binarize"] { experiment.data.binarize = try v.bool() }
            if let v = m["limit"] { experiment.data.limit = try positive(v.int(), v) }
        }
        if let p = root["patches"] {
            let m = try p.mapping(allowed: ["window", "count"])
            let window = try m.required("window")
            let (h, w) = try pair(window)
            let count = try m.required("count")
            experiment.patches = PatchSpec(windowHeight: h, windowWidth: w, count: try positive(count.int(), count))
        }
        if let list = try root["preprocessing"]?.list() {
            experiment.preprocessing = PreprocessingPipeline(try list.map(parsePreprocessor))
        }
        let layers = try root.required("layers").list()
        guard !layers.isEmpty else { throw try root.required("layers").fail("needs at least one layer") }
        experiment.layers = try layers.map(parseLayer)
        if let v = root["validation"] { experiment.validation = try positive(v.int(), v) }
        if let f = root["finetune"] { experiment.finetune = try parseFinetune(f) }
        if let o = root["outputs"] {
            let m = try o.mapping(allowed: ["folder", "weights", "monitor", "monitor_channels"])
            if let v = m["folder"] { experiment.outputs.folder = try v.string() }
            if let v = m["weights"] { experiment.outputs.weights = try v.bool() }
            if let v = m["monitor"] { experiment.outputs.monitor = try v.bool() }
            if let v = m["monitor_channels"] { experiment.outputs.monitorChannels = try v.string() }
        }
        return experiment
    }

    static func positive<T: Numeric & Comparable>(_ value: T, _ field: YAMLField) throws -> T {
        guard value > 0 else { throw field.fail("must be positive, found \(value)") }
        return value
    }

    static func pair(_ field: YAMLField) throws -> (Int, Int) {
        let parts = try field.string().lowercased().split(separator: "x").map { Int($0) }
        switch parts.count {
        case 1 where (parts[0] ?? 0) > 0: return (parts[0]!, parts[0]!)
        case 2 where (parts[0] ?? 0) > 0 && (parts[1] ?? 0) > 0: return (parts[0]!, parts[1]!)
        default: throw field.fail("expected N or HxW with positive sizes (for example 8 or 8x6)")
        }
    }

    /// A one-key mapping naming the step: `{gcn: {sqrt_bias: 10}}`, or just `zca`.
    static func parsePreprocessor(_ field: YAMLField) throws -> any Preprocessor {
        let kinds = ["gcn", "zca", "standardize", "remove_mean", "pca"]
        let kind: String, settings: YAMLMapping?
        if case .scalar = field.node {
            kind = try field.choice(kinds)
            settings = nil
        } else {
            let outer = try field.mapping(allowed: kinds)
            guard outer.fields.count == 1, let (key, value) = outer.fields.first else { throw field.fail("each step is one of \(kinds.joined(separator: ", ")) with its settings") }
            kind = key
            let allowed = ["gcn": ["sqrt_bias", "use_std", "scale", "min_divisor"], "zca": ["filter_bias"], "standardize": ["std_eps"],
                           "remove_mean": [], "pca": ["components", "whiten"]][key]!
            if case .scalar(let s) = value.node, s.string.isEmpty || s.string == "~" || s.string == "null" { settings = nil } else { settings = try value.mapping(allowed: allowed) }
        }
        switch kind {
        case "gcn":
            var g = GlobalContrastNormalization(scale: 1, useStd: true, sqrtBias: 10)
            if let v = settings?["sqrt_bias"] { g.sqrtBias = try v.float() }
            if let v = settings?["use_std"] { g.useStd = try v.bool() }
            if let v = settings?["scale"] { g.scale = try v.float() }
            if let v = settings?["min_divisor"] { g.minDivisor = try v.float() }
            return g
        case "zca": return ZCA(filterBias: try settings?["filter_bias"]?.float() ?? 0.1)
        case "standardize": return Standardization(stdEps: try settings?["std_eps"]?.float() ?? 1e-4)
        case "remove_mean": return RemoveExampleMean()
        default:
            guard let settings else { throw field.fail("pca needs {components: K}") }
            let components = try settings.required("components")
            return PCA(components: try positive(components.int(), components), whiten: try settings["whiten"]?.bool() ?? false)
        }
    }

    static let learnerKeys = ["learner", "hidden", "objective", "irange", "init_hidden_bias", "init_sigma", "sigma_lr_scale", "mean_visible",
                              "tied", "encoder", "decoder", "loss", "corruption", "sparsity_weight", "sparsity_target", "contractive_weight", "seed", "training"]

    static func parseLayer(_ field: YAMLField) throws -> Layer {
        let m = try field.mapping(allowed: learnerKeys)
        let learner = try m.required("learner").choice(["grbm", "rbm", "autoencoder"])
        let hiddenField = try m.required("hidden")
        let hidden = try positive(hiddenField.int(), hiddenField)
        let seed = UInt64(try m["seed"]?.int() ?? 1)
        let spec: LayerSpec
        if learner == "autoencoder" {
            for key in ["objective", "init_hidden_bias", "init_sigma", "sigma_lr_scale", "mean_visible"] where m.has(key) {
                throw m[key]!.fail("is an RBM setting; an autoencoder takes tied, encoder, decoder, loss, corruption, sparsity_weight, sparsity_target, contractive_weight")
            }
            var c = Autoencoder.Configuration(visibleCount: 1, hiddenCount: hidden)
            c.seed = seed
            if let v = m["irange"] { c.irange = try v.float() }
            if let v = m["tied"] { c.tied = try v.bool() }
            let activations = Activation.allCases.map(\.rawValue)
            if let v = m["encoder"] { c.encoder = Activation(rawValue: try v.choice(activations))! }
            if let v = m["decoder"] { c.decoder = Activation(rawValue: try v.choice(activations))! }
            if let v = m["loss"] { c.loss = try v.choice(["cross_entropy", "squared_error"]) == "cross_entropy" ? .crossEntropy : .squaredError }
            if let v = m["corruption"] { c.corruption = try parseCorruption(v) }
            if let v = m["sparsity_weight"] { c.sparsityWeight = try v.float() }
            if let v = m["sparsity_target"] { c.sparsityTarget = try v.float() }
            if let v = m["contractive_weight"] { c.contractiveWeight = try v.float() }
            do { try c.validate() } catch let error as StrataError { throw field.fail(error.description) }
            spec = .autoencoder(c)
        } else {
            for key in ["tied", "encoder", "decoder", "loss", "corruption", "sparsity_weight", "sparsity_target", "contractive_weight"] where m.has(key) {
                throw m[key]!.fail("is an autoencoder setting; an RBM takes objective, irange, init_hidden_bias, init_sigma, sigma_lr_scale, mean_visible")
            }
            var objective: RBM.Objective = learner == "grbm" ? .scoreMatching(noise: 0.4) : .contrastiveDivergence(steps: 1)
            if let o = m["objective"] { objective = try parseObjective(o) }
            var c = RBM.Configuration(visibleCount: 1, hiddenCount: hidden, visibleUnits: learner == "grbm" ? .gaussian : .binary, objective: objective)
            c.seed = seed
            if let v = m["irange"] { c.irange = try v.float() }
            if let v = m["init_hidden_bias"] { c.initHiddenBias = try v.float() }
            if let v = m["init_sigma"] { c.initSigma = try v.float() }
            if let v = m["sigma_lr_scale"] { c.sigmaLearningRateScale = try v.float() }
            if let v = m["mean_visible"] { c.meanVisible = try v.bool() }
            do { try c.validate() } catch let error as StrataError { throw field.fail(error.description) }
            spec = .rbm(c)
        }
        var training = TrainingConfiguration()
        training.seed = seed
        if let t = m["training"] { training = try parseTraining(t, seed: seed) }
        return Layer(learner: spec, training: training)
    }

    /// `cd`, `pcd`, `smd`, or `{cd: {steps: 1}}`, `{smd: {noise: 0.4}}`.
    static func parseObjective(_ field: YAMLField) throws -> RBM.Objective {
        let kinds = ["cd", "pcd", "smd"]
        var kind: String, settings: YAMLMapping?
        if case .scalar = field.node { kind = try field.choice(kinds) } else {
            let outer = try field.mapping(allowed: kinds)
            guard outer.fields.count == 1, let (key, value) = outer.fields.first else { throw field.fail("one of cd, pcd, smd with its settings") }
            kind = key
            settings = try value.mapping(allowed: key == "smd" ? ["noise"] : ["steps"])
        }
        switch kind {
        case "smd": return .scoreMatching(noise: try settings?["noise"]?.float() ?? 0.4)
        case "pcd": return .persistentCD(steps: try settings?["steps"]?.int() ?? 1)
        default: return .contrastiveDivergence(steps: try settings?["steps"]?.int() ?? 1)
        }
    }

    /// `none`, `masking: 0.3`-style mapping `{masking: 0.3}`, `{gaussian: 0.1}`, `{salt_pepper: 0.2}`.
    static func parseCorruption(_ field: YAMLField) throws -> Autoencoder.Corruption {
        if case .scalar = field.node { _ = try field.choice(["none"]); return .none }
        let m = try field.mapping(allowed: ["masking", "gaussian", "salt_pepper"])
        guard m.fields.count == 1, let (key, value) = m.fields.first else { throw field.fail("one of masking, gaussian, salt_pepper with its level") }
        let level = try value.float()
        switch key {
        case "masking": return .masking(probability: level)
        case "gaussian": return .gaussian(standardDeviation: level)
        default: return .saltAndPepper(probability: level)
        }
    }

    static func parseTraining(_ field: YAMLField, seed: UInt64) throws -> TrainingConfiguration {
        let m = try field.mapping(allowed: ["batch_size", "learning_rate", "lr_schedule", "momentum", "final_momentum", "momentum_start",
                                            "momentum_saturate", "weight_decay", "epochs", "early_stopping", "checkpoint_every", "monitor_examples"])
        var t = TrainingConfiguration()
        t.seed = seed
        if let v = m["batch_size"] { t.batchSize = try positive(v.int(), v) }
        if let v = m["learning_rate"] { t.learningRate = try positive(v.float(), v) }
        if let v = m["lr_schedule"] {
            switch try v.choice(["constant", "monitor", "linear", "exponential"]) {
            case "monitor": t.schedule = .monitorBasedDefaults
            case "linear": t.schedule = .linearDecay(finalFraction: 0.1, saturateEpoch: 10)
            case "exponential": t.schedule = .exponentialDecay(factor: 0.95, minimum: 0)
            default: t.schedule = .constant
            }
        }
        if let v = m["momentum"] { t.initialMomentum = try v.float(); t.finalMomentum = t.initialMomentum }
        if let v = m["final_momentum"] { t.finalMomentum = try v.float() }
        if let v = m["momentum_start"] { t.momentumStartEpoch = try v.int() }
        if let v = m["momentum_saturate"] { t.momentumSaturateEpoch = try v.int() }
        if let v = m["weight_decay"] { t.weightDecay = try v.float() }
        if let v = m["epochs"] { t.maxEpochs = try positive(v.int(), v) }
        if let v = m["checkpoint_every"] { t.checkpointEvery = try positive(v.int(), v) }
        if let v = m["monitor_examples"] { t.monitorExamples = try positive(v.int(), v) }
        if let e = m["early_stopping"] {
            let s = try e.mapping(allowed: ["channel", "prop_decrease", "patience"])
            t.earlyStopping = EarlyStopping(channel: try s["channel"]?.string() ?? "train_objective",
                                            proportionalDecrease: try s["prop_decrease"]?.float() ?? 0.01, patience: try s["patience"]?.int() ?? 1)
        }
        do { try t.validate() } catch let error as StrataError { throw field.fail(error.description) }
        return t
    }

    static func parseFinetune(_ field: YAMLField) throws -> Finetune {
        let outer = try field.mapping(allowed: ["softmax", "svm"])
        guard outer.fields.count == 1, let (kind, value) = outer.fields.first else { throw field.fail("give exactly one of softmax or svm") }
        if kind == "softmax" {
            let m = try value.mapping(allowed: ["batch_size", "learning_rate", "learning_rate_decay", "momentum", "final_momentum", "momentum_saturate",
                                                "weight_decay", "input_dropout", "hidden_dropout", "max_column_norm", "epochs", "patience", "seed",
                                                "compare_without_pretraining"])
            var c = FineTuningConfiguration()
            if let v = m["batch_size"] { c.batchSize = try positive(v.int(), v) }
            if let v = m["learning_rate"] { c.learningRate = try v.float() }
            if let v = m["learning_rate_decay"] { c.learningRateDecay = try v.float() }
            if let v = m["momentum"] { c.initialMomentum = try v.float() }
            if let v = m["final_momentum"] { c.finalMomentum = try v.float() }
            if let v = m["momentum_saturate"] { c.momentumSaturateEpoch = try v.int() }
            if let v = m["weight_decay"] { c.weightDecay = try v.float() }
            if let v = m["input_dropout"] { c.inputDropout = try v.float() }
            if let v = m["hidden_dropout"] { c.hiddenDropout = try v.float() }
            if let v = m["max_column_norm"] { c.maxColumnNorm = try v.float() }
            if let v = m["epochs"] { c.maxEpochs = try positive(v.int(), v) }
            if let v = m["patience"] { c.patience = try positive(v.int(), v) }
            if let v = m["seed"] { c.seed = UInt64(try v.int()) }
            do { try c.validate() } catch let error as StrataError { throw value.fail(error.description) }
            return .softmax(c, compareWithoutPretraining: try m["compare_without_pretraining"]?.bool() ?? false)
        }
        let m = try value.mapping(allowed: ["c", "c_grid", "loss", "tolerance", "max_iterations", "stride", "pool", "pool_op", "encoding"])
        var settings = LinearSVM.Settings()
        if let v = m["c"] { settings.c = try positive(v.float(), v) }
        if let v = m["loss"] { settings.loss = LinearSVM.Loss(rawValue: try v.choice(LinearSVM.Loss.allCases.map(\.rawValue)))! }
        if let v = m["tolerance"] { settings.tolerance = try positive(v.float(), v) }
        if let v = m["max_iterations"] { settings.maxIterations = try positive(v.int(), v) }
        let grid = try m["c_grid"]?.list().map { try positive($0.float(), $0) }
        let stride = try m["stride"].map(pair) ?? (1, 1)
        let (gr, gc) = try m["pool"].map(pair) ?? (2, 2)
        let op = try m["pool_op"].map { Pooling.Operation(rawValue: try $0.choice(Pooling.Operation.allCases.map(\.rawValue)))! } ?? .sum
        let encoding: Encoding = try m["encoding"].map { v in
            do { return try Encoding(parsing: try v.string()) } catch let error as StrataError { throw v.fail(error.description) }
        } ?? .hiddenMeans
        return .svm(settings: settings, cGrid: m.has("c") ? nil : (grid ?? [0.001, 0.01, 0.1, 1]), stride: stride,
                    pooling: Pooling(gridRows: gr, gridColumns: gc, operation: op), encoding: encoding)
    }
}
