// MARK: - Vectorizable scalar functions
//
// libm's expf and logf are opaque calls that stop the compiler from
// vectorizing a loop. These branch-free versions (Cephes' range reduction and
// minimax polynomials, within 2 ulp over the ranges stated) compile to SIMD
// code inside the element-wise loops below.

@usableFromInline let log2e: Float = 1.44269504088896341
@usableFromInline let roundingMagic: Float = 12582912 // 1.5 * 2^23: adding it rounds to an integer
/// ln 2 split in two (Cephes): the high part is exact in a few bits, so `n * ln2High` is exact.
@usableFromInline let ln2High: Float = 0.693359375
@usableFromInline let ln2Low: Float = -2.12194440e-4

/// A value the kernels' polynomials run on: `Float`, or eight of them.
public protocol KernelValue {
    init(splat value: Float)
    static func * (a: Self, b: Self) -> Self
    static func + (a: Self, b: Float) -> Self
    static func - (a: Self, b: Float) -> Self
}

extension Float: KernelValue {
    @inlinable @inline(__always) public init(splat value: Float) { self = value }
}

extension SIMD8: KernelValue where Scalar == Float {
    @inlinable @inline(__always) public init(splat value: Float) { self.init(repeating: value) }
}

/// Cephes' minimax polynomial of `expf` on the reduced argument r in [-ln2/2, ln2/2]:
/// `e^r = 1 + r + r^2 P(r)`. One copy for the scalar and the eight-wide kernels.
@inlinable @inline(__always)
func expPolynomial<T: KernelValue>(_ r: T) -> T {
    var p = T(splat: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    return p * r + 5.0000001201e-1
}

/// Cephes' minimax polynomial of `logf` on m = mantissa - 1 in [sqrt(1/2) - 1, sqrt(2) - 1]:
/// `log(1 + m) = m - m^2/2 + m^3 P(m)`.
@inlinable @inline(__always)
func logPolynomial<T: KernelValue>(_ m: T) -> T {
    var p = T(splat: 7.0376836292e-2)
    p = p * m - 1.1514610310e-1
    p = p * m + 1.1676998740e-1
    p = p * m - 1.2420140846e-1
    p = p * m + 1.4249322787e-1
    p = p * m - 1.6668057665e-1
    p = p * m + 2.0000714765e-1
    p = p * m - 2.4999993993e-1
    return p * m + 3.3333331174e-1
}

/// `e^x`, vectorizable. Inputs are clamped to [-87.3, 88.3], so the result is
/// never zero, infinite or NaN for finite input (NaN stays NaN).
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    let clamped = Swift.min(Swift.max(x, -87.3), 88.3)
    let shifted = clamped * log2e + roundingMagic
    let n = shifted - roundingMagic
    // The rounded integer sits in the low mantissa bits of `shifted`; reading it
    // there (instead of a trapping Float-to-Int conversion) keeps the loop vectorizable.
    let integer = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    var r = clamped - n * ln2High
    r = r - n * ln2Low
    let y = expPolynomial(r) * (r * r) + r + 1
    let scale = Float(bitPattern: UInt32(bitPattern: integer &+ 127) &<< 23)
    let result = y * scale
    return x != x ? x : result
}

/// Natural logarithm, vectorizable, for positive input. Zero and subnormal
/// input give `log(Float.leastNormalMagnitude)` (about -87.3) rather than
/// -infinity; negative input gives NaN.
@inlinable @inline(__always)
public func fastLog(_ x: Float) -> Float {
    let v = Swift.max(x, Float.leastNormalMagnitude)
    // v = 2^e (1 + m) with 1 + m in [sqrt(1/2), sqrt(2)), by integer arithmetic.
    let shifted = Int32(bitPattern: v.bitPattern) &+ (0x3f80_0000 &- 0x3f35_04f3)
    let e = Float((shifted &>> 23) &- 0x7f)
    let m = Float(bitPattern: UInt32(bitPattern: (shifted & 0x007f_ffff) &+ 0x3f35_04f3)) - 1
    let z = m * m
    var y = m * z * logPolynomial(m)
    y += e * ln2Low
    y += -0.5 * z
    let result = m + y + e * ln2High
    return x < 0 ? .nan : result
}

/// The logistic function `1 / (1 + e^-x)`, vectorizable.
@inlinable @inline(__always)
public func fastSigmoid(_ x: Float) -> Float {
    1 / (1 + fastExp(-x))
}

/// `log(1 + e^x)`, computed stably as `max(x, 0) + log(1 + e^-|x|)`.
@inlinable @inline(__always)
public func fastSoftplus(_ x: Float) -> Float {
    Swift.max(x, 0) + fastLog(1 + fastExp(-Swift.abs(x)))
}

/// The hyperbolic tangent, as `2 sigmoid(2x) - 1` (absolute error below 2e-7).
@inlinable @inline(__always)
public func fastTanh(_ x: Float) -> Float {
    2 / (1 + fastExp(-2 * x)) - 1
}

/// The sum of `values`, with eight SIMD accumulators so that it vectorizes
/// (a plain float loop cannot be reordered, so it runs one add at a time).
@inlinable
public func vectorSum(_ values: UnsafeBufferPointer<Float>) -> Float {
    var accumulator = SIMD8<Float>(repeating: 0)
    let n = values.count
    var i = 0
    let base = values.baseAddress!
    while i + 8 <= n {
        accumulator += UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = accumulator.sum()
    while i < n { total += base[i]; i += 1 }
    return total
}

/// The dot product of two equal-length buffers, vectorized like ``vectorSum(_:)``.
@inlinable
public func vectorDot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
    // Four independent sums hide the addition latency on long vectors.
    var (s0, s1, s2, s3) = (SIMD8<Float>(repeating: 0), SIMD8<Float>(repeating: 0), SIMD8<Float>(repeating: 0), SIMD8<Float>(repeating: 0))
    let n = min(a.count, b.count)
    var i = 0
    let pa = a.baseAddress!, pb = b.baseAddress!
    @inline(__always) func load(_ p: UnsafePointer<Float>, _ k: Int) -> SIMD8<Float> { UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self) }
    while i + 32 <= n {
        s0 += load(pa, i) * load(pb, i)
        s1 += load(pa, i + 8) * load(pb, i + 8)
        s2 += load(pa, i + 16) * load(pb, i + 16)
        s3 += load(pa, i + 24) * load(pb, i + 24)
        i += 32
    }
    var accumulator = (s0 + s1) + (s2 + s3)
    while i + 8 <= n {
        accumulator += UnsafeRawPointer(pa + i).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(pb + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = accumulator.sum()
    while i < n { total += pa[i] * pb[i]; i += 1 }
    return total
}
