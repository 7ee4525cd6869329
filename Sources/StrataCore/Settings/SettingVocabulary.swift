import Foundation

/// The words of Strata's settings, parsed in one place for every front-end.
///
/// Each composite setting has one text form, `NAME[:PARAMETER...]`, read by
/// one parser here: a flag (`--corruption masking:0.3`) and a YAML value
/// (`corruption: masking:0.3`, or the mapping `{masking: 0.3}`, which the
/// YAML reader flattens to the same text) give the same value. Words compare
/// with `-` and `_` as the same letter (`cross-entropy` = `cross_entropy`).

/// A setting's text could not be read; `reason` says what was expected.
public struct SettingError: Error, Equatable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Lowercased, with `-` written as `_`: the form words are compared in.
public func settingWord(_ text: String) -> String {
    text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "-", with: "_")
}

/// The parameters each composite word takes, in the order its text form lists them
/// (the YAML reader flattens `{linear: {final_fraction: 0.1, saturate: 20}}` by this order).
public let compositeParameters: [String: [String]] = [
    "smd": ["noise"], "cd": ["steps"], "pcd": ["steps"],
    "linear": ["final_fraction", "saturate"], "exponential": ["factor", "minimum"],
    "masking": ["probability"], "gaussian": ["std"], "salt_pepper": ["probability"],
    "soft_threshold": ["alpha"],
]

/// The word and its numeric parameters of `NAME[:P...]`.
package func splitComposite(_ text: String) -> (word: String, parameters: [String]) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    return (settingWord(parts.first ?? ""), Array(parts.dropFirst()))
}

package func finiteNumber(_ text: String, _ what: String = "") throws -> Float {
    guard let value = Float(text), value.isFinite else { throw SettingError("\(what.isEmpty ? "" : what + ": ")expected a number, found '\(text)'") }
    return value
}

package func wholeNumber(_ text: String, _ what: String = "") throws -> Int {
    guard let value = Int(text) else { throw SettingError("\(what.isEmpty ? "" : what + ": ")expected a whole number, found '\(text)'") }
    return value
}

/// One of `choices` (compared as ``settingWord(_:)``), as written in `choices`.
public func parseChoice(_ text: String, _ choices: [String]) throws -> String {
    let word = settingWord(text)
    guard let match = choices.first(where: { settingWord($0) == word }) else {
        let hint = suggestion(for: word, among: choices).map { "; did you mean '\($0)'?" } ?? ""
        throw SettingError("'\(text)' is not one of \(choices.joined(separator: ", "))\(hint)")
    }
    return match
}

/// `N` or `HxW` with positive sizes: a window, a stride or a pooling grid.
public struct PairSetting: Equatable, Sendable {
    public var first: Int
    public var second: Int
    public var value: (Int, Int) { (first, second) }

    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        switch parts.count {
        case 1 where (parts[0] ?? 0) > 0: (first, second) = (parts[0]!, parts[0]!)
        case 2 where (parts[0] ?? 0) > 0 && (parts[1] ?? 0) > 0: (first, second) = (parts[0]!, parts[1]!)
        default: throw SettingError("expected N or HxW with positive sizes (for example 8 or 8x6), not '\(text)'")
        }
    }

    /// As ``init(parsing:)``, naming `name` in `path` on failure.
    package init(parsing text: String, name: String, path: String) throws {
        do { try self.init(parsing: text) } catch let error as SettingError { throw StrataError.badKey(path: path, key: name, reason: error.reason) }
    }
}

/// Positive whole numbers separated by commas: `1000,1000`.
public func parseSizes(_ text: String) throws -> [Int] {
    let sizes = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else { throw SettingError("expected positive sizes separated by commas, for example 1000,1000 (got '\(text)')") }
    return sizes.map { $0! }
}

/// Positive numbers separated by commas: `0.001,0.01,0.1`.
public func parsePositiveNumbers(_ text: String) throws -> [Float] {
    let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 && $0!.isFinite }) else { throw SettingError("expected positive numbers separated by commas (got '\(text)')") }
    return values.map { $0! }
}


/// The allowed word closest to `word` by edit distance, when close enough to be a typo.
package func suggestion(for word: String, among words: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0 ... b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
    let scored = words.map { ($0, distance(Array(word.lowercased()), Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let (best, d) = scored, d <= max(2, word.count / 3) else { return nil }
    return best
}
