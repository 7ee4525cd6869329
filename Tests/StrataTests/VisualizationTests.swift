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

@Suite struct TileGridTests {
    /// The expected canvas built directly from pylearn2's patch-viewer rules
    /// (ANCHORS.md section 3), independently of TileGrid's loops.
    func expectedCanvas(_ tiles: [[Float]], height ph: Int, width pw: Int) -> [UInt8] {
        var side = 0
        while side * side < tiles.count { side += 1 }
        let (h, w) = (5 * (side + 1) + side * ph, 5 * (side + 1) + side * pw)
        var canvas = [UInt8](repeating: UInt8(0.5 * 255), count: h * w * 3) // 127
        for (t, tile) in tiles.enumerated() {
            let (r, c) = (t / side, t % side)
            let scale = tile.map { abs($0) }.max()!
            for y in 0 ..< ph {
                for x in 0 ..< pw {
                    let v = tile[y * pw + x] / (scale == 0 ? 1 : scale)
                    let byte = UInt8((0.5 * v + 0.5) * 255)
                    let offset = ((5 + r * (ph + 5) + y) * w + 5 + c * (pw + 5) + x) * 3
                    canvas[offset] = byte; canvas[offset + 1] = byte; canvas[offset + 2] = byte
                }
            }
        }
        return canvas
    }

    @Test func matchesPylearn2LayoutPixelForPixel() throws {
        // 5 filters of 2x3: a 3x3 grid with 4 empty cells, 5*4 + 3*2 = 26 px high, 5*4 + 3*3 = 29 px wide.
        let tiles: [[Float]] = [[1, -1, 0.5, 0, 0.25, -0.5], [2, 2, 2, 2, 2, 2], [0, 0, 0, 0, 0, 0],
                                [-3, 1, 0, 0, 0, 3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]]
        let image = try TileGrid().render(Tensor(shape: [5, 6], scalars: tiles.flatMap { $0 }),
                                          geometry: ImageGeometry(height: 2, width: 3))
        #expect(image.height == 26 && image.width == 29 && image.channels == 3)
        #expect(image.pixels == expectedCanvas(tiles, height: 2, width: 3))
        #expect(image.pixels[0] == 127)
    }

    @Test func quickStartCanvasIs265Square() throws {
        let image = try TileGrid().render(Tensor(zeros: [400, 192]), geometry: ImageGeometry(height: 8, width: 8, channels: 3))
        #expect(image.width == 265 && image.height == 265)
    }

    @Test func colorTilesReadPlanarChannels() throws {
        // One 1x2 RGB tile, planar: R = (1, 0), G = (0, -1), B = (0, 0); its max |v| is 1.
        let image = try TileGrid(rescale: .none).render(Tensor(shape: [1, 6], scalars: [1, 0, 0, -1, 0, 0]),
                                                        geometry: ImageGeometry(height: 1, width: 2, channels: 3))
        let first = ((5 * image.width) + 5) * 3
        #expect(Array(image.pixels[first ..< first + 6]) == [255, 127, 127, 127, 0, 127])
    }
}

@Suite struct MD5Tests {
    @Test func knownDigests() {
        #expect(MD5.hex(Data()) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Data("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(Data(String(repeating: "1234567890", count: 8).utf8)) == "57edf4a22be3c955ac49da2e2107b67a")
    }
}
