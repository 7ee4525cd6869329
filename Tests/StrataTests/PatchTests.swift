import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

@Suite struct PatchTests {
    /// A 1-image 4x5 gray picture whose pixel (y, x) is 10 y + x.
    let image = Tensor(shape: [1, 20], scalars: (0 ..< 4).flatMap { y in (0 ..< 5).map { x in Float(10 * y + x) } })
    let gray = ImageGeometry(height: 4, width: 5)

    @Test func slidingWindowCountOrderAndContent() throws {
        // Window 2x3, stride 2x1: rows (4-2)/2+1 = 2, columns (5-3)/1+1 = 3.
        let shape = PatchShape(window: (2, 3), stride: (2, 1))
        #expect(shape.positions(in: gray) == (2, 3))
        var batches: [(Tensor, [PatchPosition])] = []
        try PatchExtractor.forEachBatch(of: image, geometry: gray, shape: shape) { batches.append(($0, $1)) }
        let (patches, positions) = batches[0]
        #expect(patches.shape == [6, 6])
        #expect(positions.map { [$0.row, $0.column] } == [[0, 0], [0, 1], [0, 2], [2, 0], [2, 1], [2, 2]])
        // Patch 4 (row 2, column 1): pixels (2,1) (2,2) (2,3) / (3,1) (3,2) (3,3).
        #expect(Array(patches.scalars[24 ..< 30]) == [21, 22, 23, 31, 32, 33])
    }

    @Test func streamsInBoundedBatches() throws {
        let images = Tensor(shape: [5, 20], scalars: (0 ..< 100).map(Float.init))
        var sizes: [Int] = [], firstImages: [Int] = []
        try PatchExtractor.forEachBatch(of: images, geometry: gray, shape: PatchShape(window: 2, stride: 2), imagesPerBatch: 2) { p, pos in
            sizes.append(p.rows); firstImages.append(pos[0].image)
        }
        #expect(sizes == [8, 8, 4] && firstImages == [0, 2, 4])
    }

    @Test func colorPatchesArePlanarFromPlanarAndInterleavedImages() throws {
        // 2x2 RGB image, planar: R = 0..3, G = 10..13, B = 20..23.
        let planar = Tensor(shape: [1, 12], scalars: [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23])
        let geometry = ImageGeometry(height: 2, width: 2, channels: 3, layout: .planar)
        let p = try PatchExtractor.slidingWindow(planar, geometry: geometry, shape: PatchShape(window: (1, 2), stride: (1, 1)))
        #expect(p.scalars == [0, 1, 10, 11, 20, 21, 2, 3, 12, 13, 22, 23])
        let interleaved = Tensor(shape: [1, 12], scalars: [0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23])
        var g2 = geometry
        g2.layout = .interleaved
        #expect(try PatchExtractor.slidingWindow(interleaved, geometry: g2, shape: PatchShape(window: (1, 2), stride: (1, 1))) == p)
    }

    @Test func reassemblyRoundTrip() throws {
        var random = RandomSource(seed: 3)
        let images = Tensor.uniform(shape: [3, 6 * 6 * 3], using: &random)
        let geometry = ImageGeometry(height: 6, width: 6, channels: 3)
        let exact = PatchShape(window: 3, stride: 3)
        let grid = try PatchExtractor.slidingWindow(images, geometry: geometry, shape: exact)
        #expect(try PatchExtractor.reassemble(grid, geometry: geometry, shape: exact) == images)
        // Overlapping windows average identical copies, so they also reproduce the image.
        let overlapping = PatchShape(window: 4, stride: 2)
        let dense = try PatchExtractor.slidingWindow(images, geometry: geometry, shape: overlapping)
        #expect(maxDifference(try PatchExtractor.reassemble(dense, geometry: geometry, shape: overlapping), images) < 1e-6)
    }

    @Test func randomPatchesAreSeededAndInBounds() throws {
        var a = RandomSource(seed: 5), b = RandomSource(seed: 5)
        let images = Tensor(shape: [3, 20], scalars: (0 ..< 60).map(Float.init))
        let (p1, pos) = try PatchExtractor.random(images, geometry: gray, window: (2, 2), count: 50, using: &a)
        let (p2, _) = try PatchExtractor.random(images, geometry: gray, window: (2, 2), count: 50, using: &b)
        #expect(p1 == p2)
        #expect(pos.allSatisfy { $0.row <= 2 && $0.column <= 3 && $0.image < 3 })
        #expect(Set(pos.map(\.image)).count == 3)
        let first = pos[0]
        #expect(p1[0, 0] == images[first.image, first.row * 5 + first.column])
    }

    @Test func badWindowsStridesAndCountsAreRefused() {
        let cases: [(PatchShape, String)] = [(PatchShape(window: 5, stride: 1), "window"), (PatchShape(window: 2, stride: 0), "stride"),
                                             (PatchShape(window: (2, 2), stride: (1, -1)), "stride")]
        for (shape, name) in cases {
            guard case .invalidArgument(let n, let reason)? = strataError({ _ = try PatchExtractor.slidingWindow(image, geometry: gray, shape: shape) }) else {
                Issue.record("\(shape) accepted"); continue
            }
            #expect(n == name && !reason.isEmpty)
        }
        var random = RandomSource(seed: 1)
        guard case .invalidArgument("patch count", _)? = strataError({ _ = try PatchExtractor.random(image, geometry: gray, window: (2, 2), count: 0, using: &random) }) else {
            Issue.record("zero count accepted"); return
        }
    }
}
