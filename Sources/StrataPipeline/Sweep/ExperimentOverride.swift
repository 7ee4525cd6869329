import Foundation
import Yams
import StrataCore

/// One experiment key set to one value, as `strata sweep --set` gives it:
/// `finetune.softmax.learning_rate=0.03`, `layers[0].hidden=500`,
/// `labels_per_class=default` (the key removed: the library's default). The
/// value is read as YAML, so a list (`[0.01, 0.1]`) or a mapping (`{masking: 0.3}`) can be given.
///
/// The key is a path through the experiment file's mappings (`.`) and lists
/// (`[i]`); a mapping on the way that the file leaves out is added, so any key
/// the experiment reader accepts can be swept. `finetune.KEY` stands for
/// `finetune.softmax.KEY` (or `svm`) when the file has one fine-tuning stage.
/// Whether the key exists and the value has its type is decided by the one
/// experiment reader (``Experiment/parse(_:file:)``), which names the key and
/// suggests the one meant; the override only places the value.
public struct ExperimentOverride: Sendable, Hashable, Codable {
    public var key: String
    /// The value as text (a number, a word, a composite word such as
    /// `masking:0.3`), or ``defaultValue`` to remove the key.
    public var value: String

    /// The value that removes the key, so the reader's default applies.
    public static let defaultValue = "default"

    public init(key: String, value: String) { (self.key, self.value) = (key, value) }

    /// One step of a key path: a mapping's key or a list's index.
    enum Step: Equatable { case key(String), index(Int) }

    /// The steps of `key`, refusing an empty step or a malformed index.
    static func steps(of key: String) throws -> [Step] {
        var steps: [Step] = []
        for part in key.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            let name = rest.prefix { $0 != "[" }
            guard !name.isEmpty else { throw bad(key, "each part of the key path needs a name (for example layers[0].hidden)") }
            steps.append(.key(String(name)))
            rest = rest.dropFirst(name.count)
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]"), let index = Int(rest[rest.index(after: rest.startIndex) ..< close]), index >= 0 else {
                    throw bad(key, "a list index is written [0], [1], ...")
                }
                steps.append(.index(index))
                rest = rest[rest.index(after: close)...]
            }
        }
        return steps
    }

    static func bad(_ key: String, _ reason: String) -> StrataError { .invalidArgument(name: "--set \(key)", reason: reason) }

    /// `root` (an experiment file's document) with this override applied.
    public func applied(to root: Node) throws -> Node {
        var steps = try Self.steps(of: key)
        if steps.count > 1, steps[0] == .key("finetune"), case .key(let second) = steps[1],
           !["softmax", "svm", "depth_study"].contains(second), let stage = root.mapping?["finetune"]?.mapping, stage.count == 1,
           let kind = stage.first?.key.string {
            steps.insert(.key(kind), at: 1) // finetune.learning_rate: the file's one stage
        }
        return try set(steps[...], in: root, path: "")
    }

    private func set(_ steps: ArraySlice<Step>, in node: Node?, path: String) throws -> Node {
        guard let step = steps.first else {
            // The value is YAML: 0.03, masking:0.3, [0.01, 0.1] or {masking: 0.3}.
            return ((try? Yams.compose(yaml: value)) ?? nil) ?? Node(value)
        }
        let rest = steps.dropFirst()
        switch step {
        case .key(let name):
            var mapping: Node.Mapping
            switch node {
            case nil: mapping = Node.Mapping([])
            case .mapping(let m)?: mapping = m
            default: throw Self.bad(key, "'\(path)' is not a mapping, so it has no key '\(name)'")
            }
            let childPath = path.isEmpty ? name : path + "." + name
            if rest.isEmpty && value == Self.defaultValue {
                mapping[name] = nil
            } else {
                mapping[name] = try set(rest, in: mapping[name], path: childPath)
            }
            return .mapping(mapping)
        case .index(let index):
            guard case .sequence(var list)? = node else {
                throw Self.bad(key, "'\(path)' is not a list in the experiment file, so it has no [\(index)]")
            }
            guard index < list.count else {
                throw Self.bad(key, "'\(path)' has \(list.count) entr\(list.count == 1 ? "y" : "ies"), so [\(index)] does not exist")
            }
            let position = list.index(list.startIndex, offsetBy: index)
            list[position] = try set(rest, in: list[position], path: "\(path)[\(index)]")
            return .sequence(list)
        }
    }

    /// The experiment file's text with `overrides` applied in order, as YAML.
    public static func apply(_ overrides: [ExperimentOverride], to text: String, file: String) throws -> String {
        _ = try YAMLField.parse(text, file: file) // the file's own errors first, with its lines
        guard var root = try Yams.compose(yaml: text) else { throw StrataError.badKey(path: file, key: "(document)", reason: "the file is empty") }
        for o in overrides { root = try o.applied(to: root) }
        return try Yams.serialize(node: root, sortKeys: false)
    }

    public var description: String { "\(key)=\(value)" }
}
