import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// How depth affects training, with and without the methods that replaced
/// greedy pretraining: fully connected networks of depth 1, 2, ... (the
/// hidden sizes of a pretrained stack, added one layer at a time, as in the
/// batch-normalization experiment that made the method popular) trained for
/// each ``Variant`` with the same optimizer, batch size, budget and seed. For
/// each network it measures the minibatch updates and the training seconds
/// until the validation accuracy first reaches a target (time to accuracy, as
/// DAWNBench reports it), and the test accuracy of the best epoch. The stage
/// behind an experiment's `finetune: {depth_study: ...}` (the `deep_networks`
/// tutorial); it writes `depth_study.md` (the table), `depth_study.csv` and
/// `depth_study.png` (updates to the target against depth, one line per variant).
public enum DepthStudy {
    /// One kind of network: random hidden layers of an activation (Glorot's
    /// initialization, He's for rectifiers), or the pretrained stack's layers;
    /// with or without batch normalization. Written `sigmoid`, `relu+bn`,
    /// `pretrained`, `pretrained+bn`.
    public struct Variant: Sendable, Equatable, CustomStringConvertible {
        /// nil: the pretrained stack's layers.
        public var activation: Activation?
        public var batchNorm: Bool

        public init(activation: Activation?, batchNorm: Bool = false) { (self.activation, self.batchNorm) = (activation, batchNorm) }

        /// `ACTIVATION` or `pretrained`, optionally followed by `+bn`.
        public init(parsing text: String) throws {
            let parts = text.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
            guard (1 ... 2).contains(parts.count), parts.count == 1 || settingWord(parts[1]) == "bn" else {
                throw SettingError("'\(text)' is not a variant: give an activation or pretrained, optionally followed by +bn (relu+bn)")
            }
            batchNorm = parts.count == 2
            activation = settingWord(parts[0]) == "pretrained" ? nil : try Activation(parsing: parts[0], among: Activation.elementwise)
        }

        public var description: String { (activation?.rawValue ?? "pretrained") + (batchNorm ? "+bn" : "") }
    }

    /// What to compare and how each network trains.
    public struct Settings: Sendable {
        public var variants: [Variant] = [.init(activation: .sigmoid), .init(activation: .sigmoid, batchNorm: true),
                                          .init(activation: .relu), .init(activation: .relu, batchNorm: true), .init(activation: nil)]
        /// The validation accuracy whose time to reach is measured.
        public var targetAccuracy = 0.85
        /// Updates between two measurements of the validation accuracy (the resolution of the count).
        public var evaluateEvery = 50
        /// The training of every network: by default Adam at its paper's rate, 4 epochs, all of them run (patience = epochs).
        public var training: FineTuningConfiguration = {
            var c = FineTuningConfiguration()
            (c.optimizer, c.learningRate, c.maxEpochs, c.patience) = (.adamDefaults, Optimizer.adamLearningRate, 4, 4)
            return c
        }()

        public init() {}

        /// The keys of a study: its own and every fine-tuning key.
        public static let keys = ["variants", "target_accuracy", "evaluate_every"] + FineTuningConfiguration.keys

        /// A study's settings from `s`; fine-tuning keys not given keep the study's defaults, and patience defaults to the epochs.
        public static func read(from s: SettingSource) throws -> Settings {
            var settings = Settings()
            if let variants = try s.value("variants", { text in
                try text.split(separator: ",").map { try Variant(parsing: $0.trimmingCharacters(in: .whitespaces)) }
            }) {
                guard !variants.isEmpty else { throw s.failure("variants", "name at least one variant") }
                settings.variants = variants
            }
            if let v = try s.float("target_accuracy") {
                guard v > 0, v < 1 else { throw s.failure("target_accuracy", "a validation accuracy lies in (0, 1), found \(v)") }
                settings.targetAccuracy = Double(v)
            }
            if let v = try s.positive("evaluate_every", s.int) { settings.evaluateEvery = v }
            var training = try FineTuningConfiguration.read(from: DefaultedSettings(base: s, defaults: [
                "optimizer": "adam", "epochs": String(settings.training.maxEpochs)]))
            if !s.has("patience") { training.patience = training.maxEpochs }
            settings.training = training
            return settings
        }
    }

