import CBLAS
import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Measures the GFLOP/s of Strata's matrix products against a direct
/// `cblas_sgemm` call on the same buffers: the check that the tensor core adds
/// no copies and no overhead to OpenBLAS.
public enum GEMMBenchmark {
    /// A product shape: `op(A)` is `m x k`, `op(B)` is `k x n`.
    public struct Shape: Sendable {
        public var name: String
        public var m: Int, k: Int, n: Int
        public var transposeA: Bool, transposeB: Bool
        public var operation: String { (transposeA ? "T" : "N") + (transposeB ? "T" : "N") }
        /// Floating-point operations of one product: `2 m k n`.
        public var flops: Double { 2 * Double(m) * Double(k) * Double(n) }
    }

    /// Squares 256 to 2048 and the products of one RBM/autoencoder 784-500 step
    /// at batch 100 and one GRBM 192-400 step (names as in the peer benchmarks).
    public static let standardShapes: [Shape] = [
        Shape(name: "sq256", m: 256, k: 256, n: 256, transposeA: false, transposeB: false),
        Shape(name: "sq512", m: 512, k: 512, n: 512, transposeA: false, transposeB: false),
        Shape(name: "sq1024", m: 1024, k: 1024, n: 1024, transposeA: false, transposeB: false),
        Shape(name: "sq2048", m: 2048, k: 2048, n: 2048, transposeA: false, transposeB: false),
        Shape(name: "rbm_up", m: 100, k: 784, n: 500, transposeA: false, transposeB: false),
        Shape(name: "rbm_down", m: 100, k: 500, n: 784, transposeA: false, transposeB: true),
        Shape(name: "rbm_grad", m: 784, k: 100, n: 500, transposeA: true, transposeB: false),
        Shape(name: "gb_up", m: 100, k: 192, n: 400, transposeA: false, transposeB: false),
        Shape(name: "gb_down", m: 100, k: 400, n: 192, transposeA: false, transposeB: true),
        Shape(name: "gb_grad", m: 192, k: 100, n: 400, transposeA: true, transposeB: false),
    ]

    /// One measurement.
    public struct Result: Sendable {
        public var shape: Shape
        public var threads: Int
        /// Best and median GFLOP/s of Strata's `Tensor.formProduct`.
        public var strataGFLOPS: Double, strataMedianGFLOPS: Double
        /// Best and median GFLOP/s of `cblas_sgemm` called directly.
        public var directGFLOPS: Double, directMedianGFLOPS: Double
        public var ratio: Double { strataGFLOPS / directGFLOPS }
    }

    /// Times `shape` on `threads` cores: `repetitions` alternating rounds of
    /// Strata (its fixed parts over `threads` cores, OpenBLAS on one thread
    /// each) then direct (one sgemm, OpenBLAS on `threads` threads), each
    /// round about `seconds` long.
    public static func measure(_ shape: Shape, threads: Int, repetitions: Int = 7, seconds: Double = 0.15) -> Result {
        let previous = Compute(cores: Compute.activeCores)
        defer { previous.apply() }
        Compute(cores: threads).apply()
        var random = RandomSource(seed: 42)
        let a = Tensor.uniform(shape: shape.transposeA ? [shape.k, shape.m] : [shape.m, shape.k], low: -1, high: 1, using: &random)
        let b = Tensor.uniform(shape: shape.transposeB ? [shape.n, shape.k] : [shape.k, shape.n], low: -1, high: 1, using: &random)
        var c = Tensor(zeros: [shape.m, shape.n])
        // The same buffers, handed straight to CBLAS (after the kernel choice ``BLAS`` makes).
        BLAS.prepare()
        let rawA = UnsafeMutablePointer<Float>.allocate(capacity: a.count)
        let rawB = UnsafeMutablePointer<Float>.allocate(capacity: b.count)
        let rawC = UnsafeMutablePointer<Float>.allocate(capacity: c.count)
        defer { rawA.deallocate(); rawB.deallocate(); rawC.deallocate() }
        a.withUnsafeBufferPointer { rawA.update(from: $0.baseAddress!, count: a.count) }
        b.withUnsafeBufferPointer { rawB.update(from: $0.baseAddress!, count: b.count) }
        rawC.initialize(repeating: 0, count: c.count)

        let strata = { c.formProduct(a, b, transposeA: shape.transposeA, transposeB: shape.transposeB) }
        let direct = {
            cblas_sgemm(CblasRowMajor, shape.transposeA ? CblasTrans : CblasNoTrans, shape.transposeB ? CblasTrans : CblasNoTrans,
                        Int32(shape.m), Int32(shape.n), Int32(shape.k), 1,
                        rawA, Int32(shape.transposeA ? shape.m : shape.k),
                        rawB, Int32(shape.transposeB ? shape.k : shape.n), 0, rawC, Int32(shape.n))
        }
        // Calls per round, so that one round lasts about `seconds`.
        BLAS.threadCount = threads
        direct()
        let probeStart = DispatchTime.now().uptimeNanoseconds
        direct()
        let once = max(Double(DispatchTime.now().uptimeNanoseconds - probeStart) * 1e-9, 1e-6)
        let calls = max(1, Int(seconds / once))
        // OpenBLAS's threads: one under Strata's parts, `threads` for the direct call.
        func round(blasThreads: Int, _ body: () -> Void) -> Double {
            BLAS.threadCount = blasThreads
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0 ..< calls { body() }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            return shape.flops * Double(calls) / elapsed / 1e9
        }
        var ours: [Double] = [], theirs: [Double] = []
        for _ in 0 ..< repetitions {
            ours.append(round(blasThreads: 1, strata))
            theirs.append(round(blasThreads: threads, direct))
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return Result(shape: shape, threads: threads,
                      strataGFLOPS: ours.max()!, strataMedianGFLOPS: median(ours),
                      directGFLOPS: theirs.max()!, directMedianGFLOPS: median(theirs))
    }
}
