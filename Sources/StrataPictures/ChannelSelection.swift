import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

/// Picking monitor channels the way pylearn2's `plot_monitor.py` lets users:
/// channels sorted by name get letter codes A..Z, BA, BB, ...; a selection is
/// a comma list of codes, code ranges (`F-H`), exact names, or glob patterns
/// (`*misclass`, `train_*`).
public enum ChannelSelection {
    /// pylearn2's code of the channel at `index` in sorted order: A..Z, BA, BB, ...
    public static func code(_ index: Int) -> String {
        var n = index, name = ""
        repeat {
            name = String(UnicodeScalar(UInt8(65 + n % 26))) + name
            n /= 26
        } while n > 0
        return name
    }

    /// The index a code stands for, or nil when `text` is not a code.
    static func index(ofCode text: String) -> Int? {
        guard !text.isEmpty, text.allSatisfy({ $0 >= "A" && $0 <= "Z" }) else { return nil }
        return text.unicodeScalars.reduce(0) { $0 * 26 + Int($1.value - 65) }
    }

    /// The channels `selection` picks from `channels` (sorted), in the order
    /// asked, without repeats. Names win over codes (a channel named `A` is
    /// that channel). Anything matching nothing is an error naming it.
    public static func select(_ selection: String, from channels: [String]) throws -> [String] {
        let sorted = channels.sorted()
        var picked: [String] = []
        func add(_ name: String) { if !picked.contains(name) { picked.append(name) } }
        for rawItem in selection.split(separator: ",") {
            let item = rawItem.trimmingCharacters(in: .whitespaces)
            if item.isEmpty { continue }
            if sorted.contains(item) { add(item); continue }
            if item.contains("*") || item.contains("?") {
                let matches = sorted.filter { glob(item, matches: $0) }
                guard !matches.isEmpty else { throw unknown(item, sorted) }
                matches.forEach(add)
                continue
            }
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            if bounds.count == 2, let a = index(ofCode: bounds[0]), let b = index(ofCode: bounds[1]), a <= b, b < sorted.count {
                (a ... b).forEach { add(sorted[$0]) }
                continue
            }
            if let i = index(ofCode: item), i < sorted.count { add(sorted[i]); continue }
            throw unknown(item, sorted)
        }
        guard !picked.isEmpty else { throw StrataError.invalidArgument(name: "channels", reason: "the selection '\(selection)' is empty") }
        return picked
    }

    private static func unknown(_ item: String, _ channels: [String]) -> StrataError {
        let close = channels.filter { $0.contains(item.lowercased()) || item.lowercased().contains($0) }.prefix(3)
        let hint = close.isEmpty ? "list them with --list" : "did you mean \(close.joined(separator: " or "))?"
        return .invalidArgument(name: "channel '\(item)'", reason: "no channel, code or pattern matches it (\(channels.count) channels; \(hint))")
    }

    /// Shell-style `*` and `?` matching of a whole name.
    static func glob(_ pattern: String, matches name: String) -> Bool {
        let p = Array(pattern), s = Array(name)
        var (i, j, star, mark) = (0, 0, -1, 0)
        while j < s.count {
            if i < p.count && (p[i] == "?" || p[i] == s[j]) { i += 1; j += 1 }
            else if i < p.count && p[i] == "*" { star = i; mark = j; i += 1 }
            else if star >= 0 { i = star + 1; mark += 1; j = mark }
            else { return false }
        }
        while i < p.count && p[i] == "*" { i += 1 }
        return i == p.count
    }
}
