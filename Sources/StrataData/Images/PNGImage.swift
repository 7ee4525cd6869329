import CPNG
import Foundation
import StrataCore

/// An 8-bit image with 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA)
/// interleaved channels, read and written through libpng.
public struct PNGImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// `height * width * channels` bytes, row by row, channels interleaved.
    public var pixels: [UInt8]

    /// An image over `pixels`.
    /// - Precondition: `channels` is 1...4 and `pixels.count == width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition((1 ... 4).contains(channels), "a PNG image has 1 to 4 channels, not \(channels)")
        precondition(width > 0 && height > 0, "an image is at least 1x1")
        precondition(pixels.count == width * height * channels, "\(width)x\(height)x\(channels) needs \(width * height * channels) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image of one color, `value` repeated for every pixel and channel.
    public init(width: Int, height: Int, channels: Int, filledWith value: UInt8) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: value, count: width * height * channels))
    }

    private static func format(forChannels channels: Int) -> UInt32 {
        // libpng's PNG_FORMAT_GRAY, _GA, _RGB, _RGBA.
        [0, 1, 2, 3][channels - 1]
    }

    /// Reads a PNG file. 16-bit files are reduced to 8 bits and palette files
    /// expanded; the channel count follows the file (gray, gray + alpha, RGB, RGBA).
    public static func read(_ path: String) throws -> PNGImage {
        try decode(readWholeFile(path), path: path)
    }

    /// Decodes a PNG file's bytes, checking the dimensions against
    /// ``Limits/maxImageSide`` before allocating. `path` names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> PNGImage {
        guard data.count >= 8, [UInt8](data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw StrataError.badMagic(path: path, expected: "the PNG signature 89 50 4e 47", found: hexPrefix(data))
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let began = data.withUnsafeBytes { raw in
            png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard began != 0 else { throw StrataError.corrupt(path: path, offset: nil, reason: "libpng: \(message(of: &image))") }
        defer { png_image_free(&image) }
        let color = image.format & 0x02 != 0
        let alpha = image.format & 0x01 != 0
        let channels = (color ? 3 : 1) + (alpha ? 1 : 0)
        image.format = format(forChannels: channels)
        let (width, height) = (Int(image.width), Int(image.height))
        try Limits.checkImage(width: width, height: height, path: path)
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let finished = pixels.withUnsafeMutableBytes { out in
            // Keep the source bytes alive while libpng finishes decoding.
            data.withUnsafeBytes { _ in
                png_image_finish_read(&image, nil, out.baseAddress, Int32(width * channels), nil)
            }
        }
        guard finished != 0 else {
            throw StrataError.corrupt(path: path, offset: nil, reason: "libpng: \(message(of: &image)) (truncated or damaged file?)")
        }
        return PNGImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// The PNG file's bytes for this image.
    public func encoded() throws -> Data {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = Self.format(forChannels: channels)
        var size = 0
        let stride = Int32(width * channels)
        let probe = pixels.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }
        guard probe != 0, size > 0 else {
            throw StrataError.io(path: "<png>", reason: "libpng could not encode the image: \(Self.message(of: &image))")
        }
        var output = Data(count: size)
        let written = output.withUnsafeMutableBytes { out in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, out.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        guard written != 0 else {
            throw StrataError.io(path: "<png>", reason: "libpng could not encode the image: \(Self.message(of: &image))")
        }
        output.count = size
        return output
    }

    /// Writes the image as a PNG file, atomically (a viewer never sees half a file).
    public func write(to path: String) throws {
        do {
            try AtomicFile.write(encoded(), to: path)
        } catch StrataError.io(path: "<png>", let reason) {
            throw StrataError.io(path: path, reason: reason)
        }
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
