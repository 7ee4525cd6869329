import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

@Suite struct SVMPrimalTests {
    /// The skinny kernels (up to 16 columns) and the sgemm path (more) give
    /// the products the primal solver needs, checked against plain matmul.
    @Test(arguments: [1, 3, 10, 16, 20])
    func theProductsMatchPlainMatrixProducts(_ columns: Int) throws {
        var random = RandomSource(seed: 3)
        let (n, d) = (2_103, 37)   // n: more than one fixed part, not a multiple of four
        let x = Tensor.uniform(shape: [n, d], low: -1, high: 1, using: &random)
        let v = Tensor.uniform(shape: [d + 1, columns], low: -1, high: 1, using: &random)
        let r = Tensor.uniform(shape: [n, columns], low: -1, high: 1, using: &random)
        let mask = Tensor(shape: [n, columns], scalars: (0 ..< n * columns).map { _ in random.nextUnitFloat() < 0.3 ? 1 : 0 })
        let products = SVMProducts(x: x, cores: 2)
        // The same with an appended column of ones and plain products.
        let augmented = Tensor(shape: [n, d + 1]) { p in
            for i in 0 ..< n {
                for j in 0 ..< d { p[i * (d + 1) + j] = x[i, j] }
                p[i * (d + 1) + d] = 1
            }
        }
        let outputs = augmented.matmul(v)
        expectClose(products.outputs(v), outputs, "outputs")
        expectClose(products.transposed(r), augmented.matmul(r, transposeSelf: true), "transposed")
        var masked = outputs
        masked.multiply(by: mask)
        expectClose(products.maskedGram(v, mask: mask), augmented.matmul(masked, transposeSelf: true), "masked Gram")
        // Results do not depend on the core count.
        #expect(SVMProducts(x: x, cores: 1).maskedGram(v, mask: mask).scalars == products.maskedGram(v, mask: mask).scalars)
    }

