// MARK: - Matrix products through OpenBLAS

extension Tensor {
    /// `self = alpha * op(a) * op(b) + beta * self`, written in place with no
    /// temporary: the GEMM of every layer's forward and backward pass.
    ///
    /// - Parameters:
    ///   - a: `(m, k)`, or `(k, m)` when `transposeA`.
    ///   - b: `(k, n)`, or `(n, k)` when `transposeB`.
    ///   - transposeA: use `a` transposed.
    ///   - transposeB: use `b` transposed.
    ///   - alpha: the product's scale.
    ///   - beta: 0 overwrites `self`; 1 accumulates into it.
    /// - Precondition: `self` is `(m, n)` (any shape whose first extent is `m`
    ///   and remaining extents multiply to `n`).
    ///
    /// The product is cut into bands of rows or columns of `self` by its shape
    /// alone (``FixedParts``), each band one single-threaded sgemm, the bands
    /// shared among the applied ``Compute``'s cores: the result is the same,
    /// bit for bit, with any number of threads.
    public mutating func formProduct(_ a: Tensor, _ b: Tensor,
                                     transposeA: Bool = false, transposeB: Bool = false,
                                     alpha: Float = 1, beta: Float = 0) {
        let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (kb, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        precondition(k == kb, "inner dimensions differ: op(a) is \(m)x\(k), op(b) is \(kb)x\(n)")
        precondition(rows == m && columns == n, "product is \(m)x\(n) but the output is \(shape)")
        BLAS.useOneThreadEach()
        // Small products in one piece; larger ones in bands along the longer side of the output.
        let alongRows = m >= n
        let parts = m * n * max(k, 1) < 1 << 20 ? 1 : FixedParts.count(alongRows ? m : n, minimum: 64)
        let (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                scalars.withUnsafeMutableBufferPointer { pc in
                    let (A, B, C) = (pa.baseAddress!, pb.baseAddress!, pc.baseAddress!)
                    FixedParts.run(parts) { part in
                        if alongRows {
                            let r = FixedParts.range(part, of: parts, extent: m)
                            BLAS.gemm(m: r.count, n: n, k: k, A + (transposeA ? r.lowerBound : r.lowerBound * k), lda: max(lda, 1), transposeA: transposeA,
                                      B, ldb: max(ldb, 1), transposeB: transposeB, C + r.lowerBound * n, ldc: max(n, 1), alpha: alpha, beta: beta)
                        } else {
                            let c = FixedParts.range(part, of: parts, extent: n)
                            BLAS.gemm(m: m, n: c.count, k: k, A, lda: max(lda, 1), transposeA: transposeA,
                                      B + (transposeB ? c.lowerBound * k : c.lowerBound), ldb: max(ldb, 1), transposeB: transposeB,
                                      C + c.lowerBound, ldc: max(n, 1), alpha: alpha, beta: beta)
                        }
                    }
                }
            }
        }
    }

    /// `op(self) * op(other)` as a new `(m, n)` tensor.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        let m = transposeSelf ? columns : rows
        let n = transposeOther ? other.rows : other.columns
        var result = Tensor(shape: [m, n]) { buffer in buffer.initialize(repeating: 0) }
        result.formProduct(self, other, transposeA: transposeSelf, transposeB: transposeOther)
        return result
    }

    /// `op(self) * x` for a matrix `self` and a vector `x`, as a new vector.
    public func matvec(_ x: Tensor, transposeSelf: Bool = false) -> Tensor {
        let (outCount, inCount) = transposeSelf ? (columns, rows) : (rows, columns)
        precondition(x.count == inCount, "matrix \(shape)\(transposeSelf ? "^T" : "") cannot multiply a vector of \(x.count)")
        var y = Tensor(zeros: [outCount])
        BLAS.useOneThreadEach()
        scalars.withUnsafeBufferPointer { pa in
            x.scalars.withUnsafeBufferPointer { px in
                y.scalars.withUnsafeMutableBufferPointer { py in
                    BLAS.gemv(rows: rows, columns: columns, pa.baseAddress!, transpose: transposeSelf,
                              px.baseAddress!, py.baseAddress!)
                }
            }
        }
        return y
    }

    /// The transpose of a rank-2 tensor, as a new `(columns, rows)` tensor.
    public func transposed() -> Tensor {
        let (r, c) = (rows, columns)
        return Tensor(shape: [c, r]) { out in
            scalars.withUnsafeBufferPointer { src in
                // Blocked so both sides stay in cache.
                let block = 32
                for i0 in stride(from: 0, to: r, by: block) {
                    for j0 in stride(from: 0, to: c, by: block) {
                        for i in i0 ..< min(i0 + block, r) {
                            for j in j0 ..< min(j0 + block, c) {
                                out[j * r + i] = src[i * c + j]
                            }
                        }
                    }
                }
            }
        }
    }
}
