import Yams
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// A YAML node with where it came from, for typed reading with errors that
/// name the file, line, column and key path and say what was expected.
public struct YAMLField {
    let node: Node
    /// The key path, for example `layers[1].training.learning_rate`.
    public let path: String
    let file: String

    init(node: Node, path: String, file: String) { (self.node, self.path, self.file) = (node, path, file) }

    /// Parses `text` (read from `file`), refusing repeated keys.
    public static func parse(_ text: String, file: String) throws -> YAMLField {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw StrataError.badKey(path: file, key: "(document)", reason: "the file is empty")
            }
            return YAMLField(node: node, path: "", file: file)
        } catch let error as YamlError {
            switch error {
            case .duplicatedKeysInMapping(let duplicates, let context):
                throw StrataError.badKey(path: "\(file):\(context.mark.line):\(context.mark.column)", key: duplicates.joined(separator: ", "),
                                         reason: "appears more than once in the same mapping; each key may be given only once")
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
                throw StrataError.badKey(path: "\(file):\(mark.line):\(mark.column)", key: "(syntax)", reason: "not valid YAML: \(problem)")
            default:
                throw StrataError.badKey(path: file, key: "(syntax)", reason: "not valid YAML: \(error)")
            }
        }
    }

    var location: String {
        guard let mark = node.mark else { return file }
        return "\(file):\(mark.line):\(mark.column)"
    }

    func fail(_ reason: String) -> StrataError {
        .badKey(path: location, key: path.isEmpty ? "(document)" : path, reason: reason)
    }

    private var kindName: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let s): "'\(s.string)'"
        case .alias: "an alias"
        }
    }

    // MARK: Values

    public func string() throws -> String {
        guard case .scalar(let s) = node else { throw fail("expected a text value, found \(kindName)") }
        return s.string
    }

    public func int() throws -> Int {
        guard let value = Int(try string()) else { throw fail("expected a whole number, found '\(try string())'") }
        return value
    }

    public func float() throws -> Float {
        let text = try string()
        guard let value = Float(text), value.isFinite else { throw fail("expected a number, found '\(text)'") }
        return value
    }

    public func bool() throws -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw fail("expected true or false, found '\(other)'")
        }
    }

    /// One of `choices`.
    public func choice(_ choices: [String]) throws -> String {
        let value = try string()
        guard choices.contains(value) else {
            throw fail("'\(value)' is not one of \(choices.joined(separator: ", "))\(suggestion(for: value, among: choices).map { "; did you mean '\($0)'?" } ?? "")")
        }
        return value
    }

    public func list() throws -> [YAMLField] {
        guard case .sequence(let s) = node else { throw fail("expected a list (lines starting with '- '), found \(kindName)") }
        return s.enumerated().map { YAMLField(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// The mapping's fields, refusing keys outside `allowed`.
    public func mapping(allowed: [String]) throws -> YAMLMapping {
        guard case .mapping(let m) = node else { throw fail("expected a mapping of keys to values, found \(kindName)") }
        var fields: [String: YAMLField] = [:]
        for (keyNode, value) in m {
            let key = keyNode.string ?? ""
            let childPath = path.isEmpty ? key : path + "." + key
            guard allowed.contains(key) else {
                let keyField = YAMLField(node: keyNode, path: childPath, file: file)
                let hint = suggestion(for: key, among: allowed).map { "did you mean '\($0)'? " } ?? ""
                throw keyField.fail("unknown key; \(hint)expected one of: \(allowed.joined(separator: ", "))")
            }
            fields[key] = YAMLField(node: value, path: childPath, file: file)
        }
        return YAMLMapping(fields: fields, owner: self)
    }
}

/// The fields of one YAML mapping, read by key.
public struct YAMLMapping {
    let fields: [String: YAMLField]
    let owner: YAMLField

    public subscript(_ key: String) -> YAMLField? { fields[key] }

    public func has(_ key: String) -> Bool { fields[key] != nil }

    /// The field `key`, which must be present.
    public func required(_ key: String) throws -> YAMLField {
        guard let field = fields[key] else { throw owner.fail("missing required key '\(key)'") }
        return field
    }
}
