import Foundation
import StrataCore

/// L2 pooling (Hyvärinen's subspace energy; Le et al. 2012): each pooling
/// unit is `sqrt(epsilon + sum of squares)` of the units of one map in a
/// `size x size` neighbourhood of positions, `stride` apart. Trained
/// through: `backward` adds
/// `g * h / p` to each unit it pooled.
///
/// Buffers are one example per row, `(rows, columns, maps)` interleaved. A
/// band of the map (model parallelism) is handled by naming which map rows the
/// buffer holds (`firstRow`, `rows`) and which pooling rows to make.
public struct L2Pooling: Codable, Equatable, Sendable {
    public var size: Int
    public var stride: Int
    /// Keeps the square root differentiable at zero (Le et al.'s epsilon).
    public var epsilon: Float
    /// Positions across the map (its width) and maps per position.
    public var columns: Int, maps: Int

    public init(size: Int, stride: Int, epsilon: Float, columns: Int, maps: Int) {
        (self.size, self.stride, self.epsilon, self.columns, self.maps) = (size, stride, epsilon, columns, maps)
    }

    /// Pooling units across the map.
    public var poolColumns: Int { (columns - size) / stride + 1 }

    /// Where one example's values lie in a buffer: map rows `first ..< first + rows`.
    public struct Band: Sendable {
        public var first: Int, rows: Int
        public init(first: Int, rows: Int) { (self.first, self.rows) = (first, rows) }
        public init(_ range: Range<Int>) { (first, rows) = (range.lowerBound, range.count) }
    }

    /// Pools `h` (`(n, band h)`: each example's map rows `h.first ..< h.first + h.rows`)
    /// into `out` (`(n, band out)` of pooling rows) for the pooling rows
    /// `pools`; returns the sum of the values pooled there.
    @discardableResult
    public func forward(_ h: UnsafePointer<Float>, _ hBand: Band, examples n: Int, pools: Range<Int>,
                        into out: UnsafeMutablePointer<Float>, _ outBand: Band) -> Double {
        let (inRow, outRow, pc) = (columns * maps, poolColumns * maps, poolColumns)
        var total = 0.0
        for e in 0 ..< n {
            let image = h + e * hBand.rows * inRow, pooled = out + e * outBand.rows * outRow
            for a in pools {
                for b in 0 ..< pc {
                    let target = pooled + ((a - outBand.first) * pc + b) * maps
                    for k in 0 ..< maps { target[k] = 0 }
                    for dy in 0 ..< size {
                        let row = image + (a * stride + dy - hBand.first) * inRow
                        for dx in 0 ..< size {
                            let unit = row + (b * stride + dx) * maps
                            for k in 0 ..< maps { target[k] += unit[k] * unit[k] }
                        }
                    }
                    for k in 0 ..< maps {
                        target[k] = (epsilon + target[k]).squareRoot()
                        total += Double(target[k])
                    }
                }
            }
        }
        return total
    }

    /// Adds to `gradientOfH` (laid out as `h`) the gradient through the
    /// pooling rows `pools`, `gradient * h / pooled` for each unit pooled,
    /// pool after pool in order, writing only the map rows `targetRows`
    /// (a part of a split map: another part adds the rest). `gradient` is laid
    /// out as `pooled`; nil: the same `scale` for every pooling unit (a sparsity penalty's gradient).
    public func backward(_ h: UnsafePointer<Float>, _ hBand: Band, pooled: UnsafePointer<Float>, _ pooledBand: Band,
                         gradient: UnsafePointer<Float>?, scale: Float = 1, examples n: Int, pools: Range<Int>, targetRows: Range<Int>,
                         into gradientOfH: UnsafeMutablePointer<Float>) {
        let (inRow, outRow, pc) = (columns * maps, poolColumns * maps, poolColumns)
        // Each pooling unit's upstream gradient, read once for the units it pooled.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: maps) { upstream in
            for e in 0 ..< n {
                let image = h + e * hBand.rows * inRow, g = gradientOfH + e * hBand.rows * inRow
                for a in pools {
                    for b in 0 ..< pc {
                        let index = e * pooledBand.rows * outRow + ((a - pooledBand.first) * pc + b) * maps
                        for k in 0 ..< maps { upstream[k] = gradient.map { $0[index + k] * scale } ?? scale }
                        for dy in 0 ..< size where targetRows.contains(a * stride + dy) {
                            let offset = (a * stride + dy - hBand.first) * inRow
                            for dx in 0 ..< size {
                                let unit = offset + (b * stride + dx) * maps
                                for k in 0 ..< maps { g[unit + k] += upstream[k] * image[unit + k] / pooled[index + k] }
                            }
                        }
                    }
                }
            }
        }
    }
}
