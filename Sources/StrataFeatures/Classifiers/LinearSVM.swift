import Dispatch
import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

/// A one-vs-rest linear support vector machine, L2-regularized, with the
/// squared hinge loss (L2-SVM, as Coates, Lee and Ng used) or the hinge loss,
/// trained by dual coordinate descent with shrinking (Hsieh et al. 2008, the
/// solver of LIBLINEAR and scikit-learn's `LinearSVC`) or, for the squared
/// hinge, by a preconditioned finite Newton method in the primal (Keerthi and
/// DeCoste 2005), which wins when there are many more examples than features.
///
/// For class k, with `y_i = +1` for its examples and `-1` for the rest, it
/// minimizes the primal
/// ```
/// 0.5 |w|^2 + C sum_i max(0, 1 - y_i (w . x_i + b))^p        (p = 2 or 1)
/// ```
/// where, as in LIBLINEAR, the bias is a weight on a constant feature of 1 and
/// is regularized with the rest. The decision value of class k is `w_k . x + b_k`;
/// the prediction is the class with the largest.
public struct LinearSVM: Sendable {
    /// The SVM's loss: squared hinge (L2-SVM, LIBLINEAR's default) or hinge (L1-SVM).
    public enum Loss: String, Codable, Sendable, CaseIterable {
        /// `max(0, 1 - y f)^2` (L2-SVM).
        case squaredHinge = "squared_hinge"
        /// `max(0, 1 - y f)` (L1-SVM).
        case hinge
    }

    /// How the SVM is solved.
    public enum Solver: String, Codable, Sendable, CaseIterable {
        /// `primal` for the squared hinge when there are more examples than
        /// features (as scikit-learn's `LinearSVC(dual="auto")` chooses) and at
        /// most ``LinearSVM/Settings/primalFeatureLimit`` features, else `dual`.
        case auto
        /// Dual coordinate descent with shrinking (LIBLINEAR's `-s 1`/`-s 3`):
        /// cheap passes, but many of them when C is large or the features correlated.
        case dual
        /// Finite Newton in the primal with preconditioned conjugate gradients
        /// (squared hinge only): a few dozen passes over the data, each a GEMM for all classes.
        case primal
    }

    /// The SVM's C, loss, solver, tolerance, iteration limit and seed.
    public struct Settings: Codable, Equatable, Sendable {
        public var c: Float = 1
        public var loss: Loss = .squaredHinge
        public var solver: Solver = .auto
        /// LIBLINEAR's eps; nil: the solver's default (``defaultTolerance(for:)``).
        /// Dual: stop when the projected gradient's spread (max - min) falls
        /// below it. Primal: stop when `|grad| <= eps min(positives, negatives) / n |grad at w = 0|`.
        public var tolerance: Float?
        /// The most passes (dual) or Newton iterations (primal) per class.
        public var maxIterations = 1000
        public var seed: UInt64 = 1

        public init(c: Float = 1, loss: Loss = .squaredHinge, solver: Solver = .auto, tolerance: Float? = nil, maxIterations: Int = 1000, seed: UInt64 = 1) {
            (self.c, self.loss, self.solver, self.tolerance, self.maxIterations, self.seed) = (c, loss, solver, tolerance, maxIterations, seed)
        }

        private enum CodingKeys: String, CodingKey { case c, loss, solver, tolerance, maxIterations, seed }

        /// Reads settings saved before `solver` existed as `auto`.
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            c = try container.decode(Float.self, forKey: .c)
            loss = try container.decode(Loss.self, forKey: .loss)
            solver = try container.decodeIfPresent(Solver.self, forKey: .solver) ?? .auto
            tolerance = try container.decodeIfPresent(Float.self, forKey: .tolerance)
            maxIterations = try container.decode(Int.self, forKey: .maxIterations)
            seed = try container.decode(UInt64.self, forKey: .seed)
        }

        /// The dual solver's 0.01 (scikit-learn's `LinearSVC` uses 1e-4,
        /// LIBLINEAR 0.1) and the primal's 1e-4, at which both reach the
        /// same objectives to four digits on learned features (LIBLINEAR's
        /// primal default, 0.01, stops about 1% above them).
        public static func defaultTolerance(for solver: Solver) -> Float { solver == .primal ? 1e-4 : 0.01 }

        /// The tolerance `solver` works to: the one given, or its default.
        func tolerance(for solver: Solver) -> Float { tolerance ?? Self.defaultTolerance(for: solver) }

        /// The most features `auto` gives the primal solver: it measured
        /// 4.1 times faster than the dual on `single_layer_svm`'s 3,200
        /// features but 1.3 times on `kmeans_triangle`'s 14,400 (one test image
        /// fewer), so the dual stays the default for wide features.
        public static let primalFeatureLimit = 4096

