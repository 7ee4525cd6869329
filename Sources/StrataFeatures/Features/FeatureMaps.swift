import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension LowerStage {
    /// The lower stage's extractor on images of `geometry`, its stack read from
    /// ``stack``; it is the lower stage of `stagesAbove` others.
    func extractor(images geometry: ImageGeometry?, stagesAbove: Int) throws -> FeatureExtractor {
        guard stagesAbove < Self.maximumStages else {
            throw StrataError.invalidArgument(name: "lower stage", reason: "\(stack): more than \(Self.maximumStages) stages of feature maps (do the stacks' lower stages lead back to one another?)")
        }
        guard FileManager.default.fileExists(atPath: stack) else {
            throw StrataError.invalidArgument(name: "lower stage", reason: "\(stack) is missing: this stack was trained on the pooled maps of that stack, which its features need")
        }
        let extractor = try features.extractor(for: LayerStack.read(stack), images: geometry, stagesAbove: stagesAbove)
        guard extractor.mapGeometry != nil else {
            throw StrataError.invalidArgument(name: "lower stage", reason: "\(stack) was not trained on patches, so it has no feature maps")
        }
        return extractor
    }
}

/// Holds a lower stage's extractor inside a ``FeatureExtractor`` (a struct cannot hold its own type directly).
final class LowerExtractor: Sendable {
    let extractor: FeatureExtractor
    init(_ extractor: FeatureExtractor) { self.extractor = extractor }
}

extension FeatureExtractor {
    /// The geometry of this extractor's pooled maps seen as images: the
    /// pooling grid's cells as pixels, the features per position as
    /// interleaved channels. Nil without convolution.
    public var mapGeometry: ImageGeometry? {
        convolution.map { ImageGeometry(height: $0.pooling.gridRows, width: $0.pooling.gridColumns, channels: hiddenCount, layout: .interleaved) }
    }

    /// The extractor whose maps this one's convolution runs over; nil for a one-stage extractor.
    public var lowerStage: FeatureExtractor? { lower?.extractor }

    /// This extractor on the maps of `lower`: its convolution must run over
    /// images of `lower`'s ``mapGeometry``. With `alsoPooled`, the lower
    /// maps pooled again over that grid (whose sides divide the maps' sides;
    /// the lower stage's operation) follow this stage's features, as Coates
    /// and Ng (2011) classify on both layers' features.
    public func onMaps(of lower: FeatureExtractor, alsoPooled grid: Pooling? = nil) throws -> FeatureExtractor {
        guard let convolution, let geometry = lower.mapGeometry, let lowerPooling = lower.convolution?.pooling, convolution.image == geometry else {
            throw StrataError.shapeMismatch(context: "a stack on feature maps of \(lower.mapGeometry?.description ?? "no maps") (\(lower.summary))",
                                            expected: [lower.mapGeometry?.size ?? 0], found: [convolution?.image.size ?? stack.inputCount ?? 0])
        }
        var copy = self
        copy.lower = LowerExtractor(lower)
        if let grid {
            guard grid.gridRows >= 1, grid.gridColumns >= 1, lowerPooling.gridRows % grid.gridRows == 0, lowerPooling.gridColumns % grid.gridColumns == 0 else {
                throw StrataError.invalidArgument(name: "lower_pool", reason: "\(grid.gridRows)x\(grid.gridColumns) must divide the lower maps' \(lowerPooling.gridRows)x\(lowerPooling.gridColumns) grid")
            }
            copy.lowerPooling = Pooling(gridRows: grid.gridRows, gridColumns: grid.gridColumns, operation: lowerPooling.operation)
        }
        return copy
    }

    /// Values per raw example: the lower stage's input, the images' size, or the stack's input.
    public var inputCount: Int { lower?.extractor.inputCount ?? convolution?.image.size ?? stack.inputCount ?? 0 }

    /// Images per part of a two-stage extraction: about 512, a whole number of
    /// both stages' products (``imagesPerProduct``), so that parts start where products start.
    func imagesPerPart(below lower: FeatureExtractor) -> Int {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let (a, b) = (lower.imagesPerProduct, ownImagesPerProduct)
        let unit = a / gcd(a, b) * b
        return unit * max(1, 512 / unit)
    }

