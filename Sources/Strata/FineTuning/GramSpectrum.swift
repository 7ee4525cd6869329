import Foundation

/// The eigendecomposition of the features' average outer product
/// `S = (1/m) sum_i a_i a_i^T`, where `a_i = [x_i, 1]` (the bias feature
/// appended) over `m` evenly spaced rows: the primal SVM solver's
/// preconditioner.
///
/// The L2-SVM's Hessian for class k is `I + 2C X_I^T X_I`, `X_I` the rows
/// inside the margin. With `n_k` such rows, `I + 2C n_k S` is a good
/// stand-in that costs two `(D, D)` products to invert through the
/// eigenvectors, `U diag(1 / (1 + 2C n_k l)) U^T`, for every class and C
/// alike. Learned features are strongly correlated, so the plain Hessian is
/// badly conditioned: on Fashion-MNIST's 3,200 soft-threshold features the
/// conjugate gradient needs about ten times fewer products with it.
struct GramSpectrum {
    /// `D = features + 1`.
    let dimension: Int
    /// `(D, D)`: column j is the eigenvector of eigenvalue `values[j]`.
    let vectors: Tensor
    /// The eigenvalues of `S`, ascending, clamped at 0.
    let values: [Float]

    /// At most this many rows estimate `S`: its large eigenvalues, which set
    /// the conditioning, are estimated well from far fewer rows than a
    /// training set has.
    static let sampleRows = 8192

    /// `S` from `min(n, sampleRows)` rows of `x` (`(n, features)`), evenly spaced.
    init(_ x: Tensor, sampleRows: Int = GramSpectrum.sampleRows, cores: Int) throws {
        let (n, d) = (x.rows, x.columns)
        let m = min(n, max(sampleRows, 1))
        dimension = d + 1
        var sample = Tensor(zeros: [m, d + 1])
        x.withUnsafeBufferPointer { xp in
            sample.withUnsafeMutableBufferPointer { sp in
                for r in 0 ..< m {
                    let i = r * n / m
                    (sp.baseAddress! + r * (d + 1)).update(from: xp.baseAddress! + i * d, count: d)
                    sp[r * (d + 1) + d] = 1
                }
            }
        }
        var gram = Tensor(zeros: [d + 1, d + 1])
        gram.formProduct(sample, sample, transposeA: true, alpha: 1 / Float(m))
        // dsyevd on one thread would take most of the solve: give it the cores.
        let previous = BLAS.threadCount
        BLAS.threadCount = cores
        defer { BLAS.threadCount = previous }
        let (values, vectors) = try symmetricEigen(gram.scalars.map(Double.init), n: d + 1)
        self.values = values.map { Float(max($0, 0)) }
        self.vectors = Tensor(shape: [d + 1, d + 1], scalars: vectors.map(Float.init))
    }

    /// `U diag(1 / (1 + scales[k] l)) U^T r_k` for each column k of `r` (`(D, columns)`).
    func solve(_ r: Tensor, scales: [Float]) -> Tensor {
        var projected = vectors.matmul(r, transposeSelf: true)
        let columns = r.columns
        projected.withUnsafeMutableBufferPointer { p in
            for j in 0 ..< dimension {
                for k in 0 ..< columns { p[j * columns + k] /= 1 + scales[k] * values[j] }
            }
        }
        return vectors.matmul(projected)
    }
}
