// MARK: - Reductions and broadcasting

extension Tensor {
    /// The sum over rows: a vector of `columns` sums (NumPy's `sum(axis=0)`).
    /// Used for bias gradients, which sum over the batch.
    public func sumOverRows() -> Tensor {
        var out = Tensor(zeros: [columns])
        sumOverRows(into: &out)
        return out
    }

    /// The sum over rows written into `out` (resized to `columns` only when
    /// its size differs): a training step's bias gradient, into a buffer it keeps.
    /// A large tensor is cut into bands of columns, one per core, each
    /// column summed over the rows in order as on one core.
    public func sumOverRows(into out: inout Tensor) {
        let (r, c) = (rows, columns)
        if out.shape != [c] { out = Tensor(zeros: [c]) }
        guard c > 0 else { return }
        scalars.withUnsafeBufferPointer { src in
            out.scalars.withUnsafeMutableBufferPointer { acc in
                let (x, sums) = (src.baseAddress, acc.baseAddress!)
                parallelChunks(c, minimumChunk: (elementsPerCore + r - 1) / max(r, 1)) { band in
                    let (first, width) = (band.lowerBound, band.count)
                    (sums + first).update(repeating: 0, count: width)
                    for i in 0 ..< r {
                        let row = x! + i * c + first
                        for j in 0 ..< width { sums[first + j] += row[j] }
                    }
                }
            }
        }
    }

    /// The mean over rows: a vector of `columns` means (NumPy's `mean(axis=0)`).
    public func meanOverRows() -> Tensor {
        var sums = sumOverRows()
        sums.scale(by: 1 / Float(max(rows, 1)))
        return sums
    }

    /// The sum of each row: a vector of `rows` sums (NumPy's `sum(axis=1)`).
    public func sumOverColumns() -> Tensor {
        let (r, c) = (rows, columns)
        return Tensor(shape: [r]) { out in
            scalars.withUnsafeBufferPointer { src in
                for i in 0 ..< r {
                    var total: Float = 0
                    let row = src.baseAddress! + i * c
                    for j in 0 ..< c { total += row[j] }
                    out[i] = total
                }
            }
        }
    }

    /// The sum of all scalars, accumulated in Double for accuracy.
    public func sum() -> Double {
        scalars.withUnsafeBufferPointer { src in
            // Float partial sums over short runs keep the loop vectorized;
            // the Double total keeps large tensors accurate.
            var total: Double = 0
            var start = 0
            while start < src.count {
                let end = min(start + 4096, src.count)
                var partial: Float = 0
                for i in start ..< end { partial += src[i] }
                total += Double(partial)
                start = end
            }
            return total
        }
    }

    /// The mean of all scalars.
    public func mean() -> Double { count == 0 ? 0 : sum() / Double(count) }

    /// The sum of squares of all scalars (the squared Frobenius norm), in Float
    /// runs of 4096 totalled in Double, as ``sum()``.
    public func squaredNorm() -> Double {
        scalars.withUnsafeBufferPointer { src in
            stride(from: 0, to: src.count, by: 4096).reduce(0.0) { total, start in
                var partial: Float = 0
                for x in src[start ..< Swift.min(start + 4096, src.count)] { partial += x * x }
                return total + Double(partial)
            }
        }
    }

    /// Each column's squared Euclidean length, `(columns)`: a layer's filters' or centroids' lengths.
    public func columnSquaredNorms() -> [Float] {
        let (r, c) = (rows, columns)
        var norms = [Float](repeating: 0, count: c)
        withUnsafeBufferPointer { p in
            for i in 0 ..< r { for j in 0 ..< c { norms[j] += p[i * c + j] * p[i * c + j] } }
        }
        return norms
    }

    /// Scales each column by `factors[column]` (a matrix's columns are its units).
    public mutating func scaleColumns(by factors: [Float]) {
        multiplyEachRow(by: Tensor(shape: [factors.count], scalars: factors))
    }

    /// Scales each nonzero column to unit length.
    public mutating func normalizeColumns() {
        scaleColumns(by: columnSquaredNorms().map { $0 > 0 ? 1 / $0.squareRoot() : 0 })
    }

    /// The smallest and largest scalar, or nil when empty.
    public func minMax() -> (min: Float, max: Float)? {
        guard let first = scalars.first else { return nil }
        var low = first, high = first
        for v in scalars { low = Swift.min(low, v); high = Swift.max(high, v) }
        return (low, high)
    }

    /// True when every scalar is finite (no NaN, no infinity): the check a
    /// training loop makes to stop a diverging run.
    public var isFinite: Bool { scalars.withUnsafeBufferPointer(allFinite) }

    /// Adds `alpha * vector` to every row: `self[i, j] += alpha * vector[j]`
    /// (a bias broadcast over the batch).
    public mutating func addToEachRow(_ vector: Tensor, alpha: Float = 1) {
        let (r, c) = (rows, columns)
        precondition(vector.count == c, "row vector of \(vector.count) cannot broadcast over rows of \(c)")
        guard r > 0, c > 0 else { return }
        vector.scalars.withUnsafeBufferPointer { v in
            scalars.withUnsafeMutableBufferPointer { dst in
                let (base, bias) = (dst.baseAddress!, v.baseAddress!)
                parallelChunks(r, minimumChunk: (elementsPerCore + c - 1) / c) { band in
                    for i in band {
                        let row = base + i * c
                        for j in 0 ..< c { row[j] += alpha * bias[j] }
                    }
                }
            }
        }
    }

    /// Adds `alpha * vector[i]` to every scalar of row `i` (a per-example shift).
    public mutating func addToEachColumn(_ vector: Tensor, alpha: Float = 1) {
        let width = columns
        precondition(vector.count == rows, "column vector of \(vector.count) cannot broadcast over \(rows) rows")
        scalars.withUnsafeMutableBufferPointer { dst in
            for (i, value) in vector.scalars.enumerated() {
                let shift = alpha * value
                for j in i * width ..< (i + 1) * width { dst[j] += shift }
            }
        }
    }

    /// Multiplies every row element-wise by `vector`: `self[i, j] *= vector[j]`.
    public mutating func multiplyEachRow(by vector: Tensor) {
        let width = columns
        precondition(vector.count == width, "row vector of \(vector.count) cannot scale rows of \(width)")
        scalars.withUnsafeMutableBufferPointer { dst in
            vector.scalars.withUnsafeBufferPointer { scale in
                var offset = 0
                while offset < dst.count {
                    for j in 0 ..< width { dst[offset + j] *= scale[j] }
                    offset += width
                }
            }
        }
    }
}

/// Whether every value is finite (no NaN, no infinity), eight at a time:
/// `x * 0` is NaN exactly when `x` is NaN or infinite, and a NaN stays in a sum.
public func allFinite(_ values: UnsafeBufferPointer<Float>) -> Bool {
    var (i, sum, tail) = (0, SIMD8<Float>(repeating: 0), Float(0))
    while i + 8 <= values.count {
        sum += UnsafeRawPointer(values.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self) * 0
        i += 8
    }
    while i < values.count { tail += values[i] * 0; i += 1 }
    return sum.sum() + tail == 0
}
