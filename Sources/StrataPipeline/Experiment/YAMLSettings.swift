import Yams
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// A YAML mapping read as a ``SettingSource``: scalars as they are, a list of
/// scalars joined by commas (`[0.001, 0.01]` is `0.001,0.01`), and a one-key
/// mapping naming a composite word flattened to its text form
/// (`{masking: 0.3}` is `masking:0.3`, `{smd: {noise: 0.4}}` is `smd:0.4`).
/// Keys outside `allowed` are refused with a suggestion. `merged` keys hold
/// mappings whose own keys join this source (`early_stopping: {channel: ...,
/// patience: 2}` gives `early_stopping` = the channel and `patience`).
public struct YAMLSettings: SettingSource {
    let mapping: YAMLMapping
    let inner: [String: YAMLField]

    public init(_ field: YAMLField, allowed: [String], merged: [String: (primary: String, keys: [String])] = [:]) throws {
        mapping = try field.mapping(allowed: allowed)
        var inner: [String: YAMLField] = [:]
        for (key, rule) in merged {
            guard let value = mapping[key], case .mapping = value.node else { continue }
            let nested = try value.mapping(allowed: [rule.primary] + rule.keys)
            for k in rule.keys { if let f = nested[k] { inner[k] = f } }
            inner[key] = nested[rule.primary]
            if inner[key] == nil { throw value.fail("needs '\(rule.primary)'") }
        }
        self.inner = inner
    }

    func field(_ key: String) -> YAMLField? { inner[key] ?? mapping[key] }

    public func text(_ key: String) throws -> String? {
        guard let field = field(key) else { return nil }
        return try Self.flatten(field)
    }

    static func flatten(_ field: YAMLField) throws -> String {
        switch field.node {
        case .scalar(let s): return s.string
        case .sequence: return try field.list().map { try $0.string() }.joined(separator: ",")
        case .mapping(let m):
            guard m.count == 1, let (keyNode, value) = m.first, let word = keyNode.string else {
                throw field.fail("expected one word with its settings, for example {masking: 0.3}")
            }
            if case .scalar(let s) = value { return s.string.isEmpty || s.string == "~" ? word : "\(word):\(s.string)" }
            let parameters = compositeParameters[settingWord(word)] ?? []
            let settings = try YAMLField(node: value, path: field.path + "." + word, file: field.file).mapping(allowed: parameters)
            var parts = [word]
            for (i, name) in parameters.enumerated() {
                if let v = settings[name] { parts.append(try v.string()) } else if parameters[(i + 1)...].contains(where: settings.has) {
                    throw settings.owner.fail("give \(name) too (the settings are \(parameters.joined(separator: ", ")))")
                }
            }
            return parts.joined(separator: ":")
        default: throw field.fail("expected a value")
        }
    }

    public func failure(_ key: String, _ reason: String) -> Error {
        (field(key) ?? mapping.owner).fail(reason)
    }

    public var givenKeys: [String] { Array(Set(mapping.fields.keys).union(inner.keys)).sorted() }
}
