import StrataCore

/// The window and stride of patch extraction.
///
/// Per axis there are `(imageSize - window) / stride + 1` positions (no
/// padding), as in pylearn2's `ExtractGridPatches`. A patch is a row of
/// `windowHeight * windowWidth * channels` values, channel-planar (all of
/// channel 0, then channel 1, ...; within a channel row-major), the layout
/// the weight viewer reads.
public struct PatchShape: Equatable, Sendable, CustomStringConvertible {
    public var windowHeight: Int
    public var windowWidth: Int
    public var strideY: Int
    public var strideX: Int

    public init(window: (height: Int, width: Int), stride: (y: Int, x: Int)) {
        (windowHeight, windowWidth, strideY, strideX) = (window.height, window.width, stride.y, stride.x)
    }

    /// A square window with the same stride on both axes.
    public init(window: Int, stride: Int = 1) {
        self.init(window: (window, window), stride: (stride, stride))
    }

    public var description: String { "\(windowHeight)x\(windowWidth) window, stride \(strideY)x\(strideX)" }

    /// Checks the window fits `image` and the strides are positive.
    public func validate(for image: ImageGeometry) throws {
        guard windowHeight > 0, windowWidth > 0 else {
            throw StrataError.invalidArgument(name: "window", reason: "\(windowHeight)x\(windowWidth): both sides must be positive")
        }
        guard strideY > 0, strideX > 0 else {
            throw StrataError.invalidArgument(name: "stride", reason: "\(strideY)x\(strideX): strides must be positive (1 visits every position)")
        }
        guard windowHeight <= image.height, windowWidth <= image.width else {
            throw StrataError.invalidArgument(name: "window", reason: "\(windowHeight)x\(windowWidth) is larger than the \(image.height)x\(image.width) images")
        }
    }

    /// Positions per image along each axis.
    public func positions(in image: ImageGeometry) -> (rows: Int, columns: Int) {
        ((image.height - windowHeight) / strideY + 1, (image.width - windowWidth) / strideX + 1)
    }

    /// Values per patch for images with `channels` channels.
    public func patchSize(channels: Int) -> Int { windowHeight * windowWidth * channels }

    /// The geometry of one patch (planar), for viewing patches or filters.
    public func patchGeometry(channels: Int) -> ImageGeometry {
        ImageGeometry(height: windowHeight, width: windowWidth, channels: channels, layout: .planar)
    }
}

/// Where a patch came from: its image and the top-left corner of its window.
public struct PatchPosition: Equatable, Sendable {
    public var image: Int
    public var row: Int
    public var column: Int
}

/// Copies the patch of `image` (planar or interleaved pixels) with top-left
/// corner `(top, left)` into `out`, channel-planar.
@inline(__always)
package func copyPatch(from image: UnsafePointer<Float>, geometry: ImageGeometry, top: Int, left: Int,
               height: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
    let plane = geometry.height * geometry.width
    var o = 0
    for c in 0 ..< geometry.channels {
        for y in 0 ..< height {
            let rowStart = (top + y) * geometry.width + left
            if geometry.layout == .planar || geometry.channels == 1 {
                (out + o).update(from: image + c * plane + rowStart, count: width)
            } else {
                for x in 0 ..< width { out[o + x] = image[(rowStart + x) * geometry.channels + c] }
            }
            o += width
        }
    }
}

/// Patch extraction: every sliding-window position (streamed in batches),
/// random positions, and reassembly of grid patches into images.
public enum PatchExtractor {
    /// Calls `body` with successive batches of the sliding-window patches of
    /// `images`, `imagesPerBatch` images at a time, in the order image, row,
    /// column (column fastest). Each batch's patches are a
    /// `(images in batch * positions, patch size)` tensor with the position of
    /// each row. Only one batch is in memory at a time; both cores extract.
    public static func forEachBatch(of images: Tensor, geometry: ImageGeometry, shape: PatchShape,
                                    imagesPerBatch: Int = 512,
                                    _ body: (_ patches: Tensor, _ positions: [PatchPosition]) throws -> Void) throws {
        try shape.validate(for: geometry)
        guard images.columns == geometry.size else {
            throw StrataError.shapeMismatch(context: "images of \(geometry)", expected: [images.rows, geometry.size], found: images.shape)
        }
        guard imagesPerBatch > 0 else { throw StrataError.invalidArgument(name: "imagesPerBatch", reason: "must be positive") }
        let (rows, columns) = shape.positions(in: geometry)
        let perImage = rows * columns
        let size = shape.patchSize(channels: geometry.channels)
        var start = 0
        while start < images.rows {
            let end = min(start + imagesPerBatch, images.rows)
            let batch = Tensor(shape: [(end - start) * perImage, size]) { out in
                images.withUnsafeBufferPointer { src in
                    parallelChunks(end - start, minimumChunk: 16) { chunk in
                        for local in chunk {
                            let image = src.baseAddress! + (start + local) * geometry.size
                            for r in 0 ..< rows {
                                for c in 0 ..< columns {
                                    let target = out.baseAddress! + ((local * rows + r) * columns + c) * size
                                    copyPatch(from: image, geometry: geometry, top: r * shape.strideY, left: c * shape.strideX,
                                              height: shape.windowHeight, width: shape.windowWidth, into: target)
                                }
                            }
                        }
                    }
                }
            }
            var positions: [PatchPosition] = []
            positions.reserveCapacity(batch.rows)
            for i in start ..< end {
                for r in 0 ..< rows { for c in 0 ..< columns { positions.append(PatchPosition(image: i, row: r * shape.strideY, column: c * shape.strideX)) } }
            }
            try body(batch, positions)
            start = end
        }
    }