        /// The solver `auto` stands for on `examples` rows of `features` columns.
        public func resolvedSolver(examples: Int, features: Int) -> Solver {
            guard solver == .auto else { return solver }
            return loss == .squaredHinge && examples > features && features <= Self.primalFeatureLimit ? .primal : .dual
        }

        public func validate() throws {
            guard c > 0, c.isFinite else { throw StrataError.invalidArgument(name: "C", reason: "\(c) must be positive") }
            if let tolerance, !(tolerance > 0 && tolerance.isFinite) {
                throw StrataError.invalidArgument(name: "tolerance", reason: "\(tolerance) must be positive")
            }
            guard maxIterations >= 1 else { throw StrataError.invalidArgument(name: "iterations", reason: "must be at least 1") }
            guard solver != .primal || loss == .squaredHinge else {
                throw StrataError.invalidArgument(name: "solver", reason: "primal (Newton) needs the squared hinge; the hinge loss is solved by dual")
            }
        }
    }

    /// `(features, classes)`: column k is class k's `w`.
    public package(set) var weights: Tensor
    /// `(classes)`.
    public package(set) var bias: Tensor
    public package(set) var settings: Settings
    /// Per class: the primal objective at the solution and the iterations used.
    public package(set) var objectives: [Double]
    public package(set) var iterations: [Int]
    /// Per class, the dual variables at the solution, one per training
    /// example (not saved with the model): a warm start for the same examples
    /// under another C (``train(_:labels:classes:settings:warmStart:cores:world:progress:)``).
    public package(set) var dualVariables: [[Float]] = []

    public var featureCount: Int { weights.rows }
    public var classCount: Int { weights.columns }

    public init(weights: Tensor, bias: Tensor, settings: Settings) {
        (self.weights, self.bias, self.settings) = (weights, bias, settings)
        (objectives, iterations) = ([], [])
    }

    /// Trains one binary problem per class on `x` (`(n, features)`) with
    /// labels in `0..<classes`, the classes spread over `cores` (and, in a
    /// job of several MPI ranks, first over the ranks: each solves its band
    /// of classes on the same examples, and one allreduce gives every rank
    /// every class's solution, the same as one process's). `progress`
    /// sees, after each pass of the first core's group, the pass and that group's unsolved classes.
    /// `warmStart`, the ``dualVariables`` of an SVM on the same examples
    /// (under another C, say), starts the solver there (Chu et al. 2015,
    /// "Warm Start for Parameter Selection of Linear Classifiers"); the
    /// solution is the same optimum to the solver's tolerance, in fewer passes.
    public static func train(_ x: Tensor, labels: [Int], classes: Int, settings: Settings, warmStart: [[Float]]? = nil,
                             cores: Int = Compute.activeCores, world: MPIWorld? = MPIWorld.current,
                             progress: ((_ pass: Int, _ unsolved: Int) -> Void)? = nil) throws -> LinearSVM {
        var spectrum: GramSpectrum?
        return try train(x, labels: labels, classes: classes, settings: settings, warmStart: warmStart, cores: cores, world: world,
                         spectrum: &spectrum, progress: progress)
    }

    /// ``train(_:labels:classes:settings:warmStart:cores:world:progress:)``
    /// keeping the primal solver's preconditioner in `spectrum` (computed
    /// when nil), so that the solves of a search for C on the same features share it.
    static func train(_ x: Tensor, labels: [Int], classes: Int, settings: Settings, warmStart: [[Float]]?, cores: Int, world: MPIWorld?,
                      spectrum: inout GramSpectrum?, progress: ((_ pass: Int, _ unsolved: Int) -> Void)?) throws -> LinearSVM {
        try settings.validate()
        try checkLabels(labels, rows: x.rows, classes: classes, what: "SVM training labels")
        if let warmStart {
            guard warmStart.count == classes, warmStart.allSatisfy({ $0.count == x.rows && $0.allSatisfy { $0 >= 0 && $0.isFinite } }) else {
                throw StrataError.invalidArgument(name: "SVM warm start", reason: "needs \(classes) classes of \(x.rows) finite non-negative dual variables")
            }
        }
        guard classes >= 2 else { throw StrataError.invalidArgument(name: "classes", reason: "an SVM needs at least 2") }
        for k in 0 ..< classes where !labels.contains(k) {
            throw StrataError.invalidArgument(name: "SVM training labels", reason: "class \(k) has no training example")
        }
        guard x.isFinite else { throw StrataError.invalidArgument(name: "SVM features", reason: "contain NaN or infinity") }
        let d = x.columns
        let primal = settings.resolvedSolver(examples: x.rows, features: d) == .primal
        // The dual solver's x_i . x_i + 1 (the bias feature), shared by every class.
        let squaredNorms: [Float] = primal ? [] : x.withUnsafeBufferPointer { p in
            (0 ..< x.rows).map { i in
                let row = UnsafeBufferPointer(rebasing: p[i * d ..< (i + 1) * d])
                return vectorDot(row, row) + 1
            }
        }
        // This rank's classes (all of them in one process), in one contiguous
        // group per core; each group shares its passes over the data.
        let ranks = (world?.size ?? 1) > 1 ? world : nil
        if let ranks {
            var agreement = RankAgreement()
            agreement.size("training examples", x.rows); agreement.size("features", d); agreement.size("classes", classes)
            agreement.text("labels", Tensor.fingerprint(labels: labels)); agreement.sampledRows("features' values", x)
            agreement.text("SVM settings", encodeJSON(settings))
            try ranks.requireAgreement(agreement, what: "the SVM")
        }
        let mine = ranks.map { DataParallel.share(of: classes, rank: $0.rank, size: $0.size) } ?? 0 ..< classes
        var columns = [[Float]](repeating: [], count: classes)
        var results = [(objective: Double, iterations: Int)](repeating: (0, 0), count: classes)
        var duals = [[Float]](repeating: [], count: classes)
        if primal && !mine.isEmpty {
            // One group: the cores share each product instead of each taking classes.
            if spectrum?.dimension != d + 1 { spectrum = try GramSpectrum(x) }
            let members = Array(mine)
            let solutions = solvePrimal(x, labels: labels, classes: members, settings: settings, start: warmStart.map { start in members.map { start[$0] } },
                                        spectrum: spectrum!, cores: cores, onIteration: progress)
            for (k, solution) in zip(members, solutions) {
                (columns[k], results[k], duals[k]) = (solution.w, (solution.objective, solution.iterations), solution.alpha)
            }
        }
        let groups = primal ? 0 : min(mine.count, max(1, cores))
        let lock = NSLock()
        if groups > 0 { CoreTeam.run(groups) { group in
            let members = Array(mine.lowerBound + mine.count * group / groups ..< mine.lowerBound + mine.count * (group + 1) / groups)
            let solutions = solveTogether(x, labels: labels, classes: members, squaredNorms: squaredNorms, settings: settings,
                                          start: warmStart.map { start in members.map { start[$0] } }, onPass: group == 0 ? progress : nil)
            lock.lock()
            for (k, solution) in zip(members, solutions) {
                (columns[k], results[k], duals[k]) = (solution.w, (solution.objective, solution.iterations), solution.alpha)
            }
            lock.unlock()
        } }
        var weights = Tensor(zeros: [d, classes]), bias = Tensor(zeros: [classes])
        weights.withUnsafeMutableBufferPointer { wp in
            for k in mine {
                for j in 0 ..< d { wp[j * classes + k] = columns[k][j] }
                bias.scalars[k] = columns[k][d]
            }
        }
        if let ranks { combine(over: ranks, weights: &weights, bias: &bias, results: &results, duals: &duals, examples: x.rows, mine: mine) }
        var svm = LinearSVM(weights: weights, bias: bias, settings: settings)
        svm.objectives = results.map(\.objective)
        svm.iterations = results.map(\.iterations)
        svm.dualVariables = duals
        return svm
    }

    /// Decision values `(n, classes)`: `x W + b`.
    public func decisionValues(_ x: Tensor) throws -> Tensor {
        guard x.columns == featureCount else {
            throw StrataError.shapeMismatch(context: "features for an SVM trained on \(featureCount)", expected: [x.rows, featureCount], found: x.shape)
        }
        var scores = x.matmul(weights)
        scores.addToEachRow(bias)
        return scores
    }

    /// The class with the largest decision value, per example.
    public func predict(_ x: Tensor) throws -> [Int] {
        let scores = try decisionValues(x)
        return scores.withUnsafeBufferPointer { p in
            (0 ..< x.rows).map { i in argmax(UnsafeBufferPointer(rebasing: p[i * classCount ..< (i + 1) * classCount])) }
        }
    }

    /// `0.5 |w|^2 + C sum loss(y_i (w . x_i + b))` with `w` carrying the bias last.
    static func primalObjective(_ x: Tensor, signs y: [Float], w: [Float], settings: Settings) -> Double {
        let d = x.columns
        var total = 0.0
        for v in w { total += 0.5 * Double(v) * Double(v) }
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                let wv = UnsafeBufferPointer(rebasing: wp[0 ..< d])
                for i in 0 ..< x.rows {
                    let margin = 1 - Double(y[i]) * Double(vectorDot(wv, UnsafeBufferPointer(rebasing: xp[i * d ..< (i + 1) * d])) + wp[d])
                    if margin > 0 { total += Double(settings.c) * (settings.loss == .squaredHinge ? margin * margin : margin) }
                }
            }
        }
        return total
    }
}
