import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension LinearSVM {
    /// Per-class results of the solver: `w` with the bias appended, the primal
    /// objective at the solution, the passes used and the dual variables.
    typealias BinarySolution = (w: [Float], objective: Double, iterations: Int, alpha: [Float])

    /// Dual coordinate descent with shrinking (Hsieh et al. 2008) for the
    /// one-vs-rest problems of `classes`, all advanced in the same pass over
    /// the data: each example row is read from memory once per pass and used
    /// by every class that still needs it, instead of once per class. Features
    /// of a few thousand dimensions over tens of thousands of examples do not
    /// fit in cache, so sharing the pass is what makes the solver fast.
    ///
    /// Pass p visits the examples in the p-th permutation drawn from
    /// `settings.seed`, the same for every class, and each class skips the
    /// examples it has shrunk away; so a class's solution depends only on the
    /// seed, not on which classes share its pass (or how many cores there are).
    /// `onPass` is told, after each pass, its number and how many of `classes` are still being solved.
    /// `start` (per class, one non-negative value per example) warm-starts the
    /// dual variables, `w` then being `sum_i alpha_i y_i x_i`: the solution of
    /// a nearby problem (another C) is most of the way there.
    static func solveTogether(_ x: Tensor, labels: [Int], classes: [Int], squaredNorms: [Float], settings: Settings, start: [[Float]]? = nil,
                              onPass: ((_ pass: Int, _ unsolved: Int) -> Void)? = nil) -> [BinarySolution] {
        let (n, d, g) = (x.rows, x.columns, classes.count)
        let width = d + 1
        let squared = settings.loss == .squaredHinge
        let diagonal: Float = squared ? 0.5 / settings.c : 0
        let upper: Float = squared ? .infinity : settings.c
        let tolerance = settings.tolerance(for: .dual)
        var weights = [Float](repeating: 0, count: g * width)
        var alpha = [Float](repeating: 0, count: g * n)
        var active = [UInt8](repeating: 1, count: g * n)
        var activeCount = [Int](repeating: n, count: g)
        var pgMaxOld = [Float](repeating: .infinity, count: g), pgMinOld = [Float](repeating: -.infinity, count: g)
        var pgMax = [Float](repeating: 0, count: g), pgMin = [Float](repeating: 0, count: g)
        var iterations = [Int](repeating: 0, count: g)
        var done = [Bool](repeating: false, count: g)
        var order = Array(0 ..< n)
        var random = RandomSource(seed: settings.seed)
        x.withUnsafeBufferPointer { xp in
        weights.withUnsafeMutableBufferPointer { wp in
        alpha.withUnsafeMutableBufferPointer { ap in
        active.withUnsafeMutableBufferPointer { flags in
            if let start { warmStart(start, x: xp.baseAddress!, d: d, labels: labels, classes: classes, weights: wp.baseAddress!, alpha: ap.baseAddress!) }
            while done.contains(false) {
                for s in stride(from: n - 1, to: 0, by: -1) { order.swapAt(s, Int(random.next() % UInt64(s + 1))) }
                for c in 0 ..< g where !done[c] { (pgMax[c], pgMin[c]) = (-.infinity, .infinity) }
                for i in order {
                    let row = UnsafeBufferPointer(rebasing: xp[i * d ..< (i + 1) * d])
                    for c in 0 ..< g where !done[c] && flags[c * n + i] != 0 {
                        let w = wp.baseAddress! + c * width
                        let yi: Float = labels[i] == classes[c] ? 1 : -1
                        let a = ap[c * n + i]
                        let gradient = yi * (vectorDot(UnsafeBufferPointer(start: w, count: d), row) + w[d]) - 1 + diagonal * a
                        var projected: Float = 0
                        if a == 0 {
                            if gradient > pgMaxOld[c] { flags[c * n + i] = 0; activeCount[c] -= 1; continue }
                            if gradient < 0 { projected = gradient }
                        } else if a == upper {
                            if gradient < pgMinOld[c] { flags[c * n + i] = 0; activeCount[c] -= 1; continue }
                            if gradient > 0 { projected = gradient }
                        } else {
                            projected = gradient
                        }
                        pgMax[c] = max(pgMax[c], projected)
                        pgMin[c] = min(pgMin[c], projected)
                        if abs(projected) > 1e-12 {
                            let updated = min(max(a - gradient / (squaredNorms[i] + diagonal), 0), upper)
                            ap[c * n + i] = updated
                            addScaled(w, row.baseAddress!, scale: (updated - a) * yi, count: d)
                            w[d] += (updated - a) * yi
                        }
                    }
                }
                for c in 0 ..< g where !done[c] {
                    iterations[c] += 1
                    if pgMax[c] - pgMin[c] <= tolerance {
                        if activeCount[c] == n {
                            done[c] = true
                        } else {
                            // Converged on the active set: check every example once more.
                            UnsafeMutableBufferPointer(rebasing: flags[c * n ..< (c + 1) * n]).update(repeating: 1)
                            activeCount[c] = n
                            (pgMaxOld[c], pgMinOld[c]) = (.infinity, -.infinity)
                        }
                    } else {
                        pgMaxOld[c] = pgMax[c] <= 0 ? .infinity : pgMax[c]
                        pgMinOld[c] = pgMin[c] >= 0 ? -.infinity : pgMin[c]
                    }
                    if iterations[c] >= settings.maxIterations { done[c] = true }
                }
                onPass?(iterations.max() ?? 0, done.filter { !$0 }.count)
            }
        } } } }
        return (0 ..< g).map { c in
            let w = Array(weights[c * width ..< (c + 1) * width])
            let signs = labels.map { $0 == classes[c] ? Float(1) : -1 }
            return (w, primalObjective(x, signs: signs, w: w, settings: settings), iterations[c], Array(alpha[c * n ..< (c + 1) * n]))
        }
    }
}

extension LinearSVM {
    /// Sets the dual variables `alpha` (per class, `n` each) to `start` and the
    /// weights (per class, `d + 1` each: the bias last) to `sum_i alpha_i y_i x_i`.
    static func warmStart(_ start: [[Float]], x: UnsafePointer<Float>, d: Int, labels: [Int], classes: [Int],
                          weights: UnsafeMutablePointer<Float>, alpha: UnsafeMutablePointer<Float>) {
        let n = labels.count
        for c in classes.indices {
            let w = weights + c * (d + 1)
            for i in 0 ..< n where start[c][i] > 0 {
                let scaled = labels[i] == classes[c] ? start[c][i] : -start[c][i]
                alpha[c * n + i] = start[c][i]
                addScaled(w, x + i * d, scale: scaled, count: d)
                w[d] += scaled
            }
        }
    }
}

/// `out[i] += scale * a[i]`, eight at a time.
@inlinable @inline(__always)
func addScaled(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, scale: Float, count: Int) {
    addScaledDifference(out, a, nil, scale: scale, count: count)
}
