import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension LinearSVM {
    /// One candidate C's result on the held-out rows.
    public struct Candidate: Sendable {
        public var c: Float
        public var validationAccuracy: Double
        public var seconds: Double
        public var iterations: ClosedRange<Int>
    }

    /// Chooses C from `grid` by validation accuracy: the last `validation` rows
    /// of `x` are held out, features standardized on the rest (`stdEps` added
    /// to each std), one SVM trained per candidate. The first best C wins ties.
    /// `starting` is told each candidate before its solve, `report` sees each as it finishes.
    /// Candidates in `finished` (C to validation accuracy, from an earlier run
    /// on the same data) are not solved again.
    ///
    /// When the best C is the grid's largest (or smallest) value, the best may
    /// lie beyond it: the grid is extended in that direction by its own last
    /// ratio (10 for a one-value grid), at most `extensions` times, while each
    /// new C is strictly better; `note` says so.
    ///
    /// Each candidate's solver starts from the dual variables of the candidate
    /// solved nearest to it (by the ratio of the Cs), as LIBLINEAR's search for
    /// C does; `chosen` receives the chosen C's dual variables on the training rows.
    /// The primal solver's preconditioner depends on the features alone: computed once for all candidates.
    public static func chooseC(_ x: Tensor, labels: [Int], classes: Int, validation: Int, grid: [Float], settings: Settings,
                               stdEps: Float = 0.01, cores: Int = Compute.activeCores, finished: [Float: Double] = [:], extensions: Int = 3,
                               note: (String) -> Void = { _ in }, starting: (Float) -> Void = { _ in },
                               progress: ((_ pass: Int, _ unsolved: Int) -> Void)? = nil, chosen: (([[Float]]) -> Void)? = nil,
                               report: (Candidate) -> Void = { _ in }) throws -> Float {
        guard !grid.isEmpty, grid.allSatisfy({ $0 > 0 }) else {
            throw StrataError.invalidArgument(name: "C grid", reason: "\(grid) must hold positive values")
        }
        guard validation >= 1, validation < x.rows else {
            throw StrataError.invalidArgument(name: "validation", reason: "\(validation) held-out rows must leave training rows (\(x.rows) in all)")
        }
        let split = x.rows - validation
        var fit = x.rows(0 ..< split), valid = x.rows(split ..< x.rows)
        var standardize = PreprocessingPipeline([Standardization(stdEps: stdEps)])
        try standardize.fitTransform(&fit)
        try standardize.transform(&valid)
        var best = (c: grid[0], accuracy: -1.0)
        var candidateSettings = settings
        var duals: [Float: [[Float]]] = [:]
        var spectrum: GramSpectrum?   // the primal solver's preconditioner, the same for every C
        func evaluate(_ c: Float) throws -> Double {
            if let accuracy = finished[c] { return accuracy }
            candidateSettings.c = c
            starting(c)
            let start = Date()
            let nearest = duals.keys.min { abs(log(Double($0) / Double(c))) < abs(log(Double($1) / Double(c))) }
            let svm = try train(fit, labels: Array(labels[..<split]), classes: classes, settings: candidateSettings,
                                warmStart: nearest.flatMap { duals[$0] }, cores: cores, world: MPIWorld.current, spectrum: &spectrum, progress: progress)
            duals[c] = svm.dualVariables
            let accuracy = try ConfusionMatrix(truth: Array(labels[split...]), predictions: svm.predict(valid),
                                               classNames: (0 ..< classes).map(String.init)).accuracy
            report(Candidate(c: c, validationAccuracy: accuracy, seconds: Date().timeIntervalSince(start),
                             iterations: (svm.iterations.min() ?? 0) ... (svm.iterations.max() ?? 0)))
            return accuracy
        }
        for c in grid {
            let accuracy = try evaluate(c)
            if accuracy > best.accuracy { best = (c, accuracy) }
        }
        // Beyond the edge the best reached, one step at a time while it keeps improving.
        var tried = Array(Set(grid)).sorted()
        for _ in 0 ..< extensions {
            let up = best.c == tried.last!, down = best.c == tried.first!
            guard up != down || tried.count == 1 else { break }
            let ratio = tried.count >= 2 ? (up ? Double(tried[tried.count - 1]) / Double(tried[tried.count - 2]) : Double(tried[1]) / Double(tried[0])) : 10
            // Three significant digits: 0.1 after 0.001 and 0.01, not 0.09999999.
            let next = Float(String(format: "%.3g", up ? Double(best.c) * ratio : Double(best.c) / ratio)) ?? .nan
            guard next.isFinite, next > 0 else { break }
            note(String(format: "the best C, %g, is at the %@ edge of the grid: trying C %g", best.c, up ? "upper" : "lower", next))
            let accuracy = try evaluate(next)
            tried = up ? tried + [next] : [next] + tried
            guard accuracy > best.accuracy else { break }
            best = (next, accuracy)
        }
        if let chosen, let dual = duals[best.c] { chosen(dual) }
        return best.c
    }
}