    /// All sliding-window patches of `images` as one tensor (for data that fits in memory).
    public static func slidingWindow(_ images: Tensor, geometry: ImageGeometry, shape: PatchShape) throws -> Tensor {
        var parts: [Float] = []
        var count = 0
        try forEachBatch(of: images, geometry: geometry, shape: shape) { patches, _ in
            parts.append(contentsOf: patches.scalars)
            count += patches.rows
        }
        return Tensor(shape: [count, shape.patchSize(channels: geometry.channels)], scalars: parts)
    }

    /// `count` patches at uniformly random images and positions (pylearn2's
    /// `ExtractPatches`): each draws an image, then a top-left corner in
    /// `[0, height - window] x [0, width - window]`.
    public static func random(_ images: Tensor, geometry: ImageGeometry, window: (height: Int, width: Int),
                              count: Int, using random: inout RandomSource) throws -> (patches: Tensor, positions: [PatchPosition]) {
        let shape = PatchShape(window: window, stride: (1, 1))
        try shape.validate(for: geometry)
        guard count > 0 else { throw StrataError.invalidArgument(name: "patch count", reason: "\(count): at least one patch is needed") }
        guard images.rows > 0 else { throw StrataError.invalidArgument(name: "images", reason: "there are no images to draw patches from") }
        let size = shape.patchSize(channels: geometry.channels)
        let positions = randomPositions(count: count, images: images.rows, geometry: geometry, window: window, using: &random)
        let patches = Tensor(shape: [count, size]) { out in
            images.withUnsafeBufferPointer { src in
                for (i, p) in positions.enumerated() {
                    copyPatch(from: src.baseAddress! + p.image * geometry.size, geometry: geometry, top: p.row, left: p.column,
                              height: window.height, width: window.width, into: out.baseAddress! + i * size)
                }
            }
        }
        return (patches, positions)
    }

    /// Where ``random(_:geometry:window:count:using:)`` takes its `count`
    /// windows among `images` images, without the images: for a caller that
    /// makes the images part by part (a lower stage's maps).
    public static func randomPositions(count: Int, images: Int, geometry: ImageGeometry, window: (height: Int, width: Int),
                                       using random: inout RandomSource) -> [PatchPosition] {
        (0 ..< count).map { _ in
            let image = Int(random.next() % UInt64(images))
            let top = Int(random.next() % UInt64(geometry.height - window.height + 1))
            let left = Int(random.next() % UInt64(geometry.width - window.width + 1))
            return PatchPosition(image: image, row: top, column: left)
        }
    }

    /// Rebuilds images from their sliding-window patches (pylearn2's
    /// `ReassembleGridPatches`), the inverse of extraction: exact when the
    /// stride equals the window; where windows overlap, the overlapping values
    /// are averaged; pixels no window covers are zero.
    /// - Returns: `(imageCount, geometry.size)`, in `geometry`'s layout.
    public static func reassemble(_ patches: Tensor, geometry: ImageGeometry, shape: PatchShape) throws -> Tensor {
        try shape.validate(for: geometry)
        let (rows, columns) = shape.positions(in: geometry)
        let perImage = rows * columns
        let size = shape.patchSize(channels: geometry.channels)
        guard patches.columns == size, patches.rows % perImage == 0 else {
            throw StrataError.shapeMismatch(context: "patches of \(shape) on \(geometry) images (\(perImage) per image)",
                                            expected: [perImage * max(1, patches.rows / perImage), size], found: patches.shape)
        }
        let imageCount = patches.rows / perImage
        var images = Tensor(zeros: [imageCount, geometry.size])
        var coverage = [Float](repeating: 0, count: geometry.size)
        let plane = geometry.height * geometry.width
        func index(_ c: Int, _ y: Int, _ x: Int) -> Int {
            geometry.layout == .planar || geometry.channels == 1 ? c * plane + y * geometry.width + x : (y * geometry.width + x) * geometry.channels + c
        }
        for r in 0 ..< rows {
            for col in 0 ..< columns {
                for c in 0 ..< geometry.channels {
                    for y in 0 ..< shape.windowHeight {
                        for x in 0 ..< shape.windowWidth { coverage[index(c, r * shape.strideY + y, col * shape.strideX + x)] += 1 }
                    }
                }
            }
        }
        patches.withUnsafeBufferPointer { src in
            images.withUnsafeMutableBufferPointer { dst in
                for i in 0 ..< imageCount {
                    let image = dst.baseAddress! + i * geometry.size
                    for r in 0 ..< rows {
                        for col in 0 ..< columns {
                            let patch = src.baseAddress! + ((i * rows + r) * columns + col) * size
                            var o = 0
                            for c in 0 ..< geometry.channels {
                                for y in 0 ..< shape.windowHeight {
                                    for x in 0 ..< shape.windowWidth {
                                        image[index(c, r * shape.strideY + y, col * shape.strideX + x)] += patch[o]
                                        o += 1
                                    }
                                }
                            }
                        }
                    }
                    for j in 0 ..< geometry.size where coverage[j] > 1 { image[j] /= coverage[j] }
                }
            }
        }
        return images
    }
}
