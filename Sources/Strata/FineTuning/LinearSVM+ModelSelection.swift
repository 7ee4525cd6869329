import Foundation

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
    public static func chooseC(_ x: Tensor, labels: [Int], classes: Int, validation: Int, grid: [Float], settings: Settings,
                               stdEps: Float = 0.01, cores: Int = Compute.activeCores, finished: [Float: Double] = [:], starting: (Float) -> Void = { _ in },
                               progress: ((_ pass: Int, _ unsolved: Int) -> Void)? = nil, report: (Candidate) -> Void = { _ in }) throws -> Float {
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
        for c in grid {
            if let accuracy = finished[c] {
                if accuracy > best.accuracy { best = (c, accuracy) }
                continue
            }
            candidateSettings.c = c
            starting(c)
            let start = Date()
            let svm = try train(fit, labels: Array(labels[..<split]), classes: classes, settings: candidateSettings, cores: cores, progress: progress)
            let accuracy = Double(zip(try svm.predict(valid), labels[split...]).filter { $0 == $1 }.count) / Double(valid.rows)
            report(Candidate(c: c, validationAccuracy: accuracy, seconds: Date().timeIntervalSince(start),
                             iterations: (svm.iterations.min() ?? 0) ... (svm.iterations.max() ?? 0)))
            if accuracy > best.accuracy { best = (c, accuracy) }
        }
        return best.c
    }
}
