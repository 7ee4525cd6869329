import Foundation
import StrataCore

/// Local contrast normalization (Jarrett, Kavukcuoglu, Ranzato and LeCun
/// 2009, "What is the best multi-stage architecture for object recognition?";
/// used between the stages of Le et al. 2012), over maps `(rows, columns, maps)`
/// of one example, interleaved:
///
/// ```
/// m[y,x]   = sum_{k,p,q} w[p,q] h[k, y+p, x+q] / Z[y,x]      (Gaussian-weighted mean across maps)
/// v        = h - m                                           (subtractive)
/// s[y,x]   = sqrt(sum_{k,p,q} w[p,q] v[k, y+p, x+q]^2 / Z[y,x])
/// out      = v / max(c, s),  c = mean over positions of s    (divisive)
/// ```
///
/// `w` is a `size x size` Gaussian (sigma `size / 4`); the window stops at
/// the map's edges and `Z[y,x]` (the window's weight inside the map, times
/// the maps) makes `m` and `s` weighted means there too. `c` (Jarrett's
/// choice) keeps flat regions from being amplified; a floor of 0.01 keeps the
/// division finite on a blank map. ``backward(_:gradient:examples:into:)``
/// is the exact gradient of this map, `c` included.
public struct LocalContrastNormalization: Sendable {
    public let size: Int, rows: Int, columns: Int, maps: Int
    /// The window, `(size, size)`, and each position's normalizer `Z`, `(rows, columns)` (what an export needs).
    public let window: [Float], normalizer: [Float]
    /// The divisor's floor.
    public static let floor: Float = 1e-2

    public init(size: Int, rows: Int, columns: Int, maps: Int) {
        (self.size, self.rows, self.columns, self.maps) = (size, rows, columns, maps)
        let radius = size / 2, sigma = Float(size) / 4
        window = (0 ..< size * size).map { i in
            let (p, q) = (Float(i / size - radius), Float(i % size - radius))
            return Foundation.exp(-(p * p + q * q) / (2 * sigma * sigma))
        }
        let ones = [Float](repeating: 1, count: rows * columns)
        var z = [Float](repeating: 0, count: rows * columns)
        Self.windowSum(ones, rows: rows, columns: columns, size: size, window: window, into: &z)
        normalizer = z.map { $0 * Float(maps) }
    }

    /// Values per example.
    public var count: Int { rows * columns * maps }

    /// `out[y,x] = sum_{p,q} w[p,q] values[y+p, x+q]` over one scalar per position (zero outside the map).
    static func windowSum(_ values: [Float], rows: Int, columns: Int, size: Int, window: [Float], into out: inout [Float]) {
        let radius = size / 2
        for y in 0 ..< rows {
            for x in 0 ..< columns {
                var sum: Float = 0
                for p in max(0, radius - y) ..< min(size, rows - y + radius) {
                    for q in max(0, radius - x) ..< min(size, columns - x + radius) {
                        sum += window[p * size + q] * values[(y + p - radius) * columns + x + q - radius]
                    }
                }
                out[y * columns + x] = sum
            }
        }
    }

    /// One example's intermediate values: `v`, `s`, the divisor, and `c`.
    struct Parts {
        var v: [Float], s: [Float], divisor: [Float], c: Float
    }

    /// Sums over maps at each position of `f(value)`, for one example.
    private func mapSums(_ x: UnsafePointer<Float>, _ f: (Float) -> Float) -> [Float] {
        (0 ..< rows * columns).map { position in
            var sum: Float = 0
            for k in 0 ..< maps { sum += f(x[position * maps + k]) }
            return sum
        }
    }

    func parts(_ x: UnsafePointer<Float>) -> Parts {
        let positions = rows * columns
        var mean = [Float](repeating: 0, count: positions), s = mean
        Self.windowSum(mapSums(x) { $0 }, rows: rows, columns: columns, size: size, window: window, into: &mean)
        var v = [Float](repeating: 0, count: count)
        for position in 0 ..< positions {
            let m = mean[position] / normalizer[position]
            for k in 0 ..< maps { v[position * maps + k] = x[position * maps + k] - m }
        }
        let squares = v.withUnsafeBufferPointer { mapSums($0.baseAddress!) { $0 * $0 } }
        Self.windowSum(squares, rows: rows, columns: columns, size: size, window: window, into: &s)
        for position in 0 ..< positions { s[position] = (s[position] / normalizer[position]).squareRoot() }
        let c = s.reduce(0, +) / Float(positions)
        return Parts(v: v, s: s, divisor: s.map { max(max($0, c), Self.floor) }, c: c)
    }

    /// Normalizes `n` examples of `x` into `out` (both `(n, count)`).
    public func forward(_ x: UnsafePointer<Float>, examples n: Int, into out: UnsafeMutablePointer<Float>) {
        for e in 0 ..< n {
            let p = parts(x + e * count), y = out + e * count
            for position in 0 ..< rows * columns {
                for k in 0 ..< maps { y[position * maps + k] = p.v[position * maps + k] / p.divisor[position] }
            }
        }
    }

    /// The gradient with respect to `x` of `sum(gradient * forward(x))`, written into `gradientOfX` (`(n, count)`).
    public func backward(_ x: UnsafePointer<Float>, gradient: UnsafePointer<Float>, examples n: Int, into gradientOfX: UnsafeMutablePointer<Float>) {
        let positions = rows * columns
        for e in 0 ..< n {
            let p = parts(x + e * count), g = gradient + e * count, gx = gradientOfX + e * count
            var gv = [Float](repeating: 0, count: count), gs = [Float](repeating: 0, count: positions), gc: Float = 0
            for position in 0 ..< positions {
                let d = p.divisor[position]
                var gd: Float = 0
                for k in 0 ..< maps {
                    gv[position * maps + k] = g[position * maps + k] / d
                    gd -= g[position * maps + k] * p.v[position * maps + k] / (d * d)
                }
                if d <= Self.floor { continue } // the floor is constant
                if p.s[position] >= p.c { gs[position] += gd } else { gc += gd }
            }
            // Through s = sqrt(u), u = windowSum(sum_k v^2) / Z, and c = mean(s).
            var gu = [Float](repeating: 0, count: positions), back = gu
            for position in 0 ..< positions {
                let total = gs[position] + gc / Float(positions)
                gu[position] = p.s[position] > 0 ? total / (2 * p.s[position]) / normalizer[position] : 0
            }
            Self.windowSum(gu, rows: rows, columns: columns, size: size, window: window, into: &back)
            for position in 0 ..< positions {
                for k in 0 ..< maps { gv[position * maps + k] += 2 * p.v[position * maps + k] * back[position] }
            }
            // Through v = x - m, m = windowSum(sum_k x) / Z.
            var gm = [Float](repeating: 0, count: positions)
            for position in 0 ..< positions {
                var sum: Float = 0
                for k in 0 ..< maps { sum += gv[position * maps + k] }
                gm[position] = -sum / normalizer[position]
            }
            Self.windowSum(gm, rows: rows, columns: columns, size: size, window: window, into: &back)
            for position in 0 ..< positions {
                for k in 0 ..< maps { gx[position * maps + k] = gv[position * maps + k] + back[position] }
            }
        }
    }
}
