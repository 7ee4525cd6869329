import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

/// A trained classifier ready to apply to raw examples: a softmax network
/// (a fine-tuned stack, or the layers above local stages fine-tuned with
/// them), or a linear SVM on features from a stack (per example or
/// convolutional), with the preprocessing each needs and the class names.
///
/// Saved as one safetensors file: `format = strata-classifier-1`, the head's
/// tensors under `softmax.*` or `svm.*`, the feature stack under `extractor.*`,
/// the preprocessing under `preprocessing.*`.
public struct Classifier: Sendable {
    /// What classifies the features: a softmax network or a linear SVM.
    public enum Head: Sendable {
        case softmax(SoftmaxNetwork)
        case svm(LinearSVM)
    }

    public var head: Head
    /// For an SVM on learned features, or a softmax network above fine-tuned local stages: the stack and how it is applied.
    public var extractor: FeatureExtractor?
    /// Applied to the extracted features when there is an extractor (an
    /// SVM's standardization), else to the raw input before the network.
    public var preprocessing: PreprocessingPipeline
    public var classNames: [String]
    /// Free-form metadata, for example `pixel_scale` of the input images.
    public var extra: [String: String]

    public init(head: Head, extractor: FeatureExtractor? = nil, preprocessing: PreprocessingPipeline = PreprocessingPipeline(),
                classNames: [String], extra: [String: String] = [:]) {
        (self.head, self.extractor, self.preprocessing, self.classNames, self.extra) = (head, extractor, preprocessing, classNames, extra)
    }

    /// The classifier of a network fine-tuned through its local stages
    /// (``SoftmaxNetwork/front``): the stages, after `imagePreprocessing`,
    /// become the extractor (a stack file's layers, as pretraining saved
    /// them) and the layers above them the softmax head, so `strata
    /// predict`, `evaluate` and `export` read it as any classifier.
    public init(fineTunedThrough network: SoftmaxNetwork, imagePreprocessing: PreprocessingPipeline, classNames: [String], extra: [String: String] = [:]) throws {
        guard let front = network.front else {
            throw StrataError.invalidArgument(name: "classifier", reason: "the network has no local stages; use Classifier(head: .softmax(network), ...)")
        }
        var top = network
        top.front = nil
        let stack = try LayerStack(layers: front.stages, preprocessing: imagePreprocessing, extra: extra)
        self.init(head: .softmax(top), extractor: try FeatureExtractor(stack: stack), classNames: classNames, extra: extra)
    }

    public var kind: String {
        switch head { case .softmax: "softmax"; case .svm: "svm" }
    }

    /// Values per raw example this classifier takes.
    public var inputCount: Int {
        if let extractor { return extractor.inputCount }
        switch head {
        case .softmax(let network): return network.inputCount
        case .svm(let svm): return svm.featureCount
        }
    }

    /// Class scores `(n, classes)` of raw examples: probabilities (softmax) or decision values (SVM).
    public func scores(_ raw: Tensor, progress: ((Int) -> Void)? = nil) throws -> Tensor {
        guard raw.columns == inputCount else {
            throw StrataError.shapeMismatch(context: "examples for this \(kind) classifier", expected: [raw.rows, inputCount], found: raw.shape)
        }
        switch head {
        case .softmax(let network):
            // Over learned features (a network fine-tuned through local stages), the extractor first.
            var x = try extractor.map { try $0.extract(raw, progress: progress) } ?? raw
            try preprocessing.transform(&x)
            return network.probabilities(x, progress: extractor == nil ? progress : nil)
        case .svm(let svm):
            var features = try extractor.map { try $0.extract(raw, progress: progress) } ?? raw
            try preprocessing.transform(&features)
            return try svm.decisionValues(features)
        }
    }

    /// The predicted class of each raw example.
    public func predict(_ raw: Tensor, progress: ((Int) -> Void)? = nil) throws -> [Int] {
        let s = try scores(raw, progress: progress)
        return s.withUnsafeBufferPointer { p in
            (0 ..< s.rows).map { i in argmax(UnsafeBufferPointer(rebasing: p[i * s.columns ..< (i + 1) * s.columns])) }
        }
    }