    /// One network's measurements.
    public struct Row: Sendable, Codable, Equatable {
        public var variant: String
        public var depth: Int
        public var sizes: String
        /// Updates until the validation accuracy first reached the target; nil: not within the budget.
        public var updatesToTarget: Int?
        /// Training seconds until then (the steps only).
        public var secondsToTarget: Double?
        public var bestValidationError: Double
        public var testAccuracy: Double
        /// The whole run's training seconds.
        public var seconds: Double
        /// For the pretrained variant: the greedy pretraining time of its layers, not included in ``seconds``.
        public var pretrainingSeconds: Double?
    }

    /// Trains every variant at every depth from 1 to the stack's; each run in
    /// `folder/VARIANT-DEPTH` (its classifier, monitor and evaluation).
    /// `pretrainingSeconds[k]` is layer k's pretraining time.
    public static func run(_ s: Settings, stack: LayerStack, stackPath: String, images: ImageSettings, validation: Int?,
                           labeled: LabeledImages? = nil, pretrainingSeconds: [Double], folder: String, compute: Compute,
                           showProgress: Bool = true, log: StageLog = { print($0) }) throws -> [Row] {
        let sizes = stack.layers.map(\.hiddenCount)
        guard !sizes.isEmpty else { throw StrataError.invalidArgument(name: "depth study", reason: "needs the stack's layers: their sizes are the depths' hidden layers") }
        let labeled = try labeled ?? images.loadLabeled()
        var rows: [Row] = []
        for variant in s.variants {
            for depth in 1 ... sizes.count {
                let network: SoftmaxFineTuning.Network
                if let activation = variant.activation {
                    network = .random(hidden: Array(sizes.prefix(depth)), activation: activation)
                } else {
                    network = .pretrained(try LayerStack(layers: Array(stack.layers.prefix(depth)), preprocessing: stack.preprocessing, extra: stack.extra),
                                          name: stackPath)
                }
                var run = SoftmaxFineTuning.Settings(network: network, images: images)
                (run.validation, run.training, run.folder, run.preprocessing) = (validation, s.training, folder + "/\(variant)-\(depth)", stack.preprocessing)
                run.training.batchNorm = variant.batchNorm
                run.target = (1 - s.targetAccuracy, s.evaluateEvery)
                let result = try SoftmaxFineTuning.run(run, loaded: labeled, compute: compute, showProgress: showProgress, log: { _ in })
                let reached = result.report.targetReached
                let row = Row(variant: variant.description, depth: depth, sizes: result.network.sizes, updatesToTarget: reached?.updates,
                              secondsToTarget: reached?.seconds, bestValidationError: result.report.bestValidationError,
                              testAccuracy: result.evaluation.confusion.accuracy, seconds: result.report.seconds,
                              pretrainingSeconds: variant.activation == nil ? pretrainingSeconds.prefix(depth).reduce(0, +) : nil)
                rows.append(row)
                log(String(format: "%@ depth %d (%@): %@, test accuracy %.2f%% (%.1f s)", row.variant, depth, row.sizes,
                           reached.map { String(format: "%.0f%% validation accuracy after %d updates, %.1f s", 100 * s.targetAccuracy, $0.updates, $0.seconds) }
                               ?? String(format: "%.0f%% validation accuracy not reached", 100 * s.targetAccuracy),
                           100 * row.testAccuracy, row.seconds))
            }
        }
        return rows
    }
}

/// A source that answers `defaults` for the keys `base` does not give.
struct DefaultedSettings: SettingSource {
    let base: SettingSource
    let defaults: [String: String]
    func text(_ key: String) throws -> String? { try base.text(key) ?? defaults[key] }
    func failure(_ key: String, _ reason: String) -> Error { base.failure(key, reason) }
    var givenKeys: [String] { Array(Set(base.givenKeys).union(defaults.keys)) }
}
