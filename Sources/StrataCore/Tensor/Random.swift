import Foundation

/// A fast, seeded pseudo-random generator: xoshiro256** (Blackman and Vigna,
/// 2018), seeded through SplitMix64. The same seed gives the same sequence on
/// every run and machine; every random thing in Strata takes one of these.
public struct RandomSource: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose whole state derives from `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z &>> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The next 64 random bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 &<< 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @usableFromInline @inline(__always)
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x &<< k) | (x &>> (64 &- k)) }

    /// A new, independent generator derived from this one's next output (for
    /// a sub-task such as one worker thread or one layer).
    public mutating func split() -> RandomSource { RandomSource(seed: next()) }

    /// The four words of state, to save in a checkpoint.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// A generator restored from ``state``.
    public init(state: [UInt64]) {
        precondition(state.count == 4 && state.contains { $0 != 0 }, "a xoshiro256** state is four words, not all zero")
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() &>> 40) * 0x1p-24
    }

    // MARK: Filling buffers

    /// Fills `buffer` with uniform values in `[low, high)`.
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>, low: Float = 0, high: Float = 1) {
        let width = high - low
        var i = 0
        let n = buffer.count
        // Two 24-bit floats from each 64-bit draw.
        while i + 1 < n {
            let bits = next()
            buffer[i] = low + width * (Float(bits &>> 40) * 0x1p-24)
            buffer[i + 1] = low + width * (Float((bits &>> 16) & 0xFF_FFFF) * 0x1p-24)
            i += 2
        }
        if i < n { buffer[i] = low + width * nextUnitFloat() }
    }

    /// Fills `buffer` with normal values of the given mean and standard
    /// deviation (Box-Muller transform, two values per pair of uniforms).
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Float = 0, standardDeviation: Float = 1) {
        buffer.initialize(repeating: mean)
        addNormal(buffer, standardDeviation: standardDeviation)
    }

    // u1 lies in (0, 1] so the logarithm is finite (Box-Muller, two values per draw).
    /// Adds normal noise of mean 0 and the given standard deviation to each
    /// value of `buffer` (Gaussian sampling around means, with no scratch buffer).
    public mutating func addNormal(_ buffer: UnsafeMutableBufferPointer<Float>, standardDeviation: Float) {
        var i = 0
        let n = buffer.count
        while i < n {
            let bits = next()
            let u1 = (Double(bits &>> 32) + 1) * 0x1p-32
            let u2 = Double(bits & 0xFFFF_FFFF) * 0x1p-32
            let radius = Double(standardDeviation) * (-2 * Foundation.log(u1)).squareRoot()
            let angle = 2 * Double.pi * u2
            buffer[i] += Float(radius * Foundation.cos(angle))
            if i + 1 < n { buffer[i + 1] += Float(radius * Foundation.sin(angle)) }
            i += 2
        }
    }

    /// Replaces each probability `p` in `buffer` by a Bernoulli(p) sample, 0 or 1
    /// (sampling binary units from their means).
    public mutating func sampleBernoulli(_ buffer: UnsafeMutableBufferPointer<Float>) {
        var i = 0
        let n = buffer.count
        // Eight at a time: the same uniforms in the same order as the pairs below.
        if let base = buffer.baseAddress {
            while i + 8 <= n {
                var u = SIMD8<Int32>()
                for k in 0 ..< 4 {
                    let bits = next()
                    u[2 * k] = Int32(truncatingIfNeeded: bits &>> 40)
                    u[2 * k + 1] = Int32(truncatingIfNeeded: (bits &>> 16) & 0xFF_FFFF)
                }
                let p = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
                let sample = SIMD8<Float>(repeating: 0).replacing(with: 1, where: SIMD8<Float>(u) * 0x1p-24 .< p)
                UnsafeMutableRawPointer(base + i).storeBytes(of: sample, as: SIMD8<Float>.self)
                i += 8
            }
        }
        while i + 1 < n {
            let bits = next()
            buffer[i] = (Float(bits &>> 40) * 0x1p-24) < buffer[i] ? 1 : 0
            buffer[i + 1] = (Float((bits &>> 16) & 0xFF_FFFF) * 0x1p-24) < buffer[i + 1] ? 1 : 0
            i += 2
        }
        if i < n { buffer[i] = nextUnitFloat() < buffer[i] ? 1 : 0 }
    }

    /// Fills `buffer` with Bernoulli(p) samples, 0 or 1, for one probability `p`
    /// (a masking-noise keep mask, a dropout mask).
    public mutating func fillBernoulli(_ buffer: UnsafeMutableBufferPointer<Float>, probability p: Float) {
        buffer.initialize(repeating: p)
        sampleBernoulli(buffer)
    }

    /// A uniformly random permutation of `0..<count` (Fisher-Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var indices = Array(0 ..< count)
        if count < 2 { return indices }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            indices.swapAt(i, j)
        }
        return indices
    }
}

extension Tensor {
    /// A tensor of uniform values in `[low, high)` drawn from `random`.
    public static func uniform(shape: [Int], low: Float = 0, high: Float = 1, using random: inout RandomSource) -> Tensor {
        Tensor(shape: shape) { random.fillUniform($0, low: low, high: high) }
    }

    /// A tensor of normal values drawn from `random`.
    public static func normal(shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using random: inout RandomSource) -> Tensor {
        Tensor(shape: shape) { random.fillNormal($0, mean: mean, standardDeviation: standardDeviation) }
    }
}
