import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Limited-memory BFGS (Nocedal 1980; Liu and Nocedal 1989) with a weak
/// Wolfe line search: the batch method of DistBelief's Sandblaster L-BFGS
/// (Dean et al. 2012) and of Le et al. (2011, "On optimization methods for
/// deep learning"), who found it competitive with SGD for networks trained
/// on large batches.
///
/// The solver keeps the current point's objective and gradient and the last
/// ``memory`` pairs `s = x' - x`, `y = g' - g`; the search direction is
/// `-H g` by the two-loop recursion, `H_0 = (s·y / y·y) I` from the newest
/// pair. Each iteration tries step lengths `t` along the direction until
/// both weak Wolfe conditions hold (Armijo: `f(x + t d) <= f + c1 t g·d`;
/// curvature: `g(x + t d)·d >= c2 g·d`), halving the bracket when the first
/// fails and doubling `t` when only the second does (the bisection search of
/// Lewis and Overton 2013). A pair is kept only when `s·y > 0`, so `H` stays
/// positive definite. The objective is evaluated by the caller (a full pass
/// over the data, or `FullBatchObjective`'s chunks across MPI ranks), so
/// the solver itself is plain arithmetic on flat Float32 vectors with dot
/// products in Double. Everything it holds is saved in a fine-tuning
/// checkpoint, so a resumed run takes the same steps.
public struct LBFGS: Equatable, Sendable {
    /// How many `(s, y)` pairs approximate the inverse Hessian.
    public let memory: Int
    /// The objective and gradient at the current point (nil before ``start(objective:gradient:)``).
    public package(set) var objective: Double?
    public package(set) var gradient: [Float] = []
    /// The pairs, oldest first (at most ``memory``).
    var steps: [[Float]] = []
    var changes: [[Float]] = []
    /// Objective evaluations made so far (the first included).
    public package(set) var evaluations = 0

    /// Sufficient decrease (`c1`) and curvature (`c2`) constants of the Wolfe conditions (Nocedal and Wright's defaults for quasi-Newton).
    static let armijo = 1e-4, curvature = 0.9
    /// Trial step lengths per iteration before the search gives up.
    static let maximumTrials = 30

    public init(memory: Int = 10) { self.memory = max(1, memory) }

    /// The outcome of one ``iterate(_:evaluate:)``.
    public struct Iteration: Equatable, Sendable {
        /// The objective at the new point.
        public var objective: Double
        /// Evaluations this iteration made.
        public var evaluations: Int
        /// The accepted step length `t` along the search direction (0: no step).
        public var stepLength: Double
        /// True when no step along the direction lowered the objective (a minimum to float precision, or a nonsmooth point).
        public var stalled: Bool
    }

    /// Sets the current point's objective and gradient (its first evaluation).
    public mutating func start(objective: Double, gradient: [Float]) {
        (self.objective, self.gradient) = (objective, gradient)
        evaluations += 1
    }

    /// One iteration from `x` (whose objective and gradient ``start(objective:gradient:)``
    /// gave, or the last iteration left): a direction, a line search, `x`
    /// moved to the accepted point. `evaluate(point)` returns the objective
    /// and its gradient there. When no trial lowers the objective, `x` stays
    /// and the memory is cleared (the next iteration starts from steepest descent).
    public mutating func iterate(_ x: inout [Float], evaluate: ([Float]) throws -> (objective: Double, gradient: [Float])) rethrows -> Iteration {
        precondition(objective != nil && gradient.count == x.count, "LBFGS.start gives the first point's objective and gradient")
        let f0 = objective!
        var direction = searchDirection()
        var slope = Self.dot(gradient, direction)
        if !(slope < 0) { // not a descent direction (rounding in H): restart from steepest descent
            (steps, changes) = ([], [])
            direction = gradient.map { -$0 }
            slope = Self.dot(gradient, direction)
        }
        guard slope < 0 else { return Iteration(objective: f0, evaluations: 0, stepLength: 0, stalled: true) }
        // The first step has no curvature to scale it: a unit step in the gradient's 1-norm (as minFunc does).
        var t = steps.isEmpty ? min(1, 1 / gradient.reduce(0) { $0 + Double(abs($1)) }) : 1
        var low = 0.0, high = Double.infinity, used = 0
        var best: (t: Double, objective: Double, gradient: [Float], point: [Float])?
        var trial = x
        while used < Self.maximumTrials {
            Self.move(x, by: t, along: direction, into: &trial)
            let (ft, gt) = try evaluate(trial)
            used += 1
            if !ft.isFinite || ft > f0 + Self.armijo * t * slope {
                high = t
            } else {
                if best == nil || ft < best!.objective { best = (t, ft, gt, trial) }
                if Self.dot(gt, direction) >= Self.curvature * slope { break } // both conditions: accept t
                low = t
            }
            t = high.isFinite ? (low + high) / 2 : 2 * low
        }
        evaluations += used
        guard let accepted = best else {
            (steps, changes) = ([], []) // the memory misled the search: forget it
            return Iteration(objective: f0, evaluations: used, stepLength: 0, stalled: true)
        }
        remember(point: accepted.point, from: x, gradient: accepted.gradient)
        (x, objective, gradient) = (accepted.point, accepted.objective, accepted.gradient)
        return Iteration(objective: accepted.objective, evaluations: used, stepLength: accepted.t, stalled: false)
    }

