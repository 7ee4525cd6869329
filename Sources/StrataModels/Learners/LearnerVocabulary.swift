import Foundation
import StrataCore
import StrataData

// The words of the learners' settings: each name parsed by the shared settings vocabulary (StrataCore's SettingVocabulary.swift), for flags and YAML alike.

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

extension Pooling.Operation {
    /// `sum`, `mean`, `max` or `l2`.
    public init(parsing text: String) throws {
        self = Pooling.Operation(rawValue: try parseChoice(text, Pooling.Operation.allCases.map(\.rawValue)))!
    }
}
