import Foundation
import StrataCore
import StrataData

/// How the chosen layer turns its input into features.
///
/// - `hiddenMeans`: the layer's own hidden means (what it passes up a stack).
/// - `softThreshold(alpha)`: Coates and Ng's (2011) encoder on the layer's
///   filters used as a dictionary: each filter normalized to unit length,
///   `z = x D`, and the features `max(0, z - alpha)` and `max(0, -z - alpha)`
///   (both polarities, so twice the hidden units). Coates and Ng found this
///   encoding beats the trained model's own nonlinearity for linear classifiers.
/// - `triangle`: the layer's filters used as centroids, `z_k = |x - c_k|`,
///   the features `max(0, mean(z) - z_k)` (Coates, Lee and Ng 2011's "K-means
///   triangle"): a centroid nearer than average gives a positive feature.
/// - `hardAssignment`: 1 for the nearest centroid, 0 for the others.
public enum Encoding: Codable, Equatable, Sendable, CustomStringConvertible {
    case hiddenMeans
    case softThreshold(alpha: Float)
    case triangle
    case hardAssignment

    /// Features per hidden unit.
    public var multiplicity: Int {
        switch self {
        case .hiddenMeans, .triangle, .hardAssignment: return 1
        case .softThreshold: return 2
        }
    }

    public var description: String {
        switch self {
        case .hiddenMeans: return "hidden means"
        case .softThreshold(let alpha): return "soft threshold \(alpha) on unit-norm filters, both polarities"
        case .triangle: return "triangle (distance to each filter as a centroid, below the mean)"
        case .hardAssignment: return "hard assignment to the nearest filter as a centroid"
        }
    }

    /// `means`, `soft_threshold:ALPHA` (also written `soft-threshold:ALPHA`), `triangle` or `hard`.
    public init(parsing text: String) throws {
        let (word, p) = splitComposite(text)
        switch (word, p.count) {
        case ("means", 0), ("hidden_means", 0):
            self = .hiddenMeans
        case ("triangle", 0):
            self = .triangle
        case ("hard", 0), ("hard_assignment", 0):
            self = .hardAssignment
        case ("soft_threshold", 1):
            guard let alpha = Float(p[0]), alpha >= 0, alpha.isFinite else {
                throw SettingError("soft_threshold:ALPHA takes a non-negative number (got '\(text)')")
            }
            self = .softThreshold(alpha: alpha)
        default:
            throw SettingError("'\(text)' is not means, soft_threshold:ALPHA (for example soft_threshold:0.25), triangle or hard")
        }
    }

    /// The filters of `layer` as a dictionary: `(inputs, hidden)` with unit-length columns.
    package static func dictionary(of layer: any UnsupervisedLearner) -> Tensor {
        var d = layer.filters
        d.normalizeColumns()
        return d
    }

    /// Squared distances `|x_i - c_k|²` `(n, k)` from `x` `(n, d)` to the columns of `centroids` `(d, k)`:
    /// each row starts as `|c|²` (`lengths`, computed when not given), one GEMM
    /// adds `-2 x·c`, then `|x|²` is added and what rounding left below zero is clamped.
    package static func squaredDistances(_ x: Tensor, centroids: Tensor, lengths given: [Float]? = nil, cores: Int = Compute.activeCores) -> Tensor {
        let (n, k, width) = (x.rows, centroids.columns, x.columns)
        let lengths = given ?? centroids.columnSquaredNorms()
        var d = Tensor(shape: [n, k]) { out in
            lengths.withUnsafeBufferPointer { l in for r in 0 ..< n { (out.baseAddress! + r * k).update(from: l.baseAddress!, count: k) } }
        }
        x.withUnsafeBufferPointer { xp in
            centroids.withUnsafeBufferPointer { cp in
                d.withUnsafeMutableBufferPointer { dp in
                    let (xb, db) = (xp.baseAddress!, dp.baseAddress!)
                    BLAS.gemm(m: n, n: k, k: width, xb, transposeA: false, cp.baseAddress!, transposeB: false, db, alpha: -2, beta: 1)
                    parallelChunks(n, minimumChunk: 64, cores: cores) { rows in
                        for r in rows {
                            var length: Float = 0
                            for t in 0 ..< width { length += xb[r * width + t] * xb[r * width + t] }
                            let row = db + r * k
                            for j in 0 ..< k { row[j] = Swift.max(0, row[j] + length) }
                        }
                    }
                }
            }
        }
        return d
    }

    /// The triangle encoding `max(0, mean_k(z) - z_k)`, `z_k = |x - c_k|`: `(n, k)`.
    package static func triangle(_ x: Tensor, centroids: Tensor, lengths: [Float]? = nil, cores: Int = Compute.activeCores) -> Tensor {
        var z = squaredDistances(x, centroids: centroids, lengths: lengths, cores: cores)
        let (n, k) = (z.rows, z.columns)
        z.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            parallelChunks(n, minimumChunk: 64, cores: cores) { rows in
                for r in rows {
                    let row = base + r * k
                    // Loops that vectorize: the square roots, then their sum eight lanes at a time.
                    VectorKernels.map(.squareRoot, row, count: k)
                    var lanes = SIMD8<Float>(), j = 0
                    while j + 8 <= k { lanes += UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self); j += 8 }
                    var sum = lanes.sum()
                    while j < k { sum += row[j]; j += 1 }
                    let mean = sum / Float(k)
                    for j in 0 ..< k { row[j] = Swift.max(0, mean - row[j]) }
                }
            }
        }
        return z
    }

    /// One-hot rows: 1 at the nearest centroid (the first, on ties), `(n, k)`.
    package static func hardAssignment(_ x: Tensor, centroids: Tensor, lengths: [Float]? = nil, cores: Int = Compute.activeCores) -> Tensor {
        var z = squaredDistances(x, centroids: centroids, lengths: lengths, cores: cores)
        let (n, k) = (z.rows, z.columns)
        z.withUnsafeMutableBufferPointer { p in
            for r in 0 ..< n {
                let row = UnsafeMutableBufferPointer(rebasing: p[r * k ..< (r + 1) * k])
                var best = 0
                for j in row.indices where row[j] < row[best] { best = j }
                for j in row.indices { row[j] = j == best ? 1 : 0 }
            }
        }
        return z
    }

    /// `[max(0, z - alpha), max(0, -z - alpha)]` row by row: `(n, 2 h)` from `z` `(n, h)`.
    package static func splitSoftThreshold(_ z: Tensor, alpha: Float, cores: Int = Compute.activeCores) -> Tensor {
        let (n, h) = (z.rows, z.columns)
        var out = Tensor(zeros: [n, 2 * h])
        z.withUnsafeBufferPointer { zp in
            out.withUnsafeMutableBufferPointer { op in
                let (zb, ob) = (zp.baseAddress!, op.baseAddress!)
                parallelChunks(n, minimumChunk: 64, cores: cores) { rows in
                    for r in rows {
                        let (source, target) = (zb + r * h, ob + r * 2 * h)
                        for j in 0 ..< h {
                            let v = source[j]
                            target[j] = Swift.max(0, v - alpha)
                            target[h + j] = Swift.max(0, -v - alpha)
                        }
                    }
                }
            }
        }
        return out
    }
}
