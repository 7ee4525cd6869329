import Foundation
import StrataCore

/// One experiment key a sweep varies and the values it takes, as `--set`
/// gives it: `KEY=V1,V2,...` (a list: every value in a grid, one drawn at
/// random in a random search), or, for a random search only, a range
/// `KEY=LOW..HIGH` (uniform) or `KEY=log:LOW..HIGH` (log-uniform, Bergstra
/// and Bengio 2012's advice for rates and decays); whole-number ends draw
/// whole numbers. Commas inside brackets belong to the value
/// (`finetune.c_grid=[0.01,0.1],[1,10]` is two values).
public struct SweptSetting: Sendable, Hashable, Codable {
    public enum Values: Sendable, Hashable, Codable {
        case list([String])
        case range(low: Double, high: Double, logarithmic: Bool, whole: Bool)
    }

    public var key: String
    public var values: Values

    public init(key: String, values: Values) { (self.key, self.values) = (key, values) }

    /// Reads `KEY=...` (the text of one `--set`).
    public static func parse(_ text: String) throws -> SweptSetting {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw StrataError.invalidArgument(name: "--set", reason: "'\(text)' is not KEY=VALUES (for example finetune.learning_rate=0.01,0.1 or layers[0].hidden=500,1000)")
        }
        let key = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
        var body = String(text[text.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        _ = try ExperimentOverride.steps(of: key)
        let logarithmic = body.hasPrefix("log:")
        if logarithmic { body.removeFirst(4) }
        let ends = body.components(separatedBy: "..")
        if ends.count == 2, let low = Double(ends[0]), let high = Double(ends[1]) {
            guard low.isFinite, high.isFinite, low < high else {
                throw StrataError.invalidArgument(name: "--set \(key)", reason: "a range LOW..HIGH needs finite LOW < HIGH, not \(body)")
            }
            if logarithmic, low <= 0 { throw StrataError.invalidArgument(name: "--set \(key)", reason: "a log:LOW..HIGH range needs LOW > 0, not \(low)") }
            let whole = Int(ends[0]) != nil && Int(ends[1]) != nil
            return SweptSetting(key: key, values: .range(low: low, high: high, logarithmic: logarithmic, whole: whole))
        }
        if logarithmic { throw StrataError.invalidArgument(name: "--set \(key)", reason: "log: takes a range LOW..HIGH, not '\(body)'") }
        let values = splitTopLevel(body)
        guard !values.isEmpty, !values.contains(where: \.isEmpty) else {
            throw StrataError.invalidArgument(name: "--set \(key)", reason: "give one or more values separated by commas, not '\(body)'")
        }
        return SweptSetting(key: key, values: .list(values))
    }

    /// `text` split at the commas outside brackets and braces.
    static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = [], current = "", depth = 0
        for c in text {
            if c == "[" || c == "{" { depth += 1 }
            if c == "]" || c == "}" { depth -= 1 }
            if c == ",", depth == 0 { parts.append(current.trimmingCharacters(in: .whitespaces)); current = "" } else { current.append(c) }
        }
        parts.append(current.trimmingCharacters(in: .whitespaces))
        return parts
    }

    /// The list's values; a range has none (it is only drawn from).
    public var listed: [String]? {
        if case .list(let v) = values { return v }
        return nil
    }

    /// One value drawn with `random`.
    func draw(_ random: inout RandomSource) -> String {
        switch values {
        case .list(let v):
            return v[Int(random.next() % UInt64(v.count))]
        case .range(let low, let high, let logarithmic, let whole):
            let u = Double(random.next() >> 11) / Double(1 << 53)
            if whole {
                let (a, b) = (Int(low), Int(high))
                return logarithmic ? String(min(b, Int((exp(log(Double(a)) + u * (log(Double(b) + 1) - log(Double(a))))).rounded(.down))))
                                   : String(a + Int(random.next() % UInt64(b - a + 1)))
            }
            let x = logarithmic ? exp(log(low) + u * (log(high) - log(low))) : low + u * (high - low)
            return String(format: "%.4g", x)
        }
    }

    public var description: String {
        switch values {
        case .list(let v): return "\(key)=\(v.joined(separator: ","))"
        case .range(let low, let high, let logarithmic, _): return "\(key)=\(logarithmic ? "log:" : "")\(low.formatted())..\(high.formatted())"
        }
    }
}

private extension Double {
    func formatted() -> String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}