    /// Features of raw examples through the lower stage, then this one,
    /// ``imagesPerPart(below:)`` images at a time (the maps of one part in memory).
    func extractThroughLower(_ lower: FeatureExtractor, _ examples: Tensor, imagesPerBatch: Int, cores: Int, progress: ((Int) -> Void)?) throws -> Tensor {
        guard examples.columns == lower.inputCount else {
            throw StrataError.shapeMismatch(context: "images for two-stage features", expected: [examples.rows, lower.inputCount], found: examples.shape)
        }
        let imagesPerPart = imagesPerPart(below: lower)
        let (width, own) = (outputCount, ownOutputCount)
        let repooling = lowerPooling.map { Repooling(lower, grid: $0) }
        var out = Tensor(zeros: [examples.rows, width])
        for first in stride(from: 0, to: examples.rows, by: imagesPerPart) {
            let rows = first ..< min(first + imagesPerPart, examples.rows)
            let maps = try lower.extract(examples.rows(rows), imagesPerBatch: imagesPerBatch, cores: cores)
            let part = try extractOwn(maps, imagesPerBatch: imagesPerBatch, cores: cores)
            out.withUnsafeMutableBufferPointer { o in
                part.withUnsafeBufferPointer { p in
                    maps.withUnsafeBufferPointer { m in
                        for r in 0 ..< rows.count {
                            let target = o.baseAddress! + (first + r) * width
                            target.update(from: p.baseAddress! + r * own, count: own)
                            repooling?.apply(m.baseAddress! + r * maps.columns, into: target + own)
                        }
                    }
                }
            }
            progress?(rows.upperBound)
        }
        return out
    }
}

/// The lower maps (region-major cells of the lower stage's grid) pooled
/// again over a coarser grid whose sides divide theirs: each coarse cell
/// combines the fine cells it covers by the lower stage's operation (means
/// weighted by the positions behind each cell), which is the lower stage
/// pooled over that grid directly, up to rounding. Made once per extraction,
/// applied per image; the export builds its steps from the same plan.
package struct Repooling {
    let grid: Pooling
    package let hidden: Int
    /// The coarse cell of each fine cell.
    package let coarseOf: [Int]
    /// The positions behind each fine cell, and behind each coarse cell.
    package let fineCounts: [Float]
    package let coarseCounts: [Float]

    package init(_ lower: FeatureExtractor, grid: Pooling) {
        let fine = lower.convolution?.pooling ?? Pooling(gridRows: 1, gridColumns: 1)
        let (rowStep, columnStep) = (max(1, fine.gridRows / grid.gridRows), max(1, fine.gridColumns / grid.gridColumns))
        (self.grid, hidden) = (grid, lower.hiddenCount)
        coarseOf = (0 ..< fine.regions).map { ($0 / fine.gridColumns / rowStep) * grid.gridColumns + ($0 % fine.gridColumns) / columnStep }
        fineCounts = lower.convolution.map { Pooling.positionCounts(regionOf: $0.regionOfPositions, regions: fine.regions) } ?? [1]
        var coarse = [Float](repeating: 0, count: grid.regions)
        for (cell, count) in fineCounts.enumerated() { coarse[coarseOf[cell]] += count }
        coarseCounts = coarse
    }

    /// One image's maps `(fine cells * hidden)` into `target` `(grid.regions * hidden)`.
    func apply(_ maps: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>) {
        target.update(repeating: grid.operation == .max ? -.infinity : 0, count: grid.regions * hidden)
        for (cellIndex, coarse) in coarseOf.enumerated() {
            let (cell, out, weight) = (maps + cellIndex * hidden, target + coarse * hidden, fineCounts[cellIndex])
            switch grid.operation {
            case .sum: for j in 0 ..< hidden { out[j] += cell[j] }
            case .max: for j in 0 ..< hidden { out[j] = Swift.max(out[j], cell[j]) }
            case .l2: for j in 0 ..< hidden { out[j] += cell[j] * cell[j] }
            case .mean: for j in 0 ..< hidden { out[j] += cell[j] * weight }
            }
        }
        if grid.operation == .l2 { for k in 0 ..< grid.regions * hidden { target[k] = target[k].squareRoot() } }
        if grid.operation == .mean {
            for r in 0 ..< grid.regions { for j in 0 ..< hidden { target[r * hidden + j] /= coarseCounts[r] } }
        }
    }
}
