import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Writing a saved classifier for another runtime: the stage behind
/// `strata export`. The classifier's whole inference path (pixel treatment,
/// preprocessing, the stack, convolutional features and pooling, the head)
/// becomes an ``InferencePlan``, written as an ONNX model or as a PyTorch
/// state dict with the module that loads it.
public enum Exporting {
    /// The runtime a classifier is written for.
    public enum Format: String, CaseIterable, Sendable {
        /// One `.onnx` file (``ONNXExport``).
        case onnx
        /// A `.safetensors` state dict and a `.py` module beside it (``TorchExport``).
        case torch

        /// `onnx` or `torch` (also `pytorch`).
        public init(parsing text: String) throws {
            switch text.lowercased() {
            case "onnx": self = .onnx
            case "torch", "pytorch": self = .torch
            default: throw SettingError("'\(text)' is not an export format (onnx or torch)")
            }
        }

        /// The extension of the main file.
        public var fileExtension: String { self == .onnx ? "onnx" : "safetensors" }
    }

    /// What to export, and where.
    public struct Settings: Sendable {
        /// A `classifier.safetensors` written by `strata finetune`.
        public var classifier: String
        /// The runtime to write for.
        public var format: Format
        /// The main file; nil: `model.onnx` or `model.safetensors` beside the classifier.
        public var output: String?
        /// Test images of the classifier's dataset written beside the model with
        /// Strata's scores (`NAME_pixels.npy`, `NAME_scores.npy`), so any runtime
        /// can be checked against Strata (`scripts/check_export.py`); 0: none.
        public var reference: Int

        /// Settings for `classifier`; the defaults write `model.onnx` beside it, with no reference images.
        public init(classifier: String, format: Format = .onnx, output: String? = nil, reference: Int = 0) {
            (self.classifier, self.format, self.output, self.reference) = (classifier, format, output, reference)
        }

        /// The settings `source` gives for `classifier` (keys `format`, `output`, `reference`).
        public static func read(_ source: SettingSource, classifier: String) throws -> Settings {
            let reference = try source.int("reference") ?? 0
            guard reference >= 0 else { throw source.failure("reference", "must be 0 (none) or a number of test images, not \(reference)") }
            return Settings(classifier: classifier, format: try source.value("format", Format.init(parsing:)) ?? .onnx,
                            output: try source.value("output") { $0 }, reference: reference)
        }
    }

    /// The files written: the main one, and the Python module for `torch`.
    public struct Written: Sendable {
        /// The `.onnx` file or the `.safetensors` state dict.
        public var model: String
        /// The generated Python module (torch only).
        public var module: String?
        /// The reference images and Strata's scores of them, when asked for.
        public var reference: (pixels: String, scores: String)?
        /// What was exported.
        public var plan: InferencePlan
    }

    /// Exports the classifier; every file is written atomically.
    @discardableResult
    public static func run(_ settings: Settings, log: StageLog = { print($0) }) throws -> Written {
        let classifier = try Classifier.read(settings.classifier)
        let plan: InferencePlan
        do { plan = try InferencePlan(classifier: classifier) } catch let error as StrataError {
            throw StrataError.invalidArgument(name: settings.classifier, reason: "cannot be exported: \(error.description)")
        }
        let output = settings.output ?? URL(fileURLWithPath: settings.classifier).deletingLastPathComponent()
            .appendingPathComponent("model." + settings.format.fileExtension).path
        guard output.hasSuffix("." + settings.format.fileExtension) else {
            throw StrataError.invalidArgument(name: "output", reason: "\(output): a \(settings.format.rawValue) export is a .\(settings.format.fileExtension) file")
        }
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
        try AtomicFile.makeFolder(folder)
        log("\(classifier.kind) classifier \(settings.classifier): \(plan.summary)")
        let stem = String(output.dropLast(settings.format.fileExtension.count + 1))
        var written = Written(model: output, module: nil, reference: nil, plan: plan)
        switch settings.format {
        case .onnx:
            try AtomicFile.write(try ONNXExport.model(plan, producerVersion: StrataVersion.current), to: output)
            log("ONNX model (opset 13): \(output)  input 'pixels' (batch, \(plan.inputCount)), outputs 'scores' (batch, \(plan.classNames.count)) and 'label'")
        case .torch:
            let module = stem + ".py"
            let (stateDict, source) = TorchExport.files(plan, weightsFile: URL(fileURLWithPath: output).lastPathComponent)
            try stateDict.write(to: output)
            try AtomicFile.write(Data(source.utf8), to: module)
            written.module = module
            log("PyTorch state dict: \(output)\nmodule that loads it: \(module)  (python: `model = load()`, then `model(torch.from_numpy(pixels))`)")
        }
        if settings.reference > 0 {
            let contract = try InputContract(metadata: classifier.extra, path: settings.classifier)
            // Raw pixels, as the exported model takes them: no pixel scale, no binarization.
            let raw = try ImageSettings(dataset: contract.dataset ?? ImageSettings.defaultDataset, split: .test, limit: settings.reference,
                                        pixelScale: 1, binarize: false).load()
            var treated = raw
            contract.treat(&treated)
            let paths = (pixels: stem + "_pixels.npy", scores: stem + "_scores.npy")
            try NPY.write(raw.examples, to: paths.pixels)
            try NPY.write(try classifier.scores(treated.examples), to: paths.scores)
            written.reference = paths
            log("reference: \(raw.count) test images of \(raw.name) and Strata's scores: \(paths.pixels), \(paths.scores)\n"
                + "  check a runtime against them: python3 scripts/check_export.py \(written.module ?? output) \(paths.pixels) \(paths.scores)")
        }
        return written
    }
}
