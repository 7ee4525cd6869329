import StrataCore
import StrataData

/// Maxout units (Goodfellow, Warde-Farley, Mirza, Courville and Bengio 2013,
/// "Maxout Networks"; pylearn2's `Maxout` layer): a layer computes `units · k`
/// affine pieces `z = x W + b` and each unit outputs the largest of its `k`,
/// `h_u = max_j z[u·k + j]` (a unit's pieces are adjacent columns, as pylearn2
/// groups them). The gradient flows only to the winning piece.
enum Maxout {
    /// Reduces `pieces` `(n, units · k)` to `out` `(n, units)`, recording each
    /// unit's winning column in `winners` (`n · units`, when given) for ``backward(_:winners:pieces:into:)``.
    static func forward(_ pieces: Tensor, k: Int, into out: inout Tensor, winners: inout [Int32]) {
        let n = pieces.rows, units = pieces.columns / k
        ensureShape(&out, n, units)
        if winners.count != n * units { winners = [Int32](repeating: 0, count: n * units) }
        pieces.withUnsafeBufferPointer { z in
            out.withUnsafeMutableBufferPointer { h in
                winners.withUnsafeMutableBufferPointer { w in
                    for i in 0 ..< n * units {
                        let base = i * k
                        var best = base
                        for j in base + 1 ..< base + k where z[j] > z[best] { best = j }
                        h[i] = z[best]
                        w[i] = Int32(best - i / units * units * k)
                    }
                }
            }
        }
    }

    /// The forward pass without winners (inference).
    static func forward(_ pieces: Tensor, k: Int) -> Tensor {
        var out = Tensor(zeros: [pieces.rows, pieces.columns / k]), winners: [Int32] = []
        forward(pieces, k: k, into: &out, winners: &winners)
        return out
    }

    /// The gradient with respect to the pieces `(n, units · k)` from the one
    /// with respect to the units `(n, units)`: each unit's gradient goes to its
    /// winning piece, the others get zero.
    static func backward(_ gradient: Tensor, winners: [Int32], pieces k: Int, into out: inout Tensor) {
        let n = gradient.rows, units = gradient.columns
        ensureShape(&out, n, units * k)
        out.withUnsafeMutableBufferPointer { g in
            g.update(repeating: 0)
            gradient.withUnsafeBufferPointer { d in
                for r in 0 ..< n {
                    for u in 0 ..< units { g[r * units * k + Int(winners[r * units + u])] = d[r * units + u] }
                }
            }
        }
    }
}
