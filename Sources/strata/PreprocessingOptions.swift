import ArgumentParser
import Strata

/// The preprocessing flags shared by `patches` and `preprocess`.
struct PreprocessingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Steps in order, comma-separated: remove-mean, gcn, zca, standardize, pca.",
        discussion: "The quick start uses gcn,zca with --sqrt-bias 10 --use-std."))
    var preprocess = ""

    @Option(help: "GCN: added inside the square root (pylearn2's sqrt_bias).")
    var sqrtBias: Float = 10
    @Flag(inversion: .prefixedNo, help: "GCN: divide by the standard deviation (else the norm).")
    var useStd = true
    @Option(help: "GCN: multiply the result by this.")
    var gcnScale: Float = 1
    @Option(help: "ZCA: regularizer added to the covariance's diagonal (pylearn2's filter_bias).")
    var filterBias: Float = 0.1
    @Option(help: "PCA: number of components kept.")
    var pcaComponents = 0
    @Flag(help: "PCA: divide each component by its standard deviation.")
    var pcaWhiten = false

    func makePipeline() throws -> PreprocessingPipeline {
        var steps: [any Preprocessor] = []
        for name in preprocess.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !name.isEmpty {
            switch name {
            case "gcn": steps.append(GlobalContrastNormalization(scale: gcnScale, useStd: useStd, sqrtBias: sqrtBias))
            case "zca": steps.append(ZCA(filterBias: filterBias))
            case "standardize": steps.append(Standardization())
            case "remove-mean", "remove_mean": steps.append(RemoveExampleMean())
            case "pca":
                guard pcaComponents > 0 else { throw ValidationError("pca needs --pca-components K (K >= 1)") }
                steps.append(PCA(components: pcaComponents, whiten: pcaWhiten))
            default:
                throw ValidationError("unknown preprocessing step '\(name)'; known: remove-mean, gcn, zca, standardize, pca")
            }
        }
        return PreprocessingPipeline(steps)
    }

    /// True when some step must be fitted on data before it can be applied.
    var needsFitting: Bool {
        preprocess.contains("zca") || preprocess.contains("standardize") || preprocess.contains("pca")
    }
}

/// Parses "8" or "8x6" into (height, width).
func parsePair(_ text: String, name: String) throws -> (Int, Int) {
    let parts = text.lowercased().split(separator: "x").map { Int($0) }
    switch parts.count {
    case 1 where parts[0] != nil: return (parts[0]!, parts[0]!)
    case 2 where parts[0] != nil && parts[1] != nil: return (parts[0]!, parts[1]!)
    default: throw ValidationError("--\(name) takes N or HxW (for example 8 or 8x6), not '\(text)'")
    }
}
