// MARK: - Eight-wide versions of the scalar functions
//
// The same formulas as `fastExp`, `fastLog`, `fastSigmoid` (Kernels.swift) on
// SIMD8<Float>, so that hot loops are vectorized by construction rather than
// by the optimizer's choice. `forEachEight` runs a loop eight values at a
// time with a scalar tail.

/// Eight Float32 lanes: one AVX register, the width of the vectorized kernels.
public typealias Float8 = SIMD8<Float>

@inlinable @inline(__always)
public func fastExp(_ x: Float8) -> Float8 {
    // Masked selects rather than `clamped(lowerBound:upperBound:)`, whose
    // generic pointwise min/max the compiler leaves as out-of-line calls.
    var clamped = x.replacing(with: -87.3, where: x .< -87.3)
    clamped = clamped.replacing(with: 88.3, where: clamped .> 88.3)
    let shifted = clamped * log2e + roundingMagic
    let n = shifted - roundingMagic
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    var r = clamped - n * ln2High
    r = r - n * ln2Low
    let y = expPolynomial(r) * (r * r) + r + 1
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: Float8.self)
    return y * scale
}

@inlinable @inline(__always)
public func fastLog(_ x: Float8) -> Float8 {
    let v = x.replacing(with: Float.leastNormalMagnitude, where: x .< Float.leastNormalMagnitude)
    // v = 2^k (1 + m) with 1 + m in [sqrt(1/2), sqrt(2)), found by integer
    // arithmetic: Cephes' frexp-and-select form compiled to scalar code.
    let shifted = unsafeBitCast(v, to: SIMD8<Int32>.self) &+ (0x3f80_0000 &- 0x3f35_04f3)
    let k = Float8((shifted &>> 23) &- 0x7f)
    let m = unsafeBitCast((shifted & 0x007f_ffff) &+ 0x3f35_04f3, to: Float8.self) - 1
    let z = m * m
    var y = m * z * logPolynomial(m)
    y += k * ln2Low
    y += -0.5 * z
    return (m + y + k * ln2High).replacing(with: .nan, where: x .< 0)
}

@inlinable @inline(__always)
public func fastSigmoid(_ x: Float8) -> Float8 { 1 / (1 + fastExp(-x)) }

@inlinable @inline(__always)
public func fastTanh(_ x: Float8) -> Float8 { 2 / (1 + fastExp(-2 * x)) - 1 }

@inlinable @inline(__always)
public func fastSoftplus(_ x: Float8) -> Float8 {
    let zero = Float8(repeating: 0)
    return x.replacing(with: zero, where: x .< zero) + fastLog(1 + fastExp(-abs(x)))
}

@inlinable @inline(__always)
package func abs(_ x: Float8) -> Float8 { x.replacing(with: -x, where: x .< 0) }

/// `√x` for finite `x ≥ 0`, to a few ulp: the bit-level first guess of
/// `1/√x` (Lomont's constant), three Newton steps `y (1.5 - x y² / 2)`, then
/// `x · y` (exactly 0 at 0). Swift's `squareRoot()` on Linux calls the C
/// library's `sqrtf` (which may set `errno`) one lane at a time, which keeps
/// a loop of square roots from vectorizing; this is four multiply-adds a step.
@inlinable @inline(__always)
public func fastSquareRoot(_ x: Float8) -> Float8 { x * fastReciprocalSquareRoot(x) }

/// `1/√x` for finite `x > 0`, to a few ulp: the bit-level first guess
/// (Lomont's constant) and three Newton steps `y (1.5 - x y² / 2)`
/// (Downpour's AdaGrad rates, and ``fastSquareRoot(_:)`` times `x`).
@inlinable @inline(__always)
public func fastReciprocalSquareRoot(_ x: Float8) -> Float8 {
    let half = 0.5 * x
    var y = unsafeBitCast(0x5f37_59df &- (unsafeBitCast(x, to: SIMD8<UInt32>.self) &>> 1), to: Float8.self)
    y = y * (1.5 - half * y * y)
    y = y * (1.5 - half * y * y)
    y = y * (1.5 - half * y * y)
    return y
}

