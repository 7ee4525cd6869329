import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// A whole experiment read from one YAML file: the images, optional random
/// patches and preprocessing, each layer of the stack with its learner and
/// training, an optional fine-tuning stage, and the outputs. Like pylearn2's
/// YAML, but typed: an unknown or repeated key, a wrong type or a missing
/// field is refused with its file, line, column and what is expected. Every
/// setting is read by the same library reader as the command's flag of the
/// same name (`learning_rate` here, `--learning-rate` there).
///
/// ```yaml
/// name: grbm_smd
/// dataset: {name: fashion-mnist, pixel_scale: 255}
/// patches: {window: 8, count: 150000}
/// preprocessing: [{gcn: {sqrt_bias: 10, use_std: true}}, {zca: {filter_bias: 0.1}}]
/// layers:
///   - learner: grbm
///     hidden: 400
///     objective: smd:0.4                      # or {smd: {noise: 0.4}}
///     training: {batch_size: 5, learning_rate: 0.1, lr_schedule: monitor, epochs: 100,
///                early_stopping: {channel: train_objective, prop_decrease: 0.01, patience: 1}}
/// outputs: {folder: runs/grbm_smd}
/// ```
public struct Experiment: Sendable {
    /// The fine-tuning stage.
    public enum Finetune: Sendable {
        case softmax(FineTuningConfiguration, compareWithoutPretraining: Bool)
        case svm(LinearSVM.Settings, cGrid: [Float]?, stdEps: Float, features: FeatureSettings)
        /// Networks of every depth up to the stack's, for each variant (``DepthStudy``); the stack pretrains the `pretrained` variant.
        case depthStudy(DepthStudy.Settings)
    }

    /// A second stage of features (Coates and Ng 2011): layers trained on
    /// random windows of the first stage's pooled maps (``LowerStage``).
    public struct MapsStage: Sendable {
        /// How the first stage's maps are made: stride, pooling grid and operation, encoding.
        public var features: FeatureSettings
        /// The random windows of the maps the first layer of this stage trains on.
        public var patches: Pretraining.PatchSettings
        public var preprocessing = PreprocessingPipeline()
        public var layers: [LayerSettings]
    }

    /// Where an experiment writes, and which pictures it draws.
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
    public var images = ImageSettings()
    /// Seed of the random patches; each layer's seed and the fine-tuning
    /// stage's (its labeled subset, its network's start, the SVM's draws)
    /// default to it too, so one `seed` repeats or varies the whole run.
    public var seed: UInt64 = 1
    public var patches: Pretraining.PatchSettings?
    public var preprocessing = PreprocessingPipeline()
    public var layers: [LayerSettings] = []
    /// Without `layers`: the softmax stage's network trained from a random
    /// start (`finetune: {softmax: {hidden: [1000, 1000], activation: relu, ...}}`),
    /// the baseline that pretraining is measured against.
    public var network: SoftmaxFineTuning.Network?
    /// A second stage on the first stage's maps; fine-tuning then uses its stack.
    public var maps: MapsStage?
    public var finetune: Finetune?
    /// Hold out this many training examples for validation (fine-tuning, C selection); nil: ``HeldOut/defaultCount(trainingExamples:)``.
    public var validation: Int?
    /// Fine-tune (softmax or SVM) on this many labeled examples of each class (``FewLabels``); pretraining still sees every image.
    public var labelsPerClass: Int?
    /// Self-taught learning: the fine-tuning stage reads this other dataset's
    /// images through the stack pretrained on ``images`` (``InputContract/checkSelfTaught(images:dataset:for:)``).
    public var selfTaught: String?
    /// Le et al.'s locally connected stages on whole images (``HighLevelFeatures``), in place of `layers`.
    public var localStages: HighLevelFeatures.Settings?
    /// Cores to use (nil: all; `--threads` overrides).
    public var threads: Int?
    public var outputs: Outputs