    // MARK: Files

    public func write(to path: String) throws {
        var file = SafeTensors(tensors: [:], metadata: extra)
        switch head {
        case .softmax(let network):
            guard network.front == nil else {
                throw StrataError.invalidArgument(name: "classifier", reason: "a network over local stages is saved with its stages as the extractor (Classifier(fineTunedThrough:...))")
            }
            // Batch normalization is saved folded into its layer: the file holds plain layers.
            let layers = network.inferenceLayers + [network.output]
            for (i, layer) in layers.enumerated() {
                file.tensors["softmax.layer\(i).weights"] = layer.weights
                file.tensors["softmax.layer\(i).bias"] = layer.bias
            }
            file.metadata["softmax.activations"] = encodeJSON(layers.map(\.activation))
            if layers.contains(where: { $0.pieces > 1 }) { file.metadata["softmax.pieces"] = encodeJSON(layers.map(\.pieces)) }
        case .svm(let svm):
            file.tensors["svm.weights"] = svm.weights
            file.tensors["svm.bias"] = svm.bias
            file.metadata["svm.settings"] = encodeJSON(svm.settings)
        }
        try extractor?.save(into: &file, prefix: "extractor")
        try preprocessing.save(into: &file)
        file.metadata["format"] = "strata-classifier-1"
        file.metadata["classifier"] = kind
        file.metadata["class_names"] = encodeJSON(classNames)
        try file.write(to: path)
    }

    public static func read(_ path: String) throws -> Classifier {
        try read(safeTensors: SafeTensors.read(path), path: path)
    }

    /// The classifier held in `file` (read from `path`, named in errors); its
    /// metadata is decoded, range-checked and matched against the tensors.
    public static func read(safeTensors file: SafeTensors, path: String) throws -> Classifier {
        let contract = try InputContract(metadata: file.metadata, path: path)
        guard file.metadata["format"] == "strata-classifier-1" else {
            throw StrataError.badKey(path: path, key: "__metadata__.format", reason: "not a Strata classifier (found \(file.metadata["format"] ?? "none")); make one with `strata finetune`")
        }
        do {
            let classNames = try decodeJSON([String].self, file.metadata["class_names"] ?? "", what: "class_names")
            let extractor = try FeatureExtractor.load(from: file, prefix: "extractor", path: path)
            let head: Head
            switch file.metadata["classifier"] {
            case "softmax":
                let activations = try decodeJSON([Activation].self, file.metadata["softmax.activations"] ?? "", what: "softmax.activations")
                // Files from before maxout have no pieces: one per unit.
                let pieces = try file.metadata["softmax.pieces"].map { try decodeJSON([Int].self, $0, what: "softmax.pieces") }
                    ?? activations.map { _ in 1 }
                guard pieces.count == activations.count else {
                    throw StrataError.badKey(path: path, key: "softmax.pieces", reason: "\(pieces.count) entries for \(activations.count) layers")
                }
                var layers: [DenseLayer] = []
                for (i, activation) in activations.enumerated() {
                    let w = try file.tensor("softmax.layer\(i).weights", in: path), b = try file.tensor("softmax.layer\(i).bias", in: path)
                    let k = pieces[i]
                    guard k >= 1, k == 1 || activation == .maxout else {
                        throw StrataError.badKey(path: path, key: "softmax.pieces", reason: "layer \(i) has \(k) pieces and \(activation.rawValue) units")
                    }
                    guard w.rank == 2, b.count == w.columns, w.columns % k == 0, layers.last.map({ $0.outputCount == w.rows }) ?? true else {
                        throw StrataError.shapeMismatch(context: "\(path): softmax layer \(i)", expected: [layers.last?.outputCount ?? w.rows, b.count], found: w.shape)
                    }
                    layers.append(DenseLayer(weights: w, bias: b, activation: activation, pieces: k))
                }
                guard let top = layers.popLast() else { throw StrataError.badKey(path: path, key: "softmax.activations", reason: "no layers") }
                var network = try SoftmaxNetwork(hidden: layers, inputCount: layers.first?.inputCount ?? top.inputCount, classes: top.outputCount)
                network.output = top
                head = .softmax(network)
            case "svm":
                let settings = try decodeJSON(LinearSVM.Settings.self, file.metadata["svm.settings"] ?? "", what: "svm.settings")
                let w = try file.tensor("svm.weights", in: path), b = try file.tensor("svm.bias", in: path)
                guard w.rank == 2, b.count == w.columns else {
                    throw StrataError.shapeMismatch(context: "\(path): svm.bias", expected: [w.columns], found: b.shape)
                }
                head = .svm(LinearSVM(weights: w, bias: b, settings: settings))
            default:
                throw StrataError.badKey(path: path, key: "__metadata__.classifier", reason: "is \(file.metadata["classifier"] ?? "missing"); expected softmax or svm")
            }
            guard classNames.count == (head.classCount) else {
                throw StrataError.badKey(path: path, key: "class_names", reason: "\(classNames.count) names for \(head.classCount) classes")
            }
            try checkGeometry(contract, head: head, extractor: extractor, path: path)
            let known: Set = ["format", "classifier", "class_names", "softmax.activations", "softmax.pieces", "svm.settings", "preprocessing"]
            return Classifier(head: head, extractor: extractor, preprocessing: try PreprocessingPipeline(checkpoint: file, path: path),
                              classNames: classNames, extra: file.metadata.filter { !known.contains($0.key) && !$0.key.hasPrefix("extractor") })
        } catch StrataError.badKey(_, let key, let reason) {
            throw StrataError.badKey(path: path, key: key, reason: reason)
        }
    }
}

