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
        var padded = [Float](repeating: 0, count: (rows + size) * (columns + size))
        values.withUnsafeBufferPointer { v in
            window.withUnsafeBufferPointer { w in
                padded.withUnsafeMutableBufferPointer { room in
                    out.withUnsafeMutableBufferPointer {
                        windowSum(v.baseAddress!, rows: rows, columns: columns, size: size, window: w.baseAddress!,
                                  padded: room.baseAddress!, into: $0.baseAddress!)
                    }
                }
            }
        }
    }

    /// ``windowSum(_:rows:columns:size:window:into:)`` over raw buffers,
    /// through `padded` (room for `(rows + size) x (columns + size)`): the
    /// values with a border of zeros, so that each output row is one
    /// vector loop per window entry. Each output adds its terms in window
    /// order, the border's zero terms included, which leave a sum begun at
    /// +0 unchanged: the bits are those of skipping them.
    static func windowSum(_ values: UnsafePointer<Float>, rows: Int, columns: Int, size: Int, window: UnsafePointer<Float>,
                          padded: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let radius = size / 2, width = columns + 2 * radius
        padded.update(repeating: 0, count: (rows + 2 * radius) * width)
        for y in 0 ..< rows { (padded + (y + radius) * width + radius).update(from: values + y * columns, count: columns) }
        for y in 0 ..< rows {
            let o = out + y * columns
            o.update(repeating: 0, count: columns)
            for p in 0 ..< size {
                for q in 0 ..< size {
                    let w = window[p * size + q], line = padded + (y + p) * width + q
                    for x in 0 ..< columns { o[x] += w * line[x] }
                }
            }
        }
    }

    /// Each position's sum over its maps of `x` (`(positions, maps)`), or of
    /// `x` squared, into `sums`: four positions at a time (four independent
    /// chains of additions), each summed in map order from zero.
    static func mapSums(_ x: UnsafePointer<Float>, positions: Int, maps: Int, squared: Bool, into sums: UnsafeMutablePointer<Float>) {
        var first = 0
        while first + 4 <= positions {
            let (a, b, c, d) = (x + first * maps, x + (first + 1) * maps, x + (first + 2) * maps, x + (first + 3) * maps)
            var (s0, s1, s2, s3): (Float, Float, Float, Float) = (0, 0, 0, 0)
            if squared {
                for k in 0 ..< maps { s0 += a[k] * a[k]; s1 += b[k] * b[k]; s2 += c[k] * c[k]; s3 += d[k] * d[k] }
            } else {
                for k in 0 ..< maps { s0 += a[k]; s1 += b[k]; s2 += c[k]; s3 += d[k] }
            }
            (sums[first], sums[first + 1], sums[first + 2], sums[first + 3]) = (s0, s1, s2, s3)
            first += 4
        }
        for position in first ..< positions {
            var sum: Float = 0
            for k in 0 ..< maps { sum += squared ? x[position * maps + k] * x[position * maps + k] : x[position * maps + k] }
            sums[position] = sum
        }
    }

    /// One example's intermediate values, in a workspace of
    /// ``workspaceCount`` floats: `v` (`count`), then per position the map
    /// sums, `s`, the divisor and five gradients' room; the padded copy; and `c`.
    private struct Parts {
        let v: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>, divisor: UnsafeMutablePointer<Float>
        let padded: UnsafeMutablePointer<Float>
        var c: Float = 0
        init(_ workspace: UnsafeMutablePointer<Float>, count: Int, positions: Int) {
            (v, sums, s, divisor) = (workspace, workspace + count, workspace + count + positions, workspace + count + 2 * positions)
            padded = workspace + 2 * count + 8 * positions
        }
    }

    /// Floats of workspace one example needs: `v` and its gradient, eight
    /// scalars per position, and the window sums' padded copy.
    private var workspaceCount: Int { 2 * count + 8 * rows * columns + (rows + size) * (columns + size) }

    /// Calls `body` with a workspace for one example at a time.
    private func withWorkspace(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: workspaceCount) { body($0.baseAddress!) }
    }

    /// `v`, `s`, the divisor and `c` of one example `x` into `p`'s workspace.
    private func computeParts(_ x: UnsafePointer<Float>, _ p: inout Parts) {
        let positions = rows * columns
        window.withUnsafeBufferPointer { w in
            Self.mapSums(x, positions: positions, maps: maps, squared: false, into: p.sums)
            Self.windowSum(p.sums, rows: rows, columns: columns, size: size, window: w.baseAddress!, padded: p.padded, into: p.s) // the weighted means, for now
            for position in 0 ..< positions {
                let m = p.s[position] / normalizer[position]
                for k in 0 ..< maps { p.v[position * maps + k] = x[position * maps + k] - m }
            }
            Self.mapSums(p.v, positions: positions, maps: maps, squared: true, into: p.sums)
            Self.windowSum(p.sums, rows: rows, columns: columns, size: size, window: w.baseAddress!, padded: p.padded, into: p.s)
        }
        var total: Float = 0
        for position in 0 ..< positions {
            p.s[position] = (p.s[position] / normalizer[position]).squareRoot()
            total += p.s[position]
        }
        p.c = total / Float(positions)
        for position in 0 ..< positions { p.divisor[position] = max(max(p.s[position], p.c), Self.floor) }
    }

    /// Normalizes `n` examples of `x` into `out` (both `(n, count)`).
    public func forward(_ x: UnsafePointer<Float>, examples n: Int, into out: UnsafeMutablePointer<Float>) {
        withWorkspace { workspace in
            var p = Parts(workspace, count: count, positions: rows * columns)
            for e in 0 ..< n {
                computeParts(x + e * count, &p)
                let y = out + e * count
                for position in 0 ..< rows * columns {
                    for k in 0 ..< maps { y[position * maps + k] = p.v[position * maps + k] / p.divisor[position] }
                }
            }
        }
    }

    /// The gradient with respect to `x` of `sum(gradient * forward(x))`, written into `gradientOfX` (`(n, count)`).
    public func backward(_ x: UnsafePointer<Float>, gradient: UnsafePointer<Float>, examples n: Int, into gradientOfX: UnsafeMutablePointer<Float>) {
        let positions = rows * columns
        withWorkspace { workspace in
            var p = Parts(workspace, count: count, positions: positions)
            let gv = workspace + count + 3 * positions, gs = gv + count, gu = gs + positions, back = gu + positions
            window.withUnsafeBufferPointer { w in
                for e in 0 ..< n {
                    computeParts(x + e * count, &p)
                    let g = gradient + e * count, gx = gradientOfX + e * count
                    var gc: Float = 0
                    for position in 0 ..< positions {
                        let d = p.divisor[position]
                        var gd: Float = 0
                        for k in 0 ..< maps {
                            gv[position * maps + k] = g[position * maps + k] / d
                            gd -= g[position * maps + k] * p.v[position * maps + k] / (d * d)
                        }
                        gs[position] = 0
                        if d <= Self.floor { continue } // the floor is constant
                        if p.s[position] >= p.c { gs[position] += gd } else { gc += gd }
                    }
                    // Through s = sqrt(u), u = windowSum(sum_k v^2) / Z, and c = mean(s).
                    for position in 0 ..< positions {
                        let total = gs[position] + gc / Float(positions)
                        gu[position] = p.s[position] > 0 ? total / (2 * p.s[position]) / normalizer[position] : 0
                    }
                    Self.windowSum(gu, rows: rows, columns: columns, size: size, window: w.baseAddress!, padded: p.padded, into: back)
                    for position in 0 ..< positions {
                        for k in 0 ..< maps { gv[position * maps + k] += 2 * p.v[position * maps + k] * back[position] }
                    }
                    // Through v = x - m, m = windowSum(sum_k x) / Z (gu's room holds m's gradient).
                    Self.mapSums(gv, positions: positions, maps: maps, squared: false, into: gu)
                    for position in 0 ..< positions { gu[position] = -gu[position] / normalizer[position] }
                    Self.windowSum(gu, rows: rows, columns: columns, size: size, window: w.baseAddress!, padded: p.padded, into: back)
                    for position in 0 ..< positions {
                        for k in 0 ..< maps { gx[position * maps + k] = gv[position * maps + k] + back[position] }
                    }
                }
            }
        }
    }
}
