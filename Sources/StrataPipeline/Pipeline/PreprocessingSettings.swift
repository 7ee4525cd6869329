import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension PreprocessingPipeline {
    /// The steps a pipeline can hold, by their settings names.
    public static let stepNames = ["remove_mean", "gcn", "zca", "standardize", "pca"]

    /// The settings of each step: YAML keys inside the step's mapping
    /// (`{gcn: {sqrt_bias: 10}}`); as flags, the same names (`--sqrt-bias`),
    /// prefixed by the step where a name alone would be ambiguous (``flagKey(step:key:)``).
    public static let stepKeys: [String: [String]] = [
        "gcn": ["sqrt_bias", "use_std", "scale", "min_divisor"], "zca": ["filter_bias"], "standardize": ["std_eps"],
        "remove_mean": [], "pca": ["components", "whiten"],
    ]

    /// A step's setting as one flat key: `gcn_scale`, `pca_components`, `pca_whiten`; the others unchanged.
    public static func flagKey(step: String, key: String) -> String {
        ["scale", "components", "whiten"].contains(key) ? "\(step)_\(key)" : key
    }

    /// GCN as a step gets it when its settings are not given: pylearn2's quick
    /// start (`sqrt_bias: 10`, `use_std: true`), not the type's bare initializer.
    public static let defaultGCN = GlobalContrastNormalization(scale: 1, useStd: true, sqrtBias: 10)

    /// One unfitted step, `name`, with its settings from `s` (Strata's defaults
    /// for what is not given: GCN as in pylearn2's quick start, sqrt_bias 10
    /// and use_std; ZCA filter_bias 0.1).
    public static func step(_ name: String, settings s: SettingSource, key: (String) -> String = { $0 }) throws -> any Preprocessor {
        switch name {
        case "gcn":
            var g = defaultGCN
            if let v = try s.float(key("sqrt_bias")) { g.sqrtBias = v }
            if let v = try s.bool(key("use_std")) { g.useStd = v }
            if let v = try s.float(key("scale")) { g.scale = v }
            if let v = try s.positive(key("min_divisor"), s.float) { g.minDivisor = v }
            return g
        case "zca":
            let bias = try s.float(key("filter_bias")) ?? ZCA().filterBias
            guard bias >= 0 else { throw s.failure(key("filter_bias"), "must not be negative, found \(bias)") }
            return ZCA(filterBias: bias)
        case "standardize": return Standardization(stdEps: try s.positive(key("std_eps"), s.float) ?? Standardization().stdEps)
        case "remove_mean": return RemoveExampleMean()
        default:
            guard let components = try s.positive(key("components"), s.int) else { throw s.failure(key("components"), "pca needs the number of components kept") }
            return PCA(components: components, whiten: try s.bool(key("whiten")) ?? PCA(components: 1).whiten)
        }
    }

    /// The pipeline of comma-separated `steps` (`gcn,zca`) with their settings
    /// from the flat keys of `s` (a command's flags); a step's setting given
    /// without the step is refused.
    public static func read(steps text: String, settings s: SettingSource) throws -> PreprocessingPipeline {
        var steps: [any Preprocessor] = []
        var names: [String] = []
        for word in text.split(separator: ",") where !word.trimmingCharacters(in: .whitespaces).isEmpty {
            let name: String
            do { name = try parseChoice(String(word), stepNames) } catch let error as SettingError { throw s.failure("preprocess", error.reason) }
            names.append(name)
            steps.append(try step(name, settings: s) { flagKey(step: name, key: $0) })
        }
        for (step, keys) in stepKeys where !names.contains(step) {
            try s.refuse(keys.map { flagKey(step: step, key: $0) }, "is a setting of the \(step) step, which --preprocess does not list")
        }
        return PreprocessingPipeline(steps)
    }
}
