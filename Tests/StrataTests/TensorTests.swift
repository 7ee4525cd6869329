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

@Suite struct TensorTests {
    /// The textbook triple loop, the reference for every product.
    func naiveProduct(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> Tensor {
        let at = ta ? a.transposed() : a
        let bt = tb ? b.transposed() : b
        var c = Tensor(zeros: [at.rows, bt.columns])
        for i in 0 ..< at.rows {
            for j in 0 ..< bt.columns {
                var s: Float = 0
                for k in 0 ..< at.columns { s += at[i, k] * bt[k, j] }
                c[i, j] = s
            }
        }
        return c
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func productMatchesTripleLoop(transposeA: Bool, transposeB: Bool) {
        var random = RandomSource(seed: 1)
        let (m, k, n) = (7, 5, 3)
        let a = Tensor.uniform(shape: transposeA ? [k, m] : [m, k], low: -1, high: 1, using: &random)
        let b = Tensor.uniform(shape: transposeB ? [n, k] : [k, n], low: -1, high: 1, using: &random)
        let c = a.matmul(b, transposeSelf: transposeA, transposeOther: transposeB)
        #expect(c.shape == [m, n])
        #expect(maxDifference(c, naiveProduct(a, b, transposeA, transposeB)) < 1e-5)
    }

    @Test func productAccumulatesWithAlphaAndBeta() {
        var random = RandomSource(seed: 2)
        let a = Tensor.uniform(shape: [4, 6], low: -1, high: 1, using: &random)
        let b = Tensor.uniform(shape: [6, 5], low: -1, high: 1, using: &random)
        let start = Tensor.uniform(shape: [4, 5], low: -1, high: 1, using: &random)
        var c = start
        c.formProduct(a, b, alpha: 0.5, beta: 2)
        var expected = naiveProduct(a, b, false, false) * 0.5
        expected.add(start, scaledBy: 2)
        #expect(maxDifference(c, expected) < 1e-5)
    }

    @Test func matrixVectorProduct() {
        let m = Tensor(rows: 2, columns: 3, scalars: [1, 2, 3, 4, 5, 6])
        #expect(m.matvec(Tensor(shape: [3], scalars: [1, 0, -1])).scalars == [-2, -2])
        #expect(m.matvec(Tensor(shape: [2], scalars: [1, 1]), transposeSelf: true).scalars == [5, 7, 9])
    }

    @Test func reductionsAndBroadcasting() {
        var m = Tensor(rows: 2, columns: 3, scalars: [1, 2, 3, 4, 5, 6])
        #expect(m.sumOverRows().scalars == [5, 7, 9])
        #expect(m.meanOverRows().scalars == [2.5, 3.5, 4.5])
        #expect(m.sumOverColumns().scalars == [6, 15])
        #expect(m.sum() == 21)
        #expect(m.squaredNorm() == 91)
        m.addToEachRow(Tensor(shape: [3], scalars: [10, 20, 30]))
        #expect(m.scalars == [11, 22, 33, 14, 25, 36])
        m.addToEachColumn(Tensor(shape: [2], scalars: [1, -1]), alpha: 2)
        #expect(m.scalars == [13, 24, 35, 12, 23, 34])
        #expect(m.transposed().scalars == [13, 12, 24, 23, 35, 34])
        var bad = m
        bad.scalars[3] = .nan
        #expect(m.isFinite && !bad.isFinite)
    }

    @Test func elementwiseKernelsMatchLibm() {
        let xs = stride(from: -30 as Float, through: 30, by: 0.0137).map { $0 }
        let t = Tensor(shape: [xs.count], scalars: xs)
        let sig = t.sigmoid(), sp = t.softplus(), th = t.tanh(), ex = t.exp(), re = t.relu()
        for (i, x) in xs.enumerated() {
            let d = Double(x)
            #expect(abs(Double(sig.scalars[i]) - 1 / (1 + Foundation.exp(-d))) < 2e-7)
            #expect(abs(Double(th.scalars[i]) - Foundation.tanh(d)) < 3e-7)
            #expect(abs(Double(sp.scalars[i]) - Foundation.log1p(Foundation.exp(d))) <= 2e-6 * max(1, abs(d)))
            #expect(abs(Double(ex.scalars[i]) / Foundation.exp(d) - 1) < 3e-7)
            #expect(re.scalars[i] == max(x, 0))
        }
        var value: Float = 1e-37
        while value < 1e37 {
            let got = Double(fastLog(value)), want = Foundation.log(Double(value))
            #expect(abs(got - want) <= 2e-7 * max(1, abs(want)), "log(\(value))")
            value *= 1.37
        }
        // The eight-wide logarithm, lane by lane, over the same range.
        value = 1e-37
        while value < 1e37 {
            let lanes = SIMD8<Float>((0 ..< 8).map { value * (1 + Float($0) * 0.11) })
            let got = fastLog(lanes)
            for lane in 0 ..< 8 {
                let want = Foundation.log(Double(lanes[lane]))
                #expect(abs(Double(got[lane]) - want) <= 2e-7 * max(1, abs(want)), "log(\(lanes[lane]))")
            }
            value *= 3.1
        }
        // The eight-wide square root (Newton steps on a bit-level guess): 0 exactly, a few ulp elsewhere.
        #expect(fastSquareRoot(SIMD8<Float>(repeating: 0)) == SIMD8<Float>(repeating: 0))
        value = 1e-30
        while value < 1e30 {
            let lanes = SIMD8<Float>((0 ..< 8).map { value * (1 + Float($0) * 0.13) })
            let got = fastSquareRoot(lanes)
            for lane in 0 ..< 8 {
                let want = Double(lanes[lane]).squareRoot()
                #expect(abs(Double(got[lane]) / want - 1) < 5e-7, "sqrt(\(lanes[lane]))")
            }
            value *= 2.3
        }
        #expect(fastLog(SIMD8<Float>(repeating: -1))[0].isNaN)
        #expect(fastLog(-1).isNaN)
        #expect(fastExp(-200) > 0 && fastExp(200).isFinite)
        #expect(Tensor(shape: [3], scalars: [-2, 0.5, 9]).clamped(to: 0 ... 1).scalars == [0, 0.5, 1])
    }

    /// A batch's element-wise passes (bias broadcast, bias gradient, dropout
    /// mask, activation derivative) are split over the cores: each gives the
    /// same bits on one core and two, and the same values as its textbook
    /// loop, on a 100 x 1,000 batch (cut in two) and a 3 x 5 one (not cut).
    @Test(arguments: [(100, 1_000), (3, 5)])
    func elementwisePassesSplitOverTheCoresKeepEveryBit(rows: Int, columns: Int) {
        var random = RandomSource(seed: 11)
        let x = Tensor.uniform(shape: [rows, columns], low: -2, high: 2, using: &random)
        let y = Tensor.uniform(shape: [rows, columns], low: 0.01, high: 0.99, using: &random)
        let bias = Tensor.uniform(shape: [columns], low: -1, high: 1, using: &random)
        func passes(cores: Int) -> [Tensor] {
            Compute(cores: cores).apply()
            defer { Compute(cores: 2).apply() }
            var (broadcast, sums, product, masked) = (x, Tensor(zeros: [0]), Tensor(zeros: [0]), x)
            broadcast.addToEachRow(bias, alpha: 0.5)
            x.sumOverRows(into: &sums)
            product.formElementwiseProduct(x, y)
            masked.multiply(by: y)
            var derivatives = [x, x]
            for (k, activation) in [Activation.sigmoid, .relu].enumerated() {
                derivatives[k].withUnsafeMutableBufferPointer { g in y.withUnsafeBufferPointer { activation.multiplyByDerivative(g, output: $0) } }
            }
            return [broadcast, sums, product, masked] + derivatives
        }
        let (one, two) = (passes(cores: 1), passes(cores: 2))
        #expect(one == two)
        let (broadcast, sums, product, masked, sigmoid, relu) = (two[0], two[1], two[2], two[3], two[4], two[5])
        #expect(product == masked)
        var wrong = 0
        for j in 0 ..< columns {
            var total: Float = 0
            for i in 0 ..< rows { total += x[i, j] }
            if sums.scalars[j] != total { wrong += 1 }
        }
        for i in 0 ..< rows {
            for j in 0 ..< columns {
                let (v, a) = (x[i, j], y[i, j])
                if broadcast[i, j] != v + 0.5 * bias.scalars[j] || product[i, j] != v * a { wrong += 1 }
                if sigmoid[i, j] != v * (a * (1 - a)) || relu[i, j] != v { wrong += 1 }
            }
        }
        #expect(wrong == 0)
    }

    @Test func gatherAndSliceRows() {
        let m = Tensor(rows: 3, columns: 2, scalars: [1, 2, 3, 4, 5, 6])
        #expect(m.gatherRows([2, 0]).scalars == [5, 6, 1, 2])
        #expect(m.rows(1 ..< 3).scalars == [3, 4, 5, 6])
        #expect(m.reshaped([2, 3]).columns == 3)
    }
}
