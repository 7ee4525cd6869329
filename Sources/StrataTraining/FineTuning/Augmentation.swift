import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Data augmentation during fine-tuning, drawn afresh for every minibatch
/// (no stored copies) from the run's seeded random stream: random horizontal
/// flips (off by default: a user turns them on for data where a mirrored image
/// keeps its label) and random translations by up to `shift` pixels in each
/// direction, the uncovered border filled with zeros or by repeating the edge.
/// The images are augmented before the network's preprocessing, which is then
/// applied to the batch, so a whitened or normalized network sees what it
/// would see for a shifted photograph.
public struct Augmentation: Codable, Equatable, Sendable {
    /// How the pixels a translation uncovers are filled.
    public enum Padding: String, Codable, CaseIterable, Sendable { case zero, edge }

    /// Mirror each image left-right with probability 1/2.
    public var flip = false
    /// Translate each image by a whole number of pixels drawn uniformly from -shift...shift, vertically and horizontally.
    public var shift = 0
    public var padding: Padding = .zero

    public init(flip: Bool = false, shift: Int = 0, padding: Padding = .zero) {
        (self.flip, self.shift, self.padding) = (flip, shift, padding)
    }

    /// Whether anything is changed.
    public var isActive: Bool { flip || shift > 0 }

    /// `(padding)`: `zero` or `edge`.
    public static func padding(parsing text: String) throws -> Padding {
        Padding(rawValue: try parseChoice(text, Padding.allCases.map(\.rawValue)))!
    }

    /// Augments every row of `images` (`(n, geometry.size)`, laid out as
    /// `geometry` says) in place, drawing from `random`.
    /// With `examples`, image i's flip and shift come from its own stream
    /// (``ExampleStreams``), as data-parallel ranks need; else from `random`.
    public func apply(_ images: inout Tensor, geometry: ImageGeometry, random: inout RandomSource, examples: ExampleStreams? = nil) {
        guard isActive else { return }
        let (h, w, c) = (geometry.height, geometry.width, geometry.channels)
        var source = [Float](repeating: 0, count: geometry.size)
        // The offset of pixel (y, x) of channel k inside a row.
        let planar = geometry.layout == .planar || c == 1
        func index(_ y: Int, _ x: Int, _ k: Int) -> Int { planar ? (k * h + y) * w + x : (y * w + x) * c + k }
        let rows = images.rows
        images.withUnsafeMutableBufferPointer { p in
            let (flip, shift) = (self.flip, self.shift)
            func draw(_ random: inout RandomSource) -> (mirror: Bool, dy: Int, dx: Int) {
                let mirror = flip && random.nextUnitFloat() < 0.5
                let choices = UInt64(2 * shift + 1)
                let dy = shift > 0 ? Int(random.next() % choices) - shift : 0
                let dx = shift > 0 ? Int(random.next() % choices) - shift : 0
                return (mirror, dy, dx)
            }
            for row in 0 ..< rows {
                var own = examples?.stream(row: row, site: 50)
                let (mirror, dy, dx) = own != nil ? draw(&own!) : draw(&random)
                guard mirror || dy != 0 || dx != 0 else { continue }
                let base = row * geometry.size
                for i in 0 ..< geometry.size { source[i] = p[base + i] }
                for k in 0 ..< c {
                    for y in 0 ..< h {
                        for x in 0 ..< w {
                            // Output (y, x) reads input (y - dy, x' - dx), x' mirrored first.
                            var sy = y - dy, sx = (mirror ? w - 1 - x : x) - dx
                            if sy < 0 || sy >= h || sx < 0 || sx >= w {
                                guard padding == .edge else { p[base + index(y, x, k)] = 0; continue }
                                (sy, sx) = (min(max(sy, 0), h - 1), min(max(sx, 0), w - 1))
                            }
                            p[base + index(y, x, k)] = source[index(sy, sx, k)]
                        }
                    }
                }
            }
        }
    }
}
