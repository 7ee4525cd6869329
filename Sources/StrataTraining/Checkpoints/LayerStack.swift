import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Layers pretrained greedily, one on the hidden means of the ones below
/// (a stacked autoencoder, a deep belief network, or a mix), with the fitted
/// preprocessing of their input. Saves to and loads from one safetensors file;
/// ``appending(_:)`` extends it without touching the layers below.
///
/// File layout: tensors `layer<i>.<parameter>` and `preprocessing.*`; in the
/// metadata `format = strata-stack-1`, `layers` (a JSON list of each layer's
/// kind and configuration) and free-form extras such as `image_geometry`.
public struct LayerStack: Sendable {
    public private(set) var layers: [any UnsupervisedLearner]
    /// Applied to raw input before the first layer.
    public var preprocessing: PreprocessingPipeline
    /// Free-form metadata (for example `image_geometry` of the patches the stack was trained on).
    public var extra: [String: String]

    public init(layers: [any UnsupervisedLearner] = [], preprocessing: PreprocessingPipeline = PreprocessingPipeline(), extra: [String: String] = [:]) throws {
        self.layers = []
        self.preprocessing = preprocessing
        self.extra = extra
        for layer in layers { self = try appending(layer) }
    }

    /// Values per raw input example (after preprocessing), or nil when empty.
    public var inputCount: Int? { layers.first?.visibleCount }
    /// Features the top layer outputs, or nil when empty.
    public var outputCount: Int? { layers.last?.hiddenCount }
    /// Layer sizes, for example `784-1000-1000`.
    public var sizes: String {
        guard let first = layers.first else { return "empty" }
        return ([first.visibleCount] + layers.map(\.hiddenCount)).map(String.init).joined(separator: "-")
    }

    /// This stack with `layer` on top; its input size must be the top's output size.
    public func appending(_ layer: any UnsupervisedLearner) throws -> LayerStack {
        if let top = outputCount, top != layer.visibleCount {
            throw StrataError.shapeMismatch(context: "layer \(layers.count + 1) on a stack whose top outputs \(top) features",
                                            expected: [top], found: [layer.visibleCount])
        }
        var copy = self
        copy.layers.append(layer)
        return copy
    }

    /// Checks that `data` has the stack's input width, naming `what` in the error.
    public func requireInput(_ data: Tensor, what: String) throws {
        if let inputCount, data.columns != inputCount {
            throw StrataError.shapeMismatch(context: "\(what): the stack (\(sizes)) takes \(inputCount) features per example",
                                            expected: [data.rows, inputCount], found: data.shape)
        }
    }

    /// Hidden means of layer `depth` (1-based; default: the top) for already
    /// preprocessed `x`, in batches of `batchSize` rows.
    public func transform(_ x: Tensor, depth: Int? = nil, batchSize: Int = 4096) throws -> Tensor {
        try requireInput(x, what: "stack input")
        let depth = depth ?? layers.count
        guard (1 ... max(layers.count, 1)).contains(depth), !layers.isEmpty else {
            throw StrataError.invalidArgument(name: "layer", reason: "\(depth) is not a layer of this \(layers.count)-layer stack")
        }
        var h = x
        for layer in layers.prefix(depth) { h = layer.transform(h, batchSize: batchSize) }
        return h
    }

    /// Preprocesses raw `x` with the stack's pipeline, then ``transform(_:depth:batchSize:)``.
    public func features(ofRaw x: Tensor, depth: Int? = nil) throws -> Tensor {
        var p = x
        try preprocessing.transform(&p)
        return try transform(p, depth: depth)
    }

    /// The layers as affine layers, bottom first (the start of a fine-tuning network).
    public var denseLayers: [DenseLayer] { layers.map(\.denseLayer) }

    /// Refuses a stack whose layers are not affine layers of a network
    /// (locally connected stages, with their L2 pooling and normalization):
    /// what a network to fine-tune or an exported model is built from.
    public func requireDenseLayers(what: String) throws {
        guard let index = layers.firstIndex(where: { $0 is LocalFeatureStage }) else { return }
        throw StrataError.invalidArgument(name: "stack", reason: """
            \(what): layer \(index + 1) is a locally connected stage (filters, L2 pooling, local contrast normalization), \
            which is not a dense layer of a network; a stack of local stages alone is fine-tuned through (local_stages.fine_tune, \
            or strata finetune softmax --stack), not a stack that mixes them with other layers
            """)
    }

    // MARK: Files

