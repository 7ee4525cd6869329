import StrataCore

/// Each image's channels moved from planes (all of channel 0, then 1, ...:
/// CIFAR-10's layout) to interleaved pixels (`r g b` of each pixel in turn),
/// as a layer that reads a pixel's neighbourhood with all its channels
/// (a ``LocalFeatureStage``) takes them. Stateless: a permutation of the
/// columns, fixed by the image's height, width and channels.
public struct ChannelInterleave: Preprocessor, Equatable {
    public static let kind = "interleave_channels"
    public let height: Int, width: Int, channels: Int

    /// The permutation of `height x width` images of `channels` planes.
    public init(height: Int, width: Int, channels: Int) {
        (self.height, self.width, self.channels) = (height, width, channels)
    }

    public var isFitted: Bool { true }
    public mutating func fit(_ data: Tensor) throws {}

    /// Values per image.
    public var size: Int { height * width * channels }

    /// For each interleaved value, the planar column it is read from.
    public var sourceColumns: [Int] {
        let plane = height * width
        return (0 ..< size).map { ($0 % channels) * plane + $0 / channels }
    }

    public func transform(_ data: inout Tensor) throws {
        guard data.columns == size else {
            throw StrataError.shapeMismatch(context: "\(Self.kind) of \(height)x\(width) images of \(channels) channels",
                                            expected: [data.rows, size], found: data.shape)
        }
        guard channels > 1 else { return }
        // In place, one image at a time through a scratch row: no copy of the whole batch.
        let (rows, size, plane, channels) = (data.rows, size, height * width, channels)
        let row = UnsafeMutableBufferPointer<Float>.allocate(capacity: size)
        defer { row.deallocate() }
        data.withUnsafeMutableBufferPointer { v in
            for e in 0 ..< rows {
                let image = v.baseAddress! + e * size
                row.baseAddress!.update(from: image, count: size)
                for p in 0 ..< plane { for c in 0 ..< channels { image[p * channels + c] = row[c * plane + p] } }
            }
        }
    }

    public var settings: [String: Double] { ["height": Double(height), "width": Double(width), "channels": Double(channels)] }
    public var state: [String: Tensor] { [:] }

    public init(settings: [String: Double], state: [String: Tensor]) throws {
        let range = 1 ... 1 << 16
        self.init(height: try countSetting(settings, "height", kind: Self.kind, in: range), width: try countSetting(settings, "width", kind: Self.kind, in: range),
                  channels: try countSetting(settings, "channels", kind: Self.kind, in: 1 ... 64))
    }
}
