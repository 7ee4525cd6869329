import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

/// The leading eigenpairs of the features' average outer product
/// `S = (1/m) sum_i a_i a_i^T`, where `a_i = [x_i, 1]` (the bias feature
/// appended) over `m` evenly spaced rows: the primal SVM solver's
/// preconditioner.
///
/// The L2-SVM's Hessian for class k is `I + 2C X_I^T X_I`, `X_I` the rows
/// inside the margin. With `n_k` such rows, `M = I + 2C n_k S` is a good
/// stand-in whose inverse costs two thin products through the eigenvectors,
/// for every class and C alike. Learned features are strongly correlated, so
/// the plain Hessian is badly conditioned: on Fashion-MNIST's 3,200
/// soft-threshold features the conjugate gradient needs about ten times
/// fewer products with `M`.
///
/// The ``sketchRank`` largest pairs are found by a randomized range finder
/// with two power iterations (Halko, Martinsson and Tropp 2011): GEMMs with
/// the sample, cut into fixed parts like every product, and eigenproblems of
/// `sketchRank` squared. `S` is taken to be `floor` (the smallest eigenvalue
/// found) on the rest of the space. Measured on those 3,200 features, the
/// whole spectrum by LAPACK's `dsyevd` made the same solve slower (21.2 s
/// against 14.3 s for C 0.01), its fewer CG steps not paying for its 4 s.
struct GramSpectrum {
    /// `D = features + 1`.
    let dimension: Int
    /// `(D, k)`: column j is the eigenvector of eigenvalue `values[j]`.
    let vectors: Tensor
    /// The eigenvalues of `S`, ascending, clamped at 0.
    let values: [Float]
    /// The eigenvalue assumed on the complement of `vectors`' span (0 when `k = D`,
    /// where that complement holds only directions the sample does not reach).
    let floor: Float

    /// At most this many rows estimate `S`: its large eigenvalues, which set
    /// the conditioning, are estimated well from far fewer rows than a
    /// training set has.
    static let sampleRows = 8192
    /// How many eigenpairs are found (all of them when `D` is smaller).
    static let sketchRank = 256

    /// `S` from `min(n, sampleRows)` rows of `x` (`(n, features)`), evenly spaced.
    init(_ x: Tensor, sampleRows: Int = GramSpectrum.sampleRows, sketchRank: Int = GramSpectrum.sketchRank) throws {
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
        let rank = min(max(sketchRank, 1), d + 1)
        var random = RandomSource(seed: 1)
        var basis = Tensor.uniform(shape: [d + 1, rank], low: -1, high: 1, using: &random)
        for _ in 0 ..< 3 {
            let image = sample.matmul(sample.matmul(basis), transposeSelf: true)
            basis = try orthonormalColumns(orthonormalColumns(image))
        }
        // Rayleigh-Ritz: S restricted to the basis, (S Q)^T (S Q) / m.
        let projected = sample.matmul(basis)
        var small = projected.matmul(projected, transposeSelf: true)
        small.scale(by: 1 / Float(m))
        let (values, rotation) = try symmetricEigen(small.scalars.map(Double.init), n: rank)
        self.values = values.map { Float(max($0, 0)) }
        self.vectors = basis.matmul(Tensor(shape: [rank, rank], scalars: rotation.map(Float.init)))
        floor = rank < d + 1 ? self.values.first ?? 0 : 0
    }

    /// `M_k^{-1} r_k = U diag(1 / (1 + scales[k] l)) U^T r_k + (r_k - U U^T r_k) / (1 + scales[k] floor)`
    /// for each column k of `r` (`(D, columns)`). Each column is solved by
    /// matrix-vector products of its own, so a class's result does not depend
    /// on how many classes are solved with it (a rank's band of the classes
    /// gets one process's bits, whatever BLAS kernel runs).
    func solve(_ r: Tensor, scales: [Float]) -> Tensor {
        let (rank, columns, size) = (values.count, r.columns, dimension)
        var out = Tensor(zeros: [size, columns])
        var column = [Float](repeating: 0, count: size), projected = [Float](repeating: 0, count: rank)
        var scaled = projected, back = column, inside = column
        vectors.withUnsafeBufferPointer { u in
            let basis = u.baseAddress!
            for k in 0 ..< columns {
                for j in 0 ..< size { column[j] = r.scalars[j * columns + k] }
                BLAS.gemv(rows: size, columns: rank, basis, transpose: true, column, &projected)
                for j in 0 ..< rank { scaled[j] = projected[j] / (1 + scales[k] * values[j]) }
                BLAS.gemv(rows: size, columns: rank, basis, transpose: false, scaled, &back)
                // The complement: r minus its projection, scaled by the floor's factor
                // (also when k = D: directions the orthonormalization dropped).
                BLAS.gemv(rows: size, columns: rank, basis, transpose: false, projected, &inside)
                for j in 0 ..< size { out.scalars[j * columns + k] = back[j] + (column[j] - inside[j]) / (1 + scales[k] * floor) }
            }
        }
        return out
    }
}

/// An orthonormal basis of `y`'s columns (`(D, k)`), by the eigenvectors of
/// `y^T y`: `y V diag(1 / sqrt(l))`; directions with `l` below 1e-10 of the
/// largest are dropped to zero columns. Applied twice it is accurate to
/// rounding (as CholeskyQR2).
private func orthonormalColumns(_ y: Tensor) throws -> Tensor {
    let k = y.columns
    let (values, vectors) = try symmetricEigen(y.matmul(y, transposeSelf: true).scalars.map(Double.init), n: k)
    let largest = values.last ?? 0
    var rotation = Tensor(zeros: [k, k])
    for i in 0 ..< k {
        for j in 0 ..< k where values[j] > 1e-10 * largest {
            rotation.scalars[i * k + j] = Float(vectors[i * k + j] / values[j].squareRoot())
        }
    }
    return y.matmul(rotation)
}