    /// `-H g` by the two-loop recursion (Nocedal and Wright, Algorithm 7.4); `-g` without pairs.
    func searchDirection() -> [Float] {
        var q = gradient.map { -$0 }
        var alphas = [Double](repeating: 0, count: steps.count)
        for i in steps.indices.reversed() {
            let rho = 1 / Self.dot(changes[i], steps[i])
            alphas[i] = rho * Self.dot(steps[i], q)
            Self.add(-alphas[i], changes[i], to: &q)
        }
        if let s = steps.last, let y = changes.last {
            let gamma = Float(Self.dot(s, y) / Self.dot(y, y))
            for i in q.indices { q[i] *= gamma }
        }
        for i in steps.indices {
            let rho = 1 / Self.dot(changes[i], steps[i])
            let beta = rho * Self.dot(changes[i], q)
            Self.add(alphas[i] - beta, steps[i], to: &q)
        }
        return q
    }

    /// Keeps the pair `(point - x, gradient - self.gradient)` when its
    /// curvature `s·y` is positive (beyond rounding), dropping the oldest past ``memory``.
    mutating func remember(point: [Float], from x: [Float], gradient newGradient: [Float]) {
        // Reuse the oldest pair's buffers once the memory is full: no allocation per iteration.
        var s = steps.count == memory ? steps.removeFirst() : [Float](repeating: 0, count: x.count)
        var y = changes.count == memory ? changes.removeFirst() : [Float](repeating: 0, count: x.count)
        for i in x.indices { (s[i], y[i]) = (point[i] - x[i], newGradient[i] - gradient[i]) }
        let sy = Self.dot(s, y), yy = Self.dot(y, y)
        guard sy > 1e-10 * yy.squareRoot() * Self.dot(s, s).squareRoot(), yy > 0 else { return }
        steps.append(s)
        changes.append(y)
    }

    /// `a·b` accumulated in Double, four lanes at a time.
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                var lanes = SIMD4<Double>()
                var i = 0
                while i + 4 <= a.count {
                    lanes += SIMD4<Double>(Double(a[i]), Double(a[i + 1]), Double(a[i + 2]), Double(a[i + 3]))
                        * SIMD4<Double>(Double(b[i]), Double(b[i + 1]), Double(b[i + 2]), Double(b[i + 3]))
                    i += 4
                }
                var total = lanes.sum()
                while i < a.count { total += Double(a[i]) * Double(b[i]); i += 1 }
                return total
            }
        }
    }

    /// `q += scale * v`.
    static func add(_ scale: Double, _ v: [Float], to q: inout [Float]) {
        let c = Float(scale)
        q.withUnsafeMutableBufferPointer { q in v.withUnsafeBufferPointer { v in for i in q.indices { q[i] += c * v[i] } } }
    }

    /// `trial = x + t d`.
    static func move(_ x: [Float], by t: Double, along d: [Float], into trial: inout [Float]) {
        let c = Float(t)
        trial.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { x in d.withUnsafeBufferPointer { d in for i in out.indices { out[i] = x[i] + c * d[i] } } }
        }
    }
}