    /// Newton in the primal and coordinate descent in the dual solve the same
    /// problem: the same objectives, weights and predictions.
    @Test(arguments: [Float(0.05), 1])
    func primalAndDualReachTheSameOptimum(_ c: Float) throws {
        let (x, labels) = blobs(classes: 4, perClass: 70, dimensions: 9, spread: 0.9, seed: 12)
        let primal = try LinearSVM.train(x, labels: labels, classes: 4, settings: .init(c: c, solver: .primal, tolerance: 1e-6))
        let dual = try LinearSVM.train(x, labels: labels, classes: 4, settings: .init(c: c, solver: .dual, tolerance: 1e-5, maxIterations: 20_000))
        for k in 0 ..< 4 {
            #expect(abs(primal.objectives[k] - dual.objectives[k]) <= 1e-5 * dual.objectives[k], "class \(k): \(primal.objectives[k]) vs \(dual.objectives[k])")
            #expect(primal.iterations[k] < 20, "Newton iterations \(primal.iterations[k])")
        }
        expectClose(primal.weights, dual.weights, "weights", tolerance: 2e-3)
        #expect(try primal.predict(x) == dual.predict(x))
        // The primal's dual variables are the dual's optimum: w = sum alpha_i y_i x_i.
        for (a, b) in zip(primal.dualVariables[2], dual.dualVariables[2]) { #expect(abs(a - b) <= 2e-3 * max(1, abs(b))) }
    }

    /// A sketch of fewer eigenpairs than dimensions: its leading values match
    /// the whole spectrum's, and the solver preconditioned with it reaches the same optimum.
    @Test func theSketchedSpectrumPreconditionsToTheSameOptimum() throws {
        let (x, labels) = blobs(classes: 3, perClass: 90, dimensions: 40, spread: 0.8, seed: 21)
        let exact = try GramSpectrum(x)
        let sketch = try GramSpectrum(x, sketchRank: 12)
        #expect(exact.values.count == 41 && exact.floor == 0 && sketch.values.count == 12 && sketch.floor == sketch.values[0])
        // The leading values (blobs around 3 centers: a few large ones) are the exact ones.
        for (a, b) in zip(sketch.values.suffix(3), exact.values.suffix(3)) { #expect(abs(a - b) <= 1e-3 * b, "\(a) vs \(b)") }
        // Without the complement's term the inverse would not be one: M^-1 M r = r.
        var random = RandomSource(seed: 2)
        let r = Tensor.uniform(shape: [41, 2], low: -1, high: 1, using: &random)
        let scales: [Float] = [0.5, 3]
        var m = r   // M r = r + s (U diag(l) U^T r + floor (r - U U^T r))
        let projected = sketch.vectors.matmul(r, transposeSelf: true)
        var weighted = projected
        for j in 0 ..< 12 { for k in 0 ..< 2 { weighted.scalars[j * 2 + k] *= sketch.values[j] } }
        let (high, inside) = (sketch.vectors.matmul(weighted), sketch.vectors.matmul(projected))
        for i in 0 ..< 82 { m.scalars[i] += scales[i % 2] * (high.scalars[i] + sketch.floor * (r.scalars[i] - inside.scalars[i])) }
        let back = sketch.solve(m, scales: scales)
        for (a, b) in zip(back.scalars, r.scalars) { #expect(abs(a - b) <= 1e-4) }
        let settings = LinearSVM.Settings(c: 0.3, solver: .primal, tolerance: 1e-6)
        let plain = LinearSVM.solvePrimal(x, labels: labels, classes: [0, 1, 2], settings: settings, start: nil, spectrum: exact, cores: 2)
        let sketched = LinearSVM.solvePrimal(x, labels: labels, classes: [0, 1, 2], settings: settings, start: nil, spectrum: sketch, cores: 2)
        for (a, b) in zip(plain, sketched) { #expect(abs(a.objective - b.objective) <= 1e-5 * b.objective) }
    }

    /// The thread count changes the speed, never the result: the
    /// preconditioner's eigendecomposition and every product included.
    @Test func theSolutionDoesNotDependOnTheCores() throws {
        let (x, labels) = blobs(classes: 3, perClass: 150, dimensions: 40, spread: 1.5, seed: 6)
        let settings = LinearSVM.Settings(c: 0.1, solver: .primal)
        let one = try LinearSVM.train(x, labels: labels, classes: 3, settings: settings, cores: 1)
        let two = try LinearSVM.train(x, labels: labels, classes: 3, settings: settings, cores: 2)
        #expect(one.weights.scalars == two.weights.scalars && one.bias.scalars == two.bias.scalars)
    }

    @Test func autoChoosesByLossAndShape() throws {
        let settings = LinearSVM.Settings()
        #expect(settings.resolvedSolver(examples: 1000, features: 50) == .primal)
        #expect(settings.resolvedSolver(examples: 50, features: 1000) == .dual)
        #expect(settings.resolvedSolver(examples: 50_000, features: 14_400) == .dual)
        #expect(LinearSVM.Settings(loss: .hinge).resolvedSolver(examples: 1000, features: 50) == .dual)
        #expect(strataError { try LinearSVM.Settings(loss: .hinge, solver: .primal).validate() }?.description.contains("squared hinge") == true)
        #expect(strataError { try LinearSVM.Settings(tolerance: .nan).validate() } != nil)
        // Settings saved before the solver existed read as auto.
        let old = try decodeJSON(LinearSVM.Settings.self, #"{"c":0.5,"loss":"hinge","tolerance":0.01,"maxIterations":10,"seed":1}"#, what: "svm")
        #expect(old.solver == .auto && old.c == 0.5 && old.tolerance == 0.01)
        #expect(try LinearSVM.Solver(parsing: "Primal") == .primal)
        #expect(throws: SettingError.self) { try LinearSVM.Solver(parsing: "newton") }
    }

    /// A warm start from another problem that is worse than starting at zero
    /// (here: another labelling, scaled up) is dropped: the solve takes the cold start's path.
    @Test func aStartWorseThanZeroIsDropped() throws {
        let (x, labels) = blobs(classes: 3, perClass: 50, dimensions: 4, spread: 0.6, seed: 5)
        let settings = LinearSVM.Settings(c: 0.5, solver: .primal, tolerance: 1e-5)
        let cold = try LinearSVM.train(x, labels: labels, classes: 3, settings: settings)
        let flipped = labels.map { ($0 + 1) % 3 }
        let other = try LinearSVM.train(x, labels: flipped, classes: 3, settings: settings)
        let warm = try LinearSVM.train(x, labels: labels, classes: 3, settings: settings, warmStart: [other.dualVariables[2], other.dualVariables[0], other.dualVariables[1]].map { $0.map { $0 * 50 } })
        #expect(warm.iterations == cold.iterations && warm.objectives == cold.objectives && warm.weights.scalars == cold.weights.scalars)
    }
}

private func expectClose(_ a: Tensor, _ b: Tensor, _ what: String, tolerance: Float = 1e-4, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, "\(what): \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    #expect(worst <= tolerance, "\(what): worst relative difference \(worst)", sourceLocation: sourceLocation)
}
