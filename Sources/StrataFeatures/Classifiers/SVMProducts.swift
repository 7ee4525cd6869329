import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

/// The products with the whole feature matrix that the primal SVM solver
/// needs, for several classes at once: the narrow side is the classes, so
/// one pass over the examples serves them all. Up to 16 classes the
/// skinny kernels (SkinnyKernels.swift) read the rows in place; beyond, sgemm.
///
/// `x` is `(n, d)`; a column `v` of a `(D, columns)` tensor (`D = d + 1`)
/// holds a class's weights with its bias last, as if every example had a
/// last feature of 1. Rows are cut into ``FixedParts`` (each part a
/// single-threaded GEMM on one core, partial sums added in part order), so
/// results do not depend on the number of cores.
struct SVMProducts {
    let x: Tensor
    let cores: Int
    private var n: Int { x.rows }
    private var d: Int { x.columns }
    private var parts: Int { FixedParts.count(x.rows, minimum: 1024) }

    /// `(n, columns)`: `X v + v_bias` for each column, the decision values.
    func outputs(_ v: Tensor) -> Tensor {
        let columns = v.columns
        var out = Tensor(zeros: [n, columns])
        let padded = columns <= 16 ? paddedRows(v) : []
        x.withUnsafeBufferPointer { xp in
            v.withUnsafeBufferPointer { vp in
                out.withUnsafeMutableBufferPointer { op in
                    let (xb, vb, ob) = (xp.baseAddress!, vp.baseAddress!, op.baseAddress!)
                    let count = parts
                    FixedParts.run(count, cores: cores) { part in
                        let rows = FixedParts.range(part, of: count, extent: n)
                        if columns <= 16 {
                            let zeros = [Float](repeating: 0, count: d)
                            padded.withUnsafeBufferPointer { pp in
                                forEachSkinnyGroup(rows) { first, group in
                                    let q = skinnyRowsTimes(xb, d: d, first: first, count: group, pp.baseAddress!, zeros: zeros)
                                    for r in 0 ..< group { storeLanes(skinnyRow(q, r), ob + (first + r) * columns, count: columns) }
                                }
                            }
                        } else {
                            BLAS.singleThreaded {
                                BLAS.gemm(m: rows.count, n: columns, k: d, xb + rows.lowerBound * d, transposeA: false, vb, transposeB: false,
                                          ob + rows.lowerBound * columns)
                            }
                        }
                        for i in rows { for k in 0 ..< columns { ob[i * columns + k] += vb[d * columns + k] } }
                    }
                }
            }
        }
        return out
    }

    /// `(D, columns)`: `[X^T r; sum_i r_i]` for `r` `(n, columns)`.
    func transposed(_ r: Tensor) -> Tensor {
        let columns = r.columns
        return accumulate(columns: columns) { rows, xb, accumulator, bias in
            r.withUnsafeBufferPointer { rp in
                let rb = rp.baseAddress!
                for i in rows { for k in 0 ..< columns { bias[k] += rb[i * columns + k] } }
                if columns <= 16 {
                    let zeros = [Float](repeating: 0, count: d)
                    forEachSkinnyGroup(rows) { first, group in
                        func lanes(_ row: Int) -> Float16Lanes { row < group ? loadLanes(rb + (first + row) * columns, count: columns) : Float16Lanes() }
                        skinnyAccumulateTransposed(xb, d: d, first: first, count: group, (lanes(0), lanes(1), lanes(2), lanes(3)),
                                                   into: accumulator, zeros: zeros)
                    }
                } else {
                    BLAS.gemm(m: d, n: columns, k: rows.count, xb + rows.lowerBound * d, transposeA: true, rb + rows.lowerBound * columns,
                              transposeB: false, accumulator, beta: 1)
                }
            }
        }
    }

