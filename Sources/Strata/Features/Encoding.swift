import Foundation

/// How the chosen layer turns its input into features.
///
/// - `hiddenMeans`: the layer's own hidden means (what it passes up a stack).
/// - `softThreshold(alpha)`: Coates and Ng's (2011) encoder on the layer's
///   filters used as a dictionary: each filter normalized to unit length,
///   `z = x D`, and the features `max(0, z - alpha)` and `max(0, -z - alpha)`
///   (both polarities, so twice the hidden units). Coates and Ng found this
///   encoding beats the trained model's own nonlinearity for linear classifiers.
public enum Encoding: Codable, Equatable, Sendable, CustomStringConvertible {
    case hiddenMeans
    case softThreshold(alpha: Float)

    /// Features per hidden unit.
    public var multiplicity: Int {
        switch self {
        case .hiddenMeans: return 1
        case .softThreshold: return 2
        }
    }

    public var description: String {
        switch self {
        case .hiddenMeans: return "hidden means"
        case .softThreshold(let alpha): return "soft threshold \(alpha) on unit-norm filters, both polarities"
        }
    }

    /// `means` or `soft_threshold:ALPHA` (also written `soft-threshold:ALPHA`).
    public init(parsing text: String) throws {
        let (word, p) = splitComposite(text)
        switch (word, p.count) {
        case ("means", 0), ("hidden_means", 0):
            self = .hiddenMeans
        case ("soft_threshold", 1):
            guard let alpha = Float(p[0]), alpha >= 0, alpha.isFinite else {
                throw SettingError("soft_threshold:ALPHA takes a non-negative number (got '\(text)')")
            }
            self = .softThreshold(alpha: alpha)
        default:
            throw SettingError("'\(text)' is not means or soft_threshold:ALPHA (for example soft_threshold:0.25)")
        }
    }

    /// The filters of `layer` as a dictionary: `(inputs, hidden)` with unit-length columns.
    static func dictionary(of layer: any UnsupervisedLearner) -> Tensor {
        var d = layer.filters
        let (rows, columns) = (d.rows, d.columns)
        d.withUnsafeMutableBufferPointer { p in
            var norms = [Float](repeating: 0, count: columns)
            for r in 0 ..< rows { for c in 0 ..< columns { norms[c] += p[r * columns + c] * p[r * columns + c] } }
            let inverse = norms.map { $0 > 0 ? 1 / $0.squareRoot() : 0 }
            for r in 0 ..< rows { for c in 0 ..< columns { p[r * columns + c] *= inverse[c] } }
        }
        return d
    }

    /// `[max(0, z - alpha), max(0, -z - alpha)]` row by row: `(n, 2 h)` from `z` `(n, h)`.
    static func splitSoftThreshold(_ z: Tensor, alpha: Float) -> Tensor {
        let (n, h) = (z.rows, z.columns)
        var out = Tensor(zeros: [n, 2 * h])
        z.withUnsafeBufferPointer { zp in
            out.withUnsafeMutableBufferPointer { op in
                let (zb, ob) = (zp.baseAddress!, op.baseAddress!)
                parallelChunks(n, minimumChunk: 64) { rows in
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