    public func safeTensors() throws -> SafeTensors {
        var file = SafeTensors(tensors: [:], metadata: extra)
        var descriptions: [[String: String]] = []
        for (i, layer) in layers.enumerated() {
            for (name, tensor) in layer.parameters { file.tensors["layer\(i).\(name)"] = tensor }
            descriptions.append(["kind": type(of: layer).kind, "configuration": layer.configurationJSON])
        }
        try preprocessing.save(into: &file)
        file.metadata["format"] = "strata-stack-1"
        file.metadata["layers"] = encodeJSON(descriptions)
        return file
    }

    /// Writes the stack atomically.
    public func write(to path: String) throws { try safeTensors().write(to: path) }

    /// Reads a stack file, or a single learner's checkpoint as a one-layer stack.
    public static func read(_ path: String) throws -> LayerStack {
        try read(safeTensors: try SafeTensors.read(path), path: path)
    }

    /// The stack held in `file` (read from `path`, named in errors).
    public static func read(safeTensors file: SafeTensors, path: String) throws -> LayerStack {
        if file.metadata["format"] != "strata-stack-1", file.metadata["learner"] != nil {
            let single = try LearnerCheckpoint.read(safeTensors: file, path: path)
            return try LayerStack(layers: [single.learner], preprocessing: single.preprocessing, extra: single.extra).checkedGeometry(path)
        }
        guard file.metadata["format"] == "strata-stack-1", let text = file.metadata["layers"] else {
            throw StrataError.badKey(path: path, key: "__metadata__.format", reason: "not a Strata stack or checkpoint (found \(file.metadata["format"] ?? "no format"))")
        }
        let descriptions: [[String: String]]
        do { descriptions = try decodeJSON([[String: String]].self, text, what: "layers") } catch StrataError.badKey(_, _, let reason) {
            throw StrataError.badKey(path: path, key: "__metadata__.layers", reason: reason)
        }
        guard !descriptions.isEmpty else {
            throw StrataError.badKey(path: path, key: "__metadata__.layers", reason: "the stack has no layers (expected a list of each layer's kind and configuration)")
        }
        var layers: [any UnsupervisedLearner] = []
        for (i, d) in descriptions.enumerated() {
            guard let kind = d["kind"], let type = LearnerCheckpoint.registry[kind], let configuration = d["configuration"] else {
                throw StrataError.badKey(path: path, key: "layers[\(i)]", reason: "unknown or missing learner kind (\(d["kind"] ?? "none"))")
            }
            let prefix = "layer\(i)."
            var parameters: [String: Tensor] = [:]
            for (name, tensor) in file.tensors where name.hasPrefix(prefix) { parameters[String(name.dropFirst(prefix.count))] = tensor }
            do {
                layers.append(try type.init(configurationJSON: configuration, parameters: parameters, trainingState: [:]))
            } catch StrataError.badKey(_, let key, let reason) {
                throw StrataError.badKey(path: path, key: prefix + key, reason: reason)
            } catch StrataError.shapeMismatch(let context, let expected, let found) {
                throw StrataError.shapeMismatch(context: "\(path): layer \(i + 1): \(context)", expected: expected, found: found)
            } catch StrataError.invalidArgument(let name, let reason) {
                throw StrataError.badKey(path: path, key: "layers[\(i)].configuration", reason: "\(name): \(reason)")
            }
        }
        let known: Set = ["format", "layers", "preprocessing"]
        do {
            return try LayerStack(layers: layers, preprocessing: try PreprocessingPipeline(checkpoint: file, path: path),
                                  extra: file.metadata.filter { !known.contains($0.key) }).checkedGeometry(path)
        } catch StrataError.shapeMismatch(let context, let expected, let found) {
            throw StrataError.shapeMismatch(context: "\(path): \(context)", expected: expected, found: found)
        }
    }
}

extension LayerStack {
    /// This stack, its recorded input checked against its first layer: the
    /// values of one recorded example (an image, or a patch of the window and
    /// the image's channels), after the preprocessing, are the layer's inputs.
    /// A stack on another stack's features or maps records their images, not its input.
    func checkedGeometry(_ path: String) throws -> LayerStack {
        let contract = try InputContract(metadata: extra, path: path)
        guard contract.through == nil, contract.maps == nil, let example = contract.exampleGeometry, let inputs = inputCount else { return self }
        guard example.size == inputs || preprocessing.outputFeatures(for: example.size) == inputs else {
            throw StrataError.badKey(path: path, key: "__metadata__.input", reason: "records \(contract.patchWindow == nil ? "" : "patches of ")\(example) (\(example.size) values), but the first layer reads \(inputs)")
        }
        return self
    }
}
