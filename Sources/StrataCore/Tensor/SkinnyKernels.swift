// MARK: - Products of a tall matrix with a matrix of at most 16 columns
//
// `sgemm` packs its operands into panels before it multiplies. When one side
// has only a few columns (one per class of a linear model), each element of
// the tall side is used by that few multiply-adds, so packing it costs about
// as much as the product (measured: 30% of an SVM solve in OpenBLAS's copy
// routines). These kernels read the tall matrix in place, four rows at a
// time, with the narrow side as one 16-lane vector per row: one pass over
// the rows computes `Q = X P` and, fused, `A += X^T Q`.

/// Sixteen Float32 lanes: one row of a narrow operand, padded with zeros.
package typealias Float16Lanes = SIMD16<Float>

/// Rows of `x` taken together by the skinny kernels.
package let skinnyRowGroup = 4

/// For rows `first ..< first + count` (`count <= 4`) of `x` (`(n, d)` row-major),
/// `q[r] = sum_j x[first + r, j] * p[j]`, where `p` holds `d` padded 16-lane
/// rows; missing rows give zeros.
@inline(__always)
package func skinnyRowsTimes(_ x: UnsafePointer<Float>, d: Int, first: Int, count: Int, _ p: UnsafePointer<Float>,
                     zeros: UnsafePointer<Float>) -> SkinnyRows {
    let x0 = x + first * d
    let x1 = count > 1 ? x0 + d : zeros, x2 = count > 2 ? x0 + 2 * d : zeros, x3 = count > 3 ? x0 + 3 * d : zeros
    var (q0, q1, q2, q3) = (Float16Lanes(), Float16Lanes(), Float16Lanes(), Float16Lanes())
    for j in 0 ..< d {
        let row = UnsafeRawPointer(p + 16 * j).loadUnaligned(as: Float16Lanes.self)
        q0 = q0.addingProduct(Float16Lanes(repeating: x0[j]), row)
        q1 = q1.addingProduct(Float16Lanes(repeating: x1[j]), row)
        q2 = q2.addingProduct(Float16Lanes(repeating: x2[j]), row)
        q3 = q3.addingProduct(Float16Lanes(repeating: x3[j]), row)
    }
    return (q0, q1, q2, q3)
}

/// `a[j] += sum_r x[first + r, j] * q[r]` for the `d` padded 16-lane rows of
/// `a` (`count <= 4` rows; the others' `q` must be zero).
@inline(__always)
package func skinnyAccumulateTransposed(_ x: UnsafePointer<Float>, d: Int, first: Int, count: Int,
                                _ q: SkinnyRows,
                                into a: UnsafeMutablePointer<Float>, zeros: UnsafePointer<Float>) {
    let x0 = x + first * d
    let x1 = count > 1 ? x0 + d : zeros, x2 = count > 2 ? x0 + 2 * d : zeros, x3 = count > 3 ? x0 + 3 * d : zeros
    for j in 0 ..< d {
        let target = UnsafeMutableRawPointer(a + 16 * j)
        var sum = target.loadUnaligned(as: Float16Lanes.self)
        sum = sum.addingProduct(Float16Lanes(repeating: x0[j]), q.0)
        sum = sum.addingProduct(Float16Lanes(repeating: x1[j]), q.1)
        sum = sum.addingProduct(Float16Lanes(repeating: x2[j]), q.2)
        sum = sum.addingProduct(Float16Lanes(repeating: x3[j]), q.3)
        target.storeBytes(of: sum, as: Float16Lanes.self)
    }
}

/// A group of four rows' results.
package typealias SkinnyRows = (Float16Lanes, Float16Lanes, Float16Lanes, Float16Lanes)

/// Row `r` (0 to 3) of a group's results.
@inline(__always)
package func skinnyRow(_ q: SkinnyRows, _ r: Int) -> Float16Lanes {
    switch r {
    case 0: return q.0
    case 1: return q.1
    case 2: return q.2
    default: return q.3
    }
}

/// Calls `body(first, count)` for the consecutive groups of at most
/// ``skinnyRowGroup`` rows that make up `rows`.
@inline(__always)
package func forEachSkinnyGroup(_ rows: Range<Int>, _ body: (_ first: Int, _ count: Int) -> Void) {
    var first = rows.lowerBound
    while first < rows.upperBound {
        let count = min(skinnyRowGroup, rows.upperBound - first)
        body(first, count)
        first += count
    }
}

/// Loads lanes `0 ..< count` of a row of a narrow matrix (the rest zero).
@inline(__always)
package func loadLanes(_ p: UnsafePointer<Float>, count: Int) -> Float16Lanes {
    var v = Float16Lanes()
    for k in 0 ..< count { v[k] = p[k] }
    return v
}

/// Stores lanes `0 ..< count` of `v` into a row of a narrow matrix.
@inline(__always)
package func storeLanes(_ v: Float16Lanes, _ p: UnsafeMutablePointer<Float>, count: Int) {
    for k in 0 ..< count { p[k] = v[k] }
}
