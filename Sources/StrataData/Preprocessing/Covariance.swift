import CBLAS
import StrataCore

/// The per-column mean of `data` and the covariance of the centered data,
/// `Xc^T Xc / N`, as `(features, features)` in Double. The centered rows are
/// formed in chunks of 4096 and accumulated with one GEMM each, so the memory
/// beyond `data` is bounded.
func meanAndCovariance(_ data: Tensor) -> (mean: Tensor, covariance: [Double]) {
    let (n, d) = (data.rows, data.columns)
    let mean = data.meanOverRows()
    var accumulated = Tensor(zeros: [d, d])
    let chunkRows = 4096
    var chunk = Tensor(zeros: [min(chunkRows, max(n, 1)), d])
    var start = 0
    while start < n {
        let count = min(chunkRows, n - start)
        if count != chunk.rows { chunk = Tensor(zeros: [count, d]) }
        data.withUnsafeBufferPointer { src in
            chunk.withUnsafeMutableBufferPointer { dst in
                dst.baseAddress!.update(from: src.baseAddress! + start * d, count: count * d)
            }
        }
        chunk.addToEachRow(mean, alpha: -1)
        accumulated.formProduct(chunk, chunk, transposeA: true, beta: 1)
        start += count
    }
    let scale = 1 / Double(max(n, 1))
    return (mean, accumulated.scalars.map { Double($0) * scale })
}

/// Eigenvalues (ascending) and eigenvectors of a symmetric `(n, n)` matrix,
/// through LAPACK's `dsyevd` (shipped by OpenBLAS). Eigenvector `k` is column
/// `k` of the row-major result: `vectors[i * n + k]`.
package func symmetricEigen(_ matrix: [Double], n: Int) throws -> (values: [Double], vectors: [Double]) {
    var a = matrix // symmetric, so row- and column-major agree
    var w = [Double](repeating: 0, count: n)
    var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
    var order = Int32(n), lda = Int32(n), info: Int32 = 0
    var lwork: Int32 = -1, liwork: Int32 = -1
    var workSize = 0.0
    var iworkSize: Int32 = 0
    BLAS.prepare()
    dsyevd_(&jobz, &uplo, &order, &a, &lda, &w, &workSize, &lwork, &iworkSize, &liwork, &info)
    guard info == 0 else { throw StrataError.numerical(routine: "dsyevd", reason: "workspace query failed (info \(info))") }
    lwork = Int32(workSize)
    liwork = iworkSize
    var work = [Double](repeating: 0, count: Int(lwork))
    var iwork = [Int32](repeating: 0, count: Int(liwork))
    dsyevd_(&jobz, &uplo, &order, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
    guard info == 0 else {
        throw StrataError.numerical(routine: "dsyevd", reason: "the eigensolver did not converge (info \(info)); is the data finite?")
    }
    // LAPACK returns eigenvectors as the columns of a column-major matrix:
    // element (i, k) at a[k * n + i]. Transpose to row-major.
    var vectors = [Double](repeating: 0, count: n * n)
    for i in 0 ..< n { for k in 0 ..< n { vectors[i * n + k] = a[k * n + i] } }
    return (w, vectors)
}

/// `V diag(f(l)) V^T` as a Float32 `(n, n)` tensor.
func spectralMatrix(values: [Double], vectors: [Double], n: Int, _ f: (Double) -> Double) -> Tensor {
    let scaled = values.map(f)
    var out = Tensor(zeros: [n, n])
    for i in 0 ..< n {
        for j in 0 ..< n {
            var s = 0.0
            for k in 0 ..< n { s += vectors[i * n + k] * scaled[k] * vectors[j * n + k] }
            out[i, j] = Float(s)
        }
    }
    return out
}
