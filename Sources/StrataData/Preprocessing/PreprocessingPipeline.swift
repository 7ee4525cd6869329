import Foundation
import StrataCore

/// Preprocessors applied in order (pylearn2's `Pipeline`): each step is fitted
/// on the output of the steps before it. The fitted pipeline saves into a
/// safetensors checkpoint beside the model (tensors `preprocessing.<i>.<name>`,
/// the steps and settings as JSON in the metadata key `preprocessing`).
public struct PreprocessingPipeline: Sendable {
    public var steps: [any Preprocessor]

    public init(_ steps: [any Preprocessor] = []) { self.steps = steps }

    /// The kinds a checkpoint can name, for loading.
    public static let registry: [String: any Preprocessor.Type] = [
        GlobalContrastNormalization.kind: GlobalContrastNormalization.self,
        ZCA.kind: ZCA.self, Standardization.kind: Standardization.self,
        RemoveExampleMean.kind: RemoveExampleMean.self, PCA.kind: PCA.self, ChannelInterleave.kind: ChannelInterleave.self,
    ]

    /// Fits every step in order on `data`, leaving `data` transformed.
    /// `report` receives each step's kind and its fit and transform seconds.
    public mutating func fitTransform(_ data: inout Tensor,
                                      report: (_ kind: String, _ fitSeconds: Double, _ transformSeconds: Double) -> Void = { _, _, _ in }) throws {
        for i in steps.indices {
            var step = steps[i]
            let start = Date()
            try step.fit(data)
            let fitted = Date()
            try step.transform(&data)
            report(type(of: step).kind, fitted.timeIntervalSince(start), Date().timeIntervalSince(fitted))
            steps[i] = step
        }
    }

    /// Applies every fitted step in order.
    public func transform(_ data: inout Tensor) throws {
        for step in steps { try step.transform(&data) }
    }

    /// The number of features the pipeline outputs for `inputFeatures` in.
    public func outputFeatures(for inputFeatures: Int) -> Int {
        var d = inputFeatures
        for step in steps { if let pca = step as? PCA { d = pca.components } }
        return d
    }

    /// A one-line description, for logs.
    public var summary: String {
        steps.isEmpty ? "none" : steps.map { type(of: $0).kind }.joined(separator: " -> ")
    }

    /// Adds the pipeline's steps and fitted tensors to `checkpoint`.
    public func save(into checkpoint: inout SafeTensors) throws {
        var description: [[String: Any]] = []
        for (i, step) in steps.enumerated() {
            description.append(["kind": type(of: step).kind, "settings": step.settings])
            for (name, tensor) in step.state { checkpoint.tensors["preprocessing.\(i).\(name)"] = tensor }
        }
        let json = try JSONSerialization.data(withJSONObject: description, options: [.sortedKeys])
        checkpoint.metadata["preprocessing"] = String(decoding: json, as: UTF8.self)
    }

    /// The pipeline saved in `checkpoint` (empty when it holds none).
    public init(checkpoint: SafeTensors, path: String = "<checkpoint>") throws {
        guard let text = checkpoint.metadata["preprocessing"] else { self.init(); return }
        guard let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw StrataError.badKey(path: path, key: "__metadata__.preprocessing", reason: "must be a JSON list of steps")
        }
        var steps: [any Preprocessor] = []
        for (i, entry) in list.enumerated() {
            guard let kind = entry["kind"] as? String, let type = Self.registry[kind] else {
                throw StrataError.badKey(path: path, key: "preprocessing[\(i)].kind",
                                         reason: "unknown step \(String(describing: entry["kind"] ?? "missing")) (known: \(Self.registry.keys.sorted().joined(separator: ", ")))")
            }
            let settings = (entry["settings"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
            let prefix = "preprocessing.\(i)."
            var state: [String: Tensor] = [:]
            for (name, tensor) in checkpoint.tensors where name.hasPrefix(prefix) { state[String(name.dropFirst(prefix.count))] = tensor }
            do {
                steps.append(try type.init(settings: settings, state: state))
            } catch StrataError.badKey(_, let key, let reason) {
                throw StrataError.badKey(path: path, key: "preprocessing[\(i)].\(key)", reason: reason)
            }
        }
        self.init(steps)
    }
}
