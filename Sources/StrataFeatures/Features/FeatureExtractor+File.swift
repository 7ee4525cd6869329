import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension FeatureExtractor {
    /// Writes this extractor into `file` under `prefix`: the stack's tensors
    /// and metadata as `PREFIX.NAME`, the depth, convolution and encoding as
    /// `PREFIX_depth`, `PREFIX_convolution`, `PREFIX_encoding`, `PREFIX_lower_pool`, and a lower
    /// stage (``lowerStage``) the same way under `PREFIX_lower`, so a
    /// classifier file holds every stage its features need.
    func save(into file: inout SafeTensors, prefix: String) throws {
        let stackFile = try stack.safeTensors()
        for (name, tensor) in stackFile.tensors { file.tensors[prefix + "." + name] = tensor }
        for (key, value) in stackFile.metadata { file.metadata[prefix + "." + key] = value }
        if let depth { file.metadata[prefix + "_depth"] = String(depth) }
        if let convolution { file.metadata[prefix + "_convolution"] = encodeJSON(convolution) }
        if encoding != .hiddenMeans { file.metadata[prefix + "_encoding"] = encodeJSON(encoding) }
        if let lowerPooling { file.metadata[prefix + "_lower_pool"] = encodeJSON(lowerPooling) }
        try lowerStage?.save(into: &file, prefix: prefix + "_lower")
    }

    /// The extractor ``save(into:prefix:)`` wrote under `prefix` in `file` (read from `path`), nil when there is none.
    static func load(from file: SafeTensors, prefix: String, path: String, stagesAbove: Int = 0) throws -> FeatureExtractor? {
        let dotted = prefix + "."
        guard file.metadata[dotted + "format"] != nil else { return nil }
        guard stagesAbove < LowerStage.maximumStages else {
            throw StrataError.badKey(path: path, key: prefix, reason: "more than \(LowerStage.maximumStages) stages of feature maps")
        }
        var stackFile = SafeTensors()
        for (name, tensor) in file.tensors where name.hasPrefix(dotted) { stackFile.tensors[String(name.dropFirst(dotted.count))] = tensor }
        for (key, value) in file.metadata where key.hasPrefix(dotted) { stackFile.metadata[String(key.dropFirst(dotted.count))] = value }
        let stack = try LayerStack.read(safeTensors: stackFile, path: path)
        let convolution = try file.metadata[prefix + "_convolution"].map { try decodeJSON(Convolution.self, $0, what: prefix + "_convolution") }
        let encoding = try file.metadata[prefix + "_encoding"].map { try decodeJSON(Encoding.self, $0, what: prefix + "_encoding") } ?? .hiddenMeans
        let extractor = try FeatureExtractor(stack: stack, depth: file.metadata[prefix + "_depth"].flatMap { Int($0) }, convolution: convolution, encoding: encoding)
        let lowerPool = try file.metadata[prefix + "_lower_pool"].map { try decodeJSON(Pooling.self, $0, what: prefix + "_lower_pool") }
        guard let lower = try load(from: file, prefix: prefix + "_lower", path: path, stagesAbove: stagesAbove + 1) else {
            if lowerPool != nil { throw StrataError.badKey(path: path, key: prefix + "_lower_pool", reason: "is set, but there is no lower stage (\(prefix)_lower)") }
            return extractor
        }
        return try extractor.onMaps(of: lower, alsoPooled: lowerPool)
    }
}