    /// `(D, columns)`: `[X^T q; sum_i q_i]` with `q = mask * (X p + p_bias)`
    /// (elementwise; `mask` `(n, columns)` of 0 and 1): the data term of
    /// the L2-SVM's Hessian times `p`. Each group of rows is used by both
    /// products while it is in cache.
    func maskedGram(_ p: Tensor, mask: Tensor) -> Tensor {
        let columns = p.columns
        guard columns <= 16 else {
            var q = outputs(p)
            q.multiply(by: mask)
            return transposed(q)
        }
        let padded = paddedRows(p)
        let bias = loadLanes(p.scalars.withUnsafeBufferPointer { $0.baseAddress! + d * columns }, count: columns)
        return accumulate(columns: columns) { rows, xb, accumulator, biasSum in
            let zeros = [Float](repeating: 0, count: d)
            var total = Float16Lanes()
            padded.withUnsafeBufferPointer { pp in
                mask.withUnsafeBufferPointer { mp in
                    // A plain loop: `total`, mutated inside a closure, measured 15% slower.
                    var first = rows.lowerBound
                    while first < rows.upperBound {
                        let group = min(skinnyRowGroup, rows.upperBound - first)
                        let q = skinnyRowsTimes(xb, d: d, first: first, count: group, pp.baseAddress!, zeros: zeros)
                        func masked(_ value: Float16Lanes, _ row: Int) -> Float16Lanes {
                            row < group ? (value + bias) * loadLanes(mp.baseAddress! + (first + row) * columns, count: columns) : Float16Lanes()
                        }
                        let m = (masked(q.0, 0), masked(q.1, 1), masked(q.2, 2), masked(q.3, 3))
                        total += m.0 + m.1 + m.2 + m.3
                        skinnyAccumulateTransposed(xb, d: d, first: first, count: group, m, into: accumulator, zeros: zeros)
                        first += group
                    }
                }
            }
            storeLanes(total, biasSum, count: columns)
        }
    }

    /// The first `d` rows of `v` (`(D, columns)`, `columns <= 16`), each padded to 16 lanes with zeros.
    private func paddedRows(_ v: Tensor) -> [Float] {
        var padded = [Float](repeating: 0, count: d * 16)
        for j in 0 ..< d { for k in 0 ..< v.columns { padded[j * 16 + k] = v.scalars[j * v.columns + k] } }
        return padded
    }

    /// Runs `body(rows, x, accumulator, biasAccumulator)` on each fixed part of
    /// the rows, single-threaded, each part into its own zeroed accumulators
    /// (`(d, 16)` padded rows and `(16)` when `columns <= 16`, else `(d, columns)`
    /// and `(columns)`), then adds the parts in order into `(D, columns)`.
    private func accumulate(columns: Int,
                            _ body: (Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let count = parts
        let width = columns <= 16 ? 16 : columns
        let size = (d + 1) * width
        var partials = [Float](repeating: 0, count: count * size)
        x.withUnsafeBufferPointer { xp in
            partials.withUnsafeMutableBufferPointer { pp in
                let (xb, pb) = (xp.baseAddress!, pp.baseAddress!)
                FixedParts.run(count, cores: cores) { part in
                    let rows = FixedParts.range(part, of: count, extent: n)
                    BLAS.singleThreaded { body(rows, xb, pb + part * size, pb + part * size + d * width) }
                }
            }
        }
        var out = Tensor(zeros: [d + 1, columns])
        out.withUnsafeMutableBufferPointer { op in
            for part in 0 ..< count {
                for j in 0 ... d { for k in 0 ..< columns { op[j * columns + k] += partials[part * size + j * width + k] } }
            }
        }
        return out
    }
}

extension Tensor {
    /// The columns `list` of a matrix, in that order: `(rows, list.count)`.
    func gatheringColumns(_ list: [Int]) -> Tensor {
        let (m, c) = (rows, columns)
        return Tensor(shape: [m, list.count]) { out in
            withUnsafeBufferPointer { p in
                for i in 0 ..< m { for (k, j) in list.enumerated() { out[i * list.count + k] = p[i * c + j] } }
            }
        }
    }
}