    /// Reads and validates an experiment file.
    public static func read(_ path: String) throws -> Experiment {
        let data = try readWholeFile(path)
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses and validates experiment YAML; `file` names it in errors.
    public static func parse(_ text: String, file: String = "<experiment>") throws -> Experiment {
        let rootField = try YAMLField.parse(text, file: file)
        let root = try YAMLSettings(rootField, allowed: ["name", "dataset", "seed", "patches", "preprocessing", "layers", "maps", "finetune", "validation", FewLabels.key, "self_taught", "threads", "outputs", "local_stages"])
        let name = try root.mapping.required("name").string()
        var e = Experiment(name: name, outputs: Outputs(folder: "runs/" + name))
        if let d = root.field("dataset") {
            let s = try YAMLSettings(d, allowed: ["name", "pixel_scale", "binarize", "limit"])
            e.images = try ImageSettings.read(from: RenamedSettings(s, ["dataset": "name"]))
        }
        if let v = try root.seed("seed") { e.seed = v }
        if let p = root.field("patches") {
            e.patches = try parsePatches(YAMLSettings(p, allowed: ["window", "count"]), in: p, missing: "missing required key 'window'")
        }
        if let pipeline = try parsePreprocessing(root) { e.preprocessing = pipeline }
        if let local = root.field("local_stages") {
            try root.refuse(["layers", "patches", "preprocessing", "maps", "finetune", FewLabels.key, "self_taught"],
                            "belongs to a stack of layers; local_stages train on whole images and end in their own SVM (local_stages.c_grid)")
            e.localStages = try parseLocalStages(local, seed: e.seed)
        }
        if let f = root.field("finetune") { (e.finetune, e.network) = try parseFinetune(f, seed: e.seed) }
        if e.localStages != nil {
        } else if e.network == nil { e.layers = try parseLayers(root, seed: e.seed) } else {
            try root.refuse(["layers", "patches", "preprocessing", "maps"], "a network trained from a random start (finetune.softmax.hidden) has no pretraining; give layers, or leave out hidden and activation")
        }
        if let m = root.field("maps") { e.maps = try parseMaps(m, seed: e.seed) }
        if let v = try root.positive("validation", root.int) { e.validation = v }
        if let v = try root.positive("threads", root.int) { e.threads = v }
        // What the supervised stage reads: a softmax or svm stage's settings.
        switch e.finetune {
        case .softmax?, .svm?: break
        default: try root.refuse([FewLabels.key, "self_taught"], "applies to a softmax or svm finetune stage")
        }
        e.labelsPerClass = try FewLabels.read(from: root)
        e.selfTaught = try root.text("self_taught")
        if let o = root.field("outputs") {
            let s = try YAMLSettings(o, allowed: ["folder", "weights", "monitor", "monitor_channels"])
            if let v = try s.text("folder") { e.outputs.folder = v }
            if let v = try s.bool("weights") { e.outputs.weights = v }
            if let v = try s.bool("monitor") { e.outputs.monitor = v }
            if let v = try s.text("monitor_channels") { e.outputs.monitorChannels = v }
        }
        return e
    }

    /// `{gcn: {sqrt_bias: 10}}`, or just `zca`: one step, read by the same reader as `--preprocess`.
    static func parsePreprocessor(_ field: YAMLField) throws -> any Preprocessor {
        if case .scalar = field.node {
            let name = try field.choice(PreprocessingPipeline.stepNames)
            return try PreprocessingPipeline.step(name, settings: FlagSettings([:]))
        }
        let outer = try field.mapping(allowed: PreprocessingPipeline.stepNames)
        guard outer.fields.count == 1, let (name, value) = outer.fields.first else {
            throw field.fail("each step is one of \(PreprocessingPipeline.stepNames.joined(separator: ", ")) with its settings")
        }
        if case .scalar(let s) = value.node, s.string.isEmpty || s.string == "~" || s.string == "null" {
            return try PreprocessingPipeline.step(name, settings: FlagSettings([:]))
        }
        return try PreprocessingPipeline.step(name, settings: YAMLSettings(value, allowed: PreprocessingPipeline.stepKeys[name]!))
    }

    static func parseLayer(_ field: YAMLField, seed: UInt64) throws -> LayerSettings {
        let s = try YAMLSettings(field, allowed: LayerSettings.learnerKeys + ["training"])
        _ = try s.mapping.required("learner")
        _ = try s.mapping.required("hidden")
        let training = try s.field("training").map {
            try YAMLSettings($0, allowed: TrainingConfiguration.keys.filter { !["prop_decrease", "patience"].contains($0) },
                             merged: ["early_stopping": (primary: "channel", keys: ["prop_decrease", "patience"])])
        }
        return try LayerSettings.read(learner: s, training: training ?? FlagSettings([:]), seed: seed)
    }

    /// `maps: {encoding: triangle, pool: 6x6, window: 2, count: 150000, preprocessing: [zca], layers: [...]}`.
    static func parseMaps(_ field: YAMLField, seed: UInt64) throws -> MapsStage {
        let s = try YAMLSettings(field, allowed: FeatureSettings.keys.filter { $0 != "lower_pool" } + ["window", "count", "preprocessing", "layers"])
        let patches = try parsePatches(s, in: field, missing: "missing required key 'window' (the windows of the maps the stage trains on)")
        var stage = MapsStage(features: try FeatureSettings.read(from: s), patches: patches, layers: try parseLayers(s, seed: seed))
        if let pipeline = try parsePreprocessing(s) { stage.preprocessing = pipeline }
        return stage
    }

    /// `window` (required; `missing` is the error without it) and `count` (default 150,000) of random patches or windows.
    static func parsePatches(_ s: YAMLSettings, in field: YAMLField, missing: String) throws -> Pretraining.PatchSettings {
        guard let window = try s.value("window", PairSetting.init(parsing:)) else { throw field.fail(missing) }
        return Pretraining.PatchSettings(window: .init(height: window.first, width: window.second), count: try s.positive("count", s.int) ?? Pretraining.PatchSettings.defaultCount)
    }

    /// The `preprocessing` list of a section, nil when it has none.
    static func parsePreprocessing(_ s: YAMLSettings) throws -> PreprocessingPipeline? {
        guard let list = try s.field("preprocessing")?.list() else { return nil }
        return PreprocessingPipeline(try list.map(parsePreprocessor))
    }

    /// The non-empty `layers` list of a section.
    static func parseLayers(_ s: YAMLSettings, seed: UInt64) throws -> [LayerSettings] {
        let layers = try s.mapping.required("layers").list()
        guard !layers.isEmpty else { throw try s.mapping.required("layers").fail("needs at least one layer") }
        return try layers.map { try parseLayer($0, seed: seed) }
    }

    /// The stage, and for a softmax stage that names `hidden` (or
    /// `activation`), its network from a random start. The stage's seed
    /// defaults to the experiment's `seed`.
    static func parseFinetune(_ field: YAMLField, seed: UInt64) throws -> (Finetune, SoftmaxFineTuning.Network?) {
        let outer = try field.mapping(allowed: ["softmax", "svm", "depth_study"])
        guard outer.fields.count == 1, let (kind, value) = outer.fields.first else { throw field.fail("give exactly one of softmax, svm or depth_study") }
        if kind == "depth_study" {
            return (.depthStudy(try DepthStudy.Settings.read(from: YAMLSettings(value, allowed: DepthStudy.Settings.keys))), nil)
        }
        if kind == "softmax" {
            let randomKeys = SoftmaxFineTuning.Network.randomKeys
            let s = try YAMLSettings(value, allowed: FineTuningConfiguration.keys + ["compare_without_pretraining"] + randomKeys)
            var c = try FineTuningConfiguration.read(from: s)
            if !s.has("seed") { c.seed = seed }
            var network: SoftmaxFineTuning.Network?
            if randomKeys.contains(where: s.has) {
                try s.refuse(["compare_without_pretraining"], "compares a pretrained network with one from a random start; this network is the one from a random start")
                network = try SoftmaxFineTuning.Network.random(reading: s)
            }
            return (.softmax(c, compareWithoutPretraining: try s.bool("compare_without_pretraining") ?? false), network)
        }
        let s = try YAMLSettings(value, allowed: SVMFineTuning.keys + FeatureSettings.keys)
        var (svm, grid, stdEps) = try SVMFineTuning.readSVM(from: s)
        if !s.has("seed") { svm.seed = seed }
        return (.svm(svm, cGrid: grid, stdEps: stdEps, features: try FeatureSettings.read(from: s)), nil)
    }
}

/// A source whose keys are read under other names (`dataset` as YAML's `dataset.name`).
struct RenamedSettings: SettingSource {
    let base: SettingSource
    let names: [String: String]
    init(_ base: SettingSource, _ names: [String: String]) { (self.base, self.names) = (base, names) }
    func text(_ key: String) throws -> String? { try base.text(names[key] ?? key) }
    func failure(_ key: String, _ reason: String) -> Error { base.failure(names[key] ?? key, reason) }
    var givenKeys: [String] { base.givenKeys.map { k in names.first { $0.value == k }?.key ?? k } }
}
