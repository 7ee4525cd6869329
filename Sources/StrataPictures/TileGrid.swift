import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

/// Lays out many small images (filters or examples) as one grid picture,
/// following pylearn2's patch viewer (`pylearn2/gui/patch_viewer.py`) exactly:
///
/// - a square grid of `ceil(sqrt(n))` x `ceil(sqrt(n))` tiles (unless the
///   number of grid rows and columns is given), filled left to right, top to bottom;
/// - 5 pixels of padding around and between tiles, so the canvas is
///   `5 (rows + 1) + rows * tileHeight` high (width likewise);
/// - background gray 0.5; each value v shown as `0.5 v + 0.5` (0 is gray,
///   negative darker, positive lighter), stored as `UInt8(pixel * 255)`;
/// - an RGB canvas, always.
public struct TileGrid: Sendable {
    /// How tile values are brought into [-1, 1] before display.
    public enum Rescale: String, CaseIterable, Sendable {
        /// Each tile divided by its own largest |value| (pylearn2's default).
        case individual
        /// All tiles divided by the largest |value| of any tile.
        case global
        /// Values shown as they are; they must already lie in [-1, 1].
        case none
    }

    public var rescale: Rescale = .individual
    /// Draws a 1-pixel black frame just outside each tile.
    public var border = false
    /// Padding in pixels around and between tiles.
    public var padding = 5
    /// Grid rows and columns; nil for pylearn2's square grid.
    public var gridShape: (rows: Int, columns: Int)?
    /// Each tile pixel drawn as a `scale x scale` block.
    public var scale = 1

    public init(rescale: Rescale = .individual, border: Bool = false) {
        self.rescale = rescale
        self.border = border
    }

    /// The grid picture of `tiles`: one tile per row, each laid out by `geometry`
    /// (planar or interleaved channels; 1 or 3 channels).
    public func render(_ tiles: Tensor, geometry: ImageGeometry) throws -> PNGImage {
        guard tiles.columns == geometry.size else {
            throw StrataError.shapeMismatch(context: "tiles of \(geometry)", expected: [tiles.rows, geometry.size], found: [tiles.rows, tiles.columns])
        }
        guard geometry.channels == 1 || geometry.channels == 3 else {
            throw StrataError.invalidArgument(name: "channels", reason: "tiles are gray (1) or color (3), not \(geometry.channels)")
        }
        let n = tiles.rows
        guard n > 0 else { throw StrataError.invalidArgument(name: "tiles", reason: "there is nothing to show (0 tiles)") }
        var side = 1
        while side * side < n { side += 1 }
        let (gridRows, gridColumns) = gridShape ?? (side, side)
        guard gridRows * gridColumns >= n else {
            throw StrataError.invalidArgument(name: "grid", reason: "\(gridRows)x\(gridColumns) cells cannot hold \(n) tiles")
        }
        let (tileHeight, tileWidth) = (geometry.height * scale, geometry.width * scale)
        let height = padding * (gridRows + 1) + gridRows * tileHeight
        let width = padding * (gridColumns + 1) + gridColumns * tileWidth
        var canvas = PNGImage(width: width, height: height, channels: 3, filledWith: Self.byte(0.5))

        var globalMax: Float = 0
        if rescale == .global { globalMax = tiles.scalars.reduce(0) { max($0, abs($1)) } }
        let plane = geometry.height * geometry.width
        tiles.withUnsafeBufferPointer { values in
            for t in 0 ..< n {
                let tile = UnsafeBufferPointer(rebasing: values[(t * geometry.size) ..< ((t + 1) * geometry.size)])
                var divisor: Float = 1
                switch rescale {
                case .individual: divisor = tile.reduce(0) { max($0, abs($1)) }
                case .global: divisor = globalMax
                case .none: divisor = 1
                }
                if divisor == 0 { divisor = 1 }
                let top = padding + (t / gridColumns) * (tileHeight + padding)
                let left = padding + (t % gridColumns) * (tileWidth + padding)
                for y in 0 ..< tileHeight {
                    for x in 0 ..< tileWidth {
                        let p = (y / scale) * geometry.width + (x / scale)
                        let offset = ((top + y) * width + left + x) * 3
                        for c in 0 ..< 3 {
                            let channel = geometry.channels == 1 ? 0 : c
                            let index = geometry.layout == .planar ? channel * plane + p : p * geometry.channels + channel
                            canvas.pixels[offset + c] = Self.byte(0.5 * (tile[index] / divisor) + 0.5)
                        }
                    }
                }
                if border { drawFrame(&canvas, top: top - 1, left: left - 1, height: tileHeight + 2, width: tileWidth + 2) }
            }
        }
        return canvas
    }

    /// pylearn2's conversion: truncation of `pixel * 255`, pixel clipped to [0, 1].
    @inline(__always)
    static func byte(_ pixel: Float) -> UInt8 {
        UInt8(max(0, min(1, pixel)) * 255)
    }

    private func drawFrame(_ canvas: inout PNGImage, top: Int, left: Int, height: Int, width: Int) {
        func set(_ y: Int, _ x: Int) {
            guard y >= 0, x >= 0, y < canvas.height, x < canvas.width else { return }
            let offset = (y * canvas.width + x) * 3
            canvas.pixels[offset] = 0; canvas.pixels[offset + 1] = 0; canvas.pixels[offset + 2] = 0
        }
        for x in left ..< left + width { set(top, x); set(top + height - 1, x) }
        for y in top ..< top + height { set(y, left); set(y, left + width - 1) }
    }
}
