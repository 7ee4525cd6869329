import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension LinearSVM {
    /// The primal L2-SVM (squared hinge) by a finite Newton method (Keerthi and
    /// DeCoste 2005, "A Modified Finite Newton Method for Fast Solution of
    /// Large Scale Linear SVMs"), all of `classes` advanced together.
    ///
    /// For class k with signs `y`, the objective
    /// `f(w) = 0.5 |w|^2 + C sum_i max(0, 1 - y_i o_i)^2` (`o = X w + b`) is
    /// piecewise quadratic. Each iteration takes the Newton direction on the
    /// current margin violators `I`, `(I + 2C X_I^T X_I) s = -grad f`, by
    /// conjugate gradients preconditioned with ``GramSpectrum`` (stopped at a
    /// residual of 0.1 |grad f|, as LIBLINEAR's TRON), then the exact
    /// minimizer along it (a one-dimensional piecewise quadratic). Every
    /// product with the data is one GEMM for all classes still open
    /// (``SVMProducts``). A class stops when `|grad f| <= eps max(min(pos, neg), 1) / n |grad f(0)|`
    /// (`eps` = `settings.tolerance`; LIBLINEAR's primal criterion), when an
    /// iteration no longer lowers `f` beyond Float32's rounding, or after
    /// `settings.maxIterations` iterations.
    ///
    /// `start` (per class, one non-negative dual variable per example) gives
    /// `w = sum_i alpha_i y_i x_i`; the returned duals are the solution's
    /// `alpha_i = 2C max(0, 1 - y_i o_i)`, the optimal dual variables of the
    /// same problem, so warm starts pass freely between this solver and
    /// ``solveTogether(_:labels:classes:squaredNorms:settings:start:onPass:)``.
    static func solvePrimal(_ x: Tensor, labels: [Int], classes: [Int], settings: Settings, start: [[Float]]?,
                            spectrum: GramSpectrum, cores: Int, onIteration: ((_ iteration: Int, _ unsolved: Int) -> Void)? = nil) -> [BinarySolution] {
        let (n, g) = (x.rows, classes.count)
        let products = SVMProducts(x: x, cores: cores)
        let twoC = 2 * settings.c
        let signs = Tensor(shape: [n, g]) { p in
            for i in 0 ..< n { for k in 0 ..< g { p[i * g + k] = labels[i] == classes[k] ? 1 : -1 } }
        }
        var weights: Tensor
        if let start {
            weights = products.transposed(Tensor(shape: [n, g]) { p in
                for i in 0 ..< n { for k in 0 ..< g { p[i * g + k] = start[k][i] * signs.scalars[i * g + k] } }
            })
        } else {
            weights = Tensor(zeros: [x.columns + 1, g])
        }
        var outputs = products.outputs(weights)
        if start != nil { zeroStartsWorseThanZero(&weights, outputs: &outputs, signs: signs, c: settings.c) }
        // |grad f(0)| = 2C |[X^T y; sum y]|, the scale of the stopping rule.
        let reference = columnNorms(products.transposed(signs)).map { $0 * Double(twoC) }
        let thresholds = (0 ..< g).map { k -> Double in
            let positives = labels.filter { $0 == classes[k] }.count
            return Double(settings.tolerance(for: .primal)) * Double(max(min(positives, n - positives), 1)) / Double(n) * reference[k]
        }
        var iterations = [Int](repeating: 0, count: g)
        var done = [Bool](repeating: false, count: g)
        var objectives = [Double](repeating: .infinity, count: g)
        while true {
            let open = (0 ..< g).filter { !done[$0] }
            if open.isEmpty { break }
            // Violators, residuals o - y on them, the objective and the gradient.
            let y = signs.gatheringColumns(open), o = outputs.gatheringColumns(open), w = weights.gatheringColumns(open)
            var residuals = Tensor(zeros: [n, open.count]), mask = Tensor(zeros: [n, open.count])
            var violators = [Int](repeating: 0, count: open.count), losses = [Double](repeating: 0, count: open.count)
            for i in 0 ..< n {
                for k in 0 ..< open.count where y.scalars[i * open.count + k] * o.scalars[i * open.count + k] < 1 {
                    let r = o.scalars[i * open.count + k] - y.scalars[i * open.count + k]
                    residuals.scalars[i * open.count + k] = r
                    mask.scalars[i * open.count + k] = 1
                    violators[k] += 1
                    losses[k] += Double(r) * Double(r)
                }
            }
            var gradient = products.transposed(residuals)
            gradient.scale(by: twoC)
            gradient.add(w)
            let norms = columnNorms(gradient)
            var solving: [Int] = []   // positions in `open`
            for (k, c) in open.enumerated() {
                let objective = 0.5 * squaredColumnNorm(w, k) + Double(settings.c) * losses[k]
                let stalled = objectives[c] - objective <= 1e-8 * abs(objective)
                objectives[c] = objective
                if norms[k] <= thresholds[c] || stalled || iterations[c] >= settings.maxIterations { done[c] = true } else { solving.append(k) }
            }
            onIteration?(iterations.max() ?? 0, solving.count)
            if solving.isEmpty { break }
            let scales = solving.map { twoC * Float(violators[$0]) }
            let direction = newtonDirection(gradient: gradient.gatheringColumns(solving), mask: mask.gatheringColumns(solving),
                                            scales: scales, twoC: twoC, products: products, spectrum: spectrum)
            let change = products.outputs(direction)
            for (column, k) in solving.enumerated() {
                let c = open[k]
                let step = exactStep(outputs: outputs, change: change, signs: signs, class: c, column: column,
                                     weights: weights, direction: direction, penalty: Double(settings.c))
                for j in 0 ..< weights.rows { weights.scalars[j * g + c] += step * direction.scalars[j * solving.count + column] }
                for i in 0 ..< n { outputs.scalars[i * g + c] += step * change.scalars[i * solving.count + column] }
                iterations[c] += 1
            }
        }
        return (0 ..< g).map { k in
            var alpha = [Float](repeating: 0, count: n)
            for i in 0 ..< n { alpha[i] = twoC * max(0, 1 - signs.scalars[i * g + k] * outputs.scalars[i * g + k]) }
            let w = (0 ..< weights.rows).map { weights.scalars[$0 * g + k] }
            return (w, objectives[k], iterations[k], alpha)
        }
    }

    /// A start from another problem (other rows, other scaling) can be worse
    /// than none (`f(0) = C n`): such classes (columns of `weights`, `(d + 1, g)`,
    /// and of their `outputs`, `(n, g)`) start at zero.
    static func zeroStartsWorseThanZero(_ weights: inout Tensor, outputs: inout Tensor, signs: Tensor, c: Float) {
        let (n, g) = (outputs.rows, outputs.columns)
        for k in 0 ..< g {
            var loss = 0.0, norm = 0.0
            for i in 0 ..< n { let r = max(0, 1 - signs.scalars[i * g + k] * outputs.scalars[i * g + k]); loss += Double(r * r) }
            for j in 0 ..< weights.rows { norm += Double(weights.scalars[j * g + k] * weights.scalars[j * g + k]) }
            guard 0.5 * norm + Double(c) * loss > Double(c) * Double(n) else { continue }
            for j in 0 ..< weights.rows { weights.scalars[j * g + k] = 0 }
            for i in 0 ..< n { outputs.scalars[i * g + k] = 0 }
        }
    }

    /// Preconditioned conjugate gradients for `(I + 2C X_I^T X_I) s = -grad`,
    /// one column per class, each stopped at `|residual| <= 0.1 |grad|` (or
    /// after 250 steps); the classes still running share each product.
    private static func newtonDirection(gradient: Tensor, mask: Tensor, scales: [Float], twoC: Float,
                                        products: SVMProducts, spectrum: GramSpectrum) -> Tensor {
        let (dimension, m) = (gradient.rows, gradient.columns)
        let limits = columnNorms(gradient).map { 0.1 * $0 }
        var direction = Tensor(zeros: [dimension, m])
        var residual = gradient
        residual.scale(by: -1)
        var z = spectrum.solve(residual, scales: scales)
        var p = z
        var rz = (0 ..< m).map { columnDot(residual, z, $0) }
        var running = Array(0 ..< m)
        for _ in 0 ..< 250 {
            // Copies of the running columns only once some class has stopped.
            let all = running.count == m
            let sub = all ? p : p.gatheringColumns(running)
            var product = products.maskedGram(sub, mask: all ? mask : mask.gatheringColumns(running))
            product.scale(by: twoC)
            product.add(sub)
            var still: [Int] = []
            for (column, k) in running.enumerated() {
                let curvature = columnDot(sub, product, column)
                guard curvature > 0 else { continue }
                let a = Float(rz[k] / curvature)
                for j in 0 ..< dimension {
                    direction.scalars[j * m + k] += a * sub.scalars[j * running.count + column]
                    residual.scalars[j * m + k] -= a * product.scalars[j * running.count + column]
                }
                if columnNorm(residual, k) > limits[k] { still.append(k) }
            }
            running = still
            if running.isEmpty { break }
            let zSub = spectrum.solve(residual.gatheringColumns(running), scales: running.map { scales[$0] })
            for (column, k) in running.enumerated() {
                var next = 0.0
                for j in 0 ..< dimension {
                    z.scalars[j * m + k] = zSub.scalars[j * running.count + column]
                    next += Double(residual.scalars[j * m + k]) * Double(z.scalars[j * m + k])
                }
                let beta = Float(next / rz[k])
                rz[k] = next
                for j in 0 ..< dimension { p.scalars[j * m + k] = z.scalars[j * m + k] + beta * p.scalars[j * m + k] }
            }
        }
        return direction
    }

    /// The step `t >= 0` minimizing `0.5 |w + t s|^2 + C sum_i max(0, 1 - y_i (o_i + t e_i))^2`
    /// for class `c` (`e` = the direction's change of the outputs): the
    /// root of the derivative, piecewise linear and increasing, by Newton steps
    /// kept inside a bracket (bisection when one would leave it).
    private static func exactStep(outputs: Tensor, change: Tensor, signs: Tensor, class c: Int, column: Int,
                                  weights: Tensor, direction: Tensor, penalty: Double) -> Float {
        let (n, g, m) = (outputs.rows, outputs.columns, change.columns)
        var ws = 0.0, ss = 0.0
        for j in 0 ..< weights.rows {
            let (w, s) = (Double(weights.scalars[j * g + c]), Double(direction.scalars[j * m + column]))
            ws += w * s
            ss += s * s
        }
        // The class's outputs, changes and signs, contiguous.
        var o = [Float](repeating: 0, count: n), e = o, y = o
        outputs.withUnsafeBufferPointer { op in
            change.withUnsafeBufferPointer { cp in
                signs.withUnsafeBufferPointer { sp in
                    for i in 0 ..< n { (o[i], e[i], y[i]) = (op[i * g + c], cp[i * m + column], sp[i * g + c]) }
                }
            }
        }
        func derivatives(_ t: Double) -> (first: Double, second: Double) {
            var first = 0.0, second = 0.0
            for i in 0 ..< n {
                let value = Double(o[i]) + t * Double(e[i])
                if Double(y[i]) * value < 1 {
                    first += (value - Double(y[i])) * Double(e[i])
                    second += Double(e[i]) * Double(e[i])
                }
            }
            return (ws + t * ss + 2 * penalty * first, ss + 2 * penalty * second)
        }
        let initial = derivatives(0).first
        guard initial < 0 else { return 0 }
        var (low, high) = (0.0, 1.0)
        for _ in 0 ..< 60 {
            guard derivatives(high).first < 0 else { break }
            (low, high) = (high, 2 * high)
        }
        var t = low
        for _ in 0 ..< 100 {
            let (first, second) = derivatives(t)
            if abs(first) <= 1e-10 * abs(initial) { break }
            if first < 0 { low = t } else { high = t }
            let newton = t - first / second
            t = newton > low && newton < high ? newton : 0.5 * (low + high)
            if high - low <= 1e-9 * high { break }
        }
        return Float(t)
    }
}

private func columnDot(_ a: Tensor, _ b: Tensor, _ k: Int) -> Double {
    var total = 0.0
    for j in 0 ..< a.rows { total += Double(a.scalars[j * a.columns + k]) * Double(b.scalars[j * b.columns + k]) }
    return total
}

private func squaredColumnNorm(_ a: Tensor, _ k: Int) -> Double { columnDot(a, a, k) }
private func columnNorm(_ a: Tensor, _ k: Int) -> Double { squaredColumnNorm(a, k).squareRoot() }
private func columnNorms(_ a: Tensor) -> [Double] { (0 ..< a.columns).map { columnNorm(a, $0) } }
