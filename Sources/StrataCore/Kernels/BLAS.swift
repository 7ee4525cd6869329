import CBLAS

/// Thin, copy-free access to OpenBLAS: the thread count, and `sgemm`/`sgemv`
/// on raw row-major buffers for callers that work on parts of a buffer.
///
/// The first use makes the kernel choice (``BLASKernelChoice``): OpenBLAS's
/// widest table that this CPU runs and that passes a known-answer check.
public enum BLAS {
    /// How OpenBLAS's kernels were chosen; made on first use, before any product.
    public static let choice: BLASKernelChoice = BLASKernelChoice.make(cpu: .current)

    /// Makes the kernel choice if it is not made yet (every entry point calls it).
    @inlinable @inline(__always)
    public static func prepare() { _ = choice }

    /// The number of threads OpenBLAS uses for one product. Setting it takes
    /// effect for all later calls in the process; values below 1 become 1.
    public static var threadCount: Int {
        get { prepare(); return Int(openblas_get_num_threads()) }
        set { prepare(); openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The kernels OpenBLAS runs in this process, by its name for them
    /// ("Haswell" or "Zen" for AVX2, "SkylakeX" for AVX-512, "Prescott" for the generic SSE3 code).
    public static var kernels: String { choice.inUse }

    /// Puts OpenBLAS on one thread, once per process: Strata spreads its
    /// products over the cores itself, in parts fixed by their shapes
    /// (``FixedParts``), so that results do not depend on the thread count.
    public static func useOneThreadEach() { _ = oneThread }
    private static let oneThread: Void = { threadCount = 1 }()

    /// Runs `body` with OpenBLAS on one thread (each core of a split training
    /// step calls its own single-threaded GEMMs), then restores the count.
    /// Leaves the count untouched when it already is 1.
    @inline(__always)
    public static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        let previous = threadCount
        if previous == 1 { return try body() }
        threadCount = 1
        defer { threadCount = previous }
        return try body()
    }

    /// `C = alpha * op(A) * op(B) + beta * C` on row-major buffers, where
    /// `op(A)` is `(m, k)` and `op(B)` is `(k, n)`; `C` is `(m, n)`.
    ///
    /// `A` is stored `(m, k)` (or `(k, m)` when `transposeA`), `B` is stored
    /// `(k, n)` (or `(n, k)` when `transposeB`), each densely packed.
    @inlinable
    public static func gemm(
        m: Int, n: Int, k: Int,
        _ a: UnsafePointer<Float>, transposeA: Bool,
        _ b: UnsafePointer<Float>, transposeB: Bool,
        _ c: UnsafeMutablePointer<Float>,
        alpha: Float = 1, beta: Float = 0
    ) {
        gemm(m: m, n: n, k: k, a, lda: max(transposeA ? m : k, 1), transposeA: transposeA,
             b, ldb: max(transposeB ? k : n, 1), transposeB: transposeB, c, ldc: max(n, 1), alpha: alpha, beta: beta)
    }

    /// `sgemm` with explicit leading dimensions, for blocks of larger
    /// row-major matrices (a band of rows or columns) without copying them.
    @inlinable
    public static func gemm(
        m: Int, n: Int, k: Int,
        _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        _ c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        guard m > 0, n > 0 else { return }
        prepare()
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y = alpha * op(A) * x + beta * y` for a row-major `(rows, columns)` buffer `A`.
    @inlinable
    public static func gemv(
        rows: Int, columns: Int,
        _ a: UnsafePointer<Float>, transpose: Bool,
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        alpha: Float = 1, beta: Float = 0
    ) {
        guard rows > 0, columns > 0 else { return }
        prepare()
        cblas_sgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans,
                    Int32(rows), Int32(columns), alpha, a, Int32(columns), x, 1, beta, y, 1)
    }
}
