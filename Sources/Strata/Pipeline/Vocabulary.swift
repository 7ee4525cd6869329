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
func splitComposite(_ text: String) -> (word: String, parameters: [String]) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    return (settingWord(parts.first ?? ""), Array(parts.dropFirst()))
}

func finiteNumber(_ text: String, _ what: String = "") throws -> Float {
    guard let value = Float(text), value.isFinite else { throw SettingError("\(what.isEmpty ? "" : what + ": ")expected a number, found '\(text)'") }
    return value
}

func wholeNumber(_ text: String, _ what: String = "") throws -> Int {
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
    init(parsing text: String, name: String, path: String) throws {
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

extension Autoencoder.Corruption {
    /// `none`, `masking:P`, `gaussian:STD` or `salt_pepper:P`.
    public init(parsing text: String) throws {
        let (word, p) = splitComposite(text)
        let usage = "expected none, masking:P, gaussian:STD or salt_pepper:P (got '\(text)')"
        if word == "none", p.isEmpty { self = .none; return }
        guard p.count == 1, ["masking", "gaussian", "salt_pepper"].contains(word) else { throw SettingError(usage) }
        let level = try finiteNumber(p[0], "the corruption level")
        switch word {
        case "masking": self = .masking(probability: level)
        case "gaussian": self = .gaussian(standardDeviation: level)
        default: self = .saltAndPepper(probability: level)
        }
    }

    /// The text form ``init(parsing:)`` reads.
    public var text: String {
        switch self {
        case .none: "none"
        case .masking(let p): "masking:\(p)"
        case .gaussian(let s): "gaussian:\(s)"
        case .saltAndPepper(let p): "salt_pepper:\(p)"
        }
    }
}

extension Autoencoder.Loss {
    /// `cross_entropy` (alias `ce`) or `squared_error` (alias `mse`).
    public init(parsing text: String) throws {
        switch settingWord(text) {
        case "cross_entropy", "ce": self = .crossEntropy
        case "squared_error", "mse": self = .squaredError
        default: throw SettingError("expected cross_entropy or squared_error (got '\(text)')")
        }
    }

    public var text: String { self == .crossEntropy ? "cross_entropy" : "squared_error" }
}

extension LearningRateSchedule {
    /// `constant`, `linear:FINAL_FRACTION:SATURATE_EPOCH`, `exponential:FACTOR[:MINIMUM]` or
    /// `monitor` (pylearn2's `MonitorBasedLRAdjuster` defaults). Bare `linear` is
    /// `linear:0.1:10`, bare `exponential` is `exponential:0.95`.
    public init(parsing text: String) throws {
        let (word, p) = splitComposite(text)
        switch (word, p.count) {
        case ("constant", 0): self = .constant
        case ("monitor", 0): self = .monitorBasedDefaults
        case ("linear", 0): self = .linearDecay(finalFraction: 0.1, saturateEpoch: 10)
        case ("linear", 2):
            let fraction = try finiteNumber(p[0], "linear's final fraction"), epoch = try wholeNumber(p[1], "linear's saturate epoch")
            guard fraction >= 0, epoch >= 1 else { throw SettingError("linear:FINAL_FRACTION:EPOCH needs a fraction >= 0 and an epoch >= 1 (got '\(text)')") }
            self = .linearDecay(finalFraction: fraction, saturateEpoch: epoch)
        case ("exponential", 0): self = .exponentialDecay(factor: 0.95, minimum: 0)
        case ("exponential", 1), ("exponential", 2):
            let factor = try finiteNumber(p[0], "exponential's factor"), minimum = p.count > 1 ? try finiteNumber(p[1], "exponential's minimum") : 0
            guard factor > 0, factor <= 1, minimum >= 0 else { throw SettingError("exponential:FACTOR[:MIN] needs 0 < FACTOR <= 1 and MIN >= 0 (got '\(text)')") }
            self = .exponentialDecay(factor: factor, minimum: minimum)
        default:
            throw SettingError("expected constant, linear:FINAL_FRACTION:EPOCH, exponential:FACTOR[:MIN] or monitor (got '\(text)')")
        }
    }
}

extension RBM.Objective {
    /// `smd[:NOISE]` (default noise 0.4), `cd[:STEPS]` or `pcd[:STEPS]` (default 1 step).
    public init(parsing text: String) throws {
        let (word, p) = splitComposite(text)
        guard p.count <= 1 else { throw SettingError("expected smd[:NOISE], cd[:STEPS] or pcd[:STEPS] (got '\(text)')") }
        switch word {
        case "smd":
            let noise = try p.first.map { try finiteNumber($0, "smd's noise") } ?? 0.4
            self = .scoreMatching(noise: noise)
        case "cd": self = .contrastiveDivergence(steps: try p.first.map { try wholeNumber($0, "cd's Gibbs steps") } ?? 1)
        case "pcd": self = .persistentCD(steps: try p.first.map { try wholeNumber($0, "pcd's Gibbs steps") } ?? 1)
        default: throw SettingError("expected smd[:NOISE], cd[:STEPS] or pcd[:STEPS] (got '\(text)')")
        }
    }

    public var text: String {
        switch self {
        case .scoreMatching(let noise): "smd:\(noise)"
        case .contrastiveDivergence(let k): "cd:\(k)"
        case .persistentCD(let k): "pcd:\(k)"
        }
    }
}

extension Activation {
    /// `sigmoid`, `tanh`, `relu`, `leaky_relu`, `linear` or `maxout`, limited to `choices`.
    public init(parsing text: String, among choices: [Activation] = Activation.allCases) throws {
        self = Activation(rawValue: try parseChoice(text, choices.map(\.rawValue)))!
    }

    /// An autoencoder's encoder or decoder: the element-wise activations only.
    public init(parsingElementwise text: String) throws {
        try self.init(parsing: text, among: Activation.elementwise)
    }
}

extension LinearSVM.Loss {
    /// `squared_hinge` (L2-SVM) or `hinge` (L1-SVM).
    public init(parsing text: String) throws {
        self = LinearSVM.Loss(rawValue: try parseChoice(text, LinearSVM.Loss.allCases.map(\.rawValue)))!
    }
}

extension LinearSVM.Solver {
    /// `auto`, `primal` (Newton) or `dual` (coordinate descent).
    public init(parsing text: String) throws {
        self = LinearSVM.Solver(rawValue: try parseChoice(text, LinearSVM.Solver.allCases.map(\.rawValue)))!
    }
}

extension Pooling.Operation {
    /// `sum`, `mean`, `max` or `l2`.
    public init(parsing text: String) throws {
        self = Pooling.Operation(rawValue: try parseChoice(text, Pooling.Operation.allCases.map(\.rawValue)))!
    }
}