extension Classifier.Head {
    var classCount: Int {
        switch self {
        case .softmax(let network): network.classCount
        case .svm(let svm): svm.classCount
        }
    }
}

extension Classifier {
    /// The recorded image geometry against the tensors: the images the
    /// contract records must be what the extractor or network reads (their
    /// values per image, and a convolution's image and window), and an SVM's
    /// weights must have a row per feature the extractor gives.
    static func checkGeometry(_ contract: InputContract, head: Head, extractor: FeatureExtractor?, path: String) throws {
        if let extractor, case .svm(let svm) = head, extractor.outputCount != svm.featureCount {
            throw StrataError.badKey(path: path, key: "svm.weights", reason: "\(svm.featureCount) rows, but the extractor gives \(extractor.outputCount) features per image (\(extractor.hiddenCount) per region x \(extractor.convolution?.pooling.regions ?? 1) regions\(extractor.lowerPooling == nil ? "" : " and the lower stage's"))")
        }
        if let extractor, case .softmax(let network) = head, extractor.outputCount != network.inputCount {
            throw StrataError.badKey(path: path, key: "softmax.layer0.weights", reason: "reads \(network.inputCount) values, but the extractor gives \(extractor.outputCount) features per image")
        }
        guard contract.maps == nil, let image = contract.image else { return }
        // A two-stage extractor reads the images through its lowest stage.
        var bottom = extractor
        while let lower = bottom?.lower { bottom = lower.extractor }
        if let convolution = bottom?.convolution {
            guard convolution.image == image else {
                throw StrataError.badKey(path: path, key: "__metadata__.input.image", reason: "records \(image) images, but the extractor's convolution reads \(convolution.image) images")
            }
            if let window = contract.patchWindow, window.height != convolution.windowHeight || window.width != convolution.windowWidth {
                throw StrataError.badKey(path: path, key: "__metadata__.input.patch_window", reason: "records \(window) patches, but the convolution's window is \(convolution.windowHeight)x\(convolution.windowWidth)")
            }
            return // the convolution reads whole images of the recorded geometry
        }
        guard contract.patchWindow == nil else { return }
        let reads = extractor?.inputCount ?? { if case .softmax(let network) = head { network.inputCount } else { image.size } }()
        guard reads == image.size else {
            throw StrataError.badKey(path: path, key: "__metadata__.input.image", reason: "records \(image) images (\(image.size) values), but the classifier reads \(reads) values per image")
        }
    }
}