/// `out[i] = f(in[i])` eight at a time (`wide`), with `narrow` for the tail.
/// `input` and `output` may be the same buffer.
@inlinable @inline(__always)
public func mapEight(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
                     _ wide: (Float8) -> Float8, _ narrow: (Float) -> Float) {
    var i = 0
    while i + 8 <= count {
        let v = UnsafeRawPointer(input + i).loadUnaligned(as: Float8.self)
        UnsafeMutableRawPointer(output + i).storeBytes(of: wide(v), as: Float8.self)
        i += 8
    }
    while i < count { output[i] = narrow(input[i]); i += 1 }
}

extension UnsafeMutableBufferPointer where Element == Float {
    /// Applies `wide`/`narrow` to every value in place, eight at a time;
    /// large buffers (a whole batch of hidden units) are split over the cores
    /// as ``parallelElements(_:_:)`` splits them, in whole groups of eight.
    @inlinable @inline(__always)
    public func mapInPlace(_ wide: (Float8) -> Float8, _ narrow: (Float) -> Float) {
        forEachEightAlignedPart { part, count in mapEight(part, part, count: count, wide, narrow) }
    }

    /// Calls `body(start, count)` on parts of the buffer that start at
    /// multiples of eight: the whole buffer inline when it is one core's
    /// share at most, else parts spread over the cores as
    /// ``parallelElements(_:_:)`` spreads them (an element-wise pass then
    /// gives the same bits as on one core).
    @inlinable @inline(__always)
    public func forEachEightAlignedPart(_ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
        guard let base = baseAddress else { return }
        if count < 2 * elementsPerCore {
            body(base, count)
            return
        }
        parallelChunks((count + 7) / 8, minimumChunk: elementsPerCore / 8) { chunk in
            let start = chunk.lowerBound * 8, end = Swift.min(chunk.upperBound * 8, count)
            body(base + start, end - start)
        }
    }
}

/// `out[i] += a[i]` eight at a time (adding a bias row to one row of a batch).
@inlinable @inline(__always)
public func addEight(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let sum = UnsafeRawPointer(out + i).loadUnaligned(as: Float8.self) + UnsafeRawPointer(a + i).loadUnaligned(as: Float8.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: sum, as: Float8.self)
        i += 8
    }
    while i < count { out[i] += a[i]; i += 1 }
}

/// `out[i] += scale * (a[i] - b[i])` eight at a time; `b` may be nil (then `out += scale * a`).
/// Summing rows this way keeps a column sum vectorized and cache-friendly.
@inlinable @inline(__always)
public func addScaledDifference(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, scale: Float, count: Int) {
    var i = 0
    let s = Float8(repeating: scale)
    while i + 8 <= count {
        var d = UnsafeRawPointer(a + i).loadUnaligned(as: Float8.self)
        if let b { d -= UnsafeRawPointer(b + i).loadUnaligned(as: Float8.self) }
        let sum = UnsafeRawPointer(out + i).loadUnaligned(as: Float8.self) + s * d
        UnsafeMutableRawPointer(out + i).storeBytes(of: sum, as: Float8.self)
        i += 8
    }
    while i < count { out[i] += scale * (a[i] - (b?[i] ?? 0)); i += 1 }
}

/// Negates `count` values in place, eight at a time.
@inlinable @inline(__always)
public func negateEight(_ values: UnsafeMutablePointer<Float>, count: Int) {
    mapEight(values, values, count: count, { -$0 }, { -$0 })
}

/// `sum (a[i] - b[i])^2` with eight partial sums.
@inlinable
public func squaredDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc = Float8(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let d = UnsafeRawPointer(a + i).loadUnaligned(as: Float8.self) - UnsafeRawPointer(b + i).loadUnaligned(as: Float8.self)
        acc += d * d
        i += 8
    }
    var total = acc.sum()
    while i < count { let d = a[i] - b[i]; total += d * d; i += 1 }
    return total
}
