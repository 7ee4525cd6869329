import Foundation
import StrataCore
import StrataData
import StrataModels

/// What splitting one locally connected stage over P machines would give
/// (``LocalStagePartition``'s layout, by image rows), from the stage's shape,
/// this machine's measured speed and a link's bandwidth and latency:
///
/// ```
/// step(P) = compute / P + bytes(P) / bandwidth + 4 latency
/// bytes   = batch x 4 x ( (poolSize - poolStride) x filterColumns x maps       halo rows to the previous part
///                        + ceil((poolSize - poolStride) / poolStride) x poolColumns x maps   pooled values to the next
///                        + 2 (field - stride) x inputWidth x channels )        shared input rows, partial and whole
/// ```
///
/// `compute` is the one-process step: `10 x positions x fieldSize x maps`
/// multiply-adds per example (filters, reconstruction, three gradient
/// products) at `flopsPerSecond`. Four exchanges a step, each one latency.
/// The bytes are an inner part's (two neighbours); they do not shrink with P,
/// so the speedup flattens once `compute / P` meets them, as Dean et al.
/// (2012, section 5) report for their smaller models.
public struct ModelParallelCostModel: Sendable {
    public var geometry: LocalStageGeometry
    public var batch: Int
    /// Floating-point operations per second one machine sustains on the stage's products.
    public var flopsPerSecond: Double
    public var latencySeconds: Double

    public init(geometry: LocalStageGeometry, batch: Int, flopsPerSecond: Double, latencySeconds: Double = 25e-6) {
        (self.geometry, self.batch, self.flopsPerSecond, self.latencySeconds) = (geometry, batch, flopsPerSecond, latencySeconds)
    }

    /// One machine's step, seconds.
    public var computeSeconds: Double {
        let g = geometry
        return 2 * 10 * Double(g.positions) * Double(g.fieldSize) * Double(g.maps) * Double(batch) / flopsPerSecond
    }

    /// Bytes an inner part sends per step (0 for one part).
    public func bytes(parts: Int) -> Double {
        guard parts > 1 else { return 0 }
        let g = geometry, halo = max(0, g.poolSize - g.poolStride), shared = max(0, g.field - g.stride)
        let pooled = (halo + g.poolStride - 1) / g.poolStride
        return Double(batch) * 4 * Double(halo * g.filterColumns * g.maps + pooled * g.poolColumns * g.maps + 2 * shared * g.inputRowSize)
    }

    public func stepSeconds(parts: Int, gigabitsPerSecond: Double) -> Double {
        computeSeconds / Double(parts) + (parts > 1 ? bytes(parts: parts) * 8 / (gigabitsPerSecond * 1e9) + 4 * latencySeconds : 0)
    }

    public func speedup(parts: Int, gigabitsPerSecond: Double) -> Double {
        computeSeconds / stepSeconds(parts: parts, gigabitsPerSecond: gigabitsPerSecond)
    }

    /// A Markdown table: per P, the bytes a part sends and the speedup over one machine on each link.
    public func table(parts: [Int] = [1, 2, 4, 8, 16, 32, 64], links: [Double] = [1, 10]) -> String {
        var lines = ["| parts | MB sent per part and step | " + links.map { String(format: "speedup, %g Gbit/s", $0) }.joined(separator: " | ") + " |",
                     "|---|---|" + links.map { _ in "---|" }.joined()]
        for p in parts {
            lines.append(String(format: "| %d | %.2f | ", p, bytes(parts: p) / 1e6)
                         + links.map { String(format: "%.1fx", speedup(parts: p, gigabitsPerSecond: $0)) }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// The first stage of Le et al. (2012): 200x200 color images, 18x18 fields, 8 maps at every position, L2 pools of 5, LCN of 5.
    public static let leEtAl = LocalStageGeometry(input: ImageGeometry(height: 200, width: 200, channels: 3, layout: .interleaved),
                                                  field: 18, stride: 1, maps: 8, poolSize: 5, poolStride: 1, normalizationSize: 5)
}
