import StrataCore

/// How the channels of a color image are ordered inside one example's row.
public enum ChannelLayout: String, Codable, Sendable {
    /// All of channel 0 (red), then all of channel 1, then channel 2: CIFAR-10's
    /// file order and pylearn2's patch order. Strata's loaders produce this.
    case planar
    /// Pixel by pixel, the channels of each pixel together (PNG's order).
    case interleaved
}

/// The image shape behind each example's row of pixels.
public struct ImageGeometry: Equatable, Codable, Sendable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public var channels: Int
    public var layout: ChannelLayout

    public init(height: Int, width: Int, channels: Int = 1, layout: ChannelLayout = .planar) {
        self.height = height
        self.width = width
        self.channels = channels
        self.layout = layout
    }

    /// Values per example: `height * width * channels`.
    public var size: Int { height * width * channels }

    /// A geometry read from a file: each side in 1...``Limits/maxImageSide``,
    /// channels at least 1 and the values per image within
    /// ``Limits/maxTensorElements``, so that no size computed from it overflows.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let (height, width, channels) = (try c.decode(Int.self, forKey: .height), try c.decode(Int.self, forKey: .width), try c.decode(Int.self, forKey: .channels))
        self.init(height: height, width: width, channels: channels, layout: try c.decode(ChannelLayout.self, forKey: .layout))
        for (value, key) in [(height, CodingKeys.height), (width, .width)] where !(1 ... Limits.maxImageSide).contains(value) {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "an image side must lie in 1...\(Limits.maxImageSide), found \(value)")
        }
        guard channels >= 1, let size = Limits.product([height, width, channels]), size <= Limits.maxTensorElements else {
            throw DecodingError.dataCorruptedError(forKey: .channels, in: c, debugDescription: "\(channels) channels of \(height)x\(width) is not a valid image size")
        }
    }

    enum CodingKeys: String, CodingKey { case height, width, channels, layout }

    public var description: String {
        channels == 1 ? "\(height)x\(width) gray" : "\(height)x\(width)x\(channels) \(layout.rawValue)"
    }
}

/// Examples with optional labels, class names and image geometry.
///
/// `examples` is `(count, features)`, one example per row. For image data the
/// features are the pixels in the order ``ImageGeometry`` describes.
public struct Dataset: Sendable {
    /// A short name for messages and reports (for example "fashion-mnist/train").
    public var name: String
    /// `(count, features)`.
    public var examples: Tensor
    /// One integer class per example, when the data is labeled.
    public var labels: [Int]?
    /// The name of each class index, when known.
    public var classNames: [String]?
    /// The image shape of each example, when the examples are images.
    public var geometry: ImageGeometry?

    /// A dataset, validated: labels and geometry must agree with `examples`.
    public init(name: String, examples: Tensor, labels: [Int]? = nil,
                classNames: [String]? = nil, geometry: ImageGeometry? = nil) throws {
        if let labels, labels.count != examples.rows {
            throw StrataError.shapeMismatch(context: "\(name): labels", expected: [examples.rows], found: [labels.count])
        }
        if let geometry, geometry.size != examples.columns {
            throw StrataError.shapeMismatch(context: "\(name): image geometry \(geometry)",
                                            expected: [geometry.size], found: [examples.columns])
        }
        if let labels, let classNames, let bad = labels.first(where: { $0 < 0 || $0 >= classNames.count }) {
            throw StrataError.invalidArgument(name: "\(name) labels", reason: "label \(bad) is outside the \(classNames.count) classes")
        }
        self.name = name
        self.examples = examples
        self.labels = labels
        self.classNames = classNames
        self.geometry = geometry
    }

    /// The number of examples.
    public var count: Int { examples.rows }
    /// The number of values per example.
    public var featureCount: Int { examples.columns }

    /// The first `count` examples (or all, if there are fewer).
    public func prefix(_ count: Int) -> Dataset {
        let n = min(max(count, 0), self.count)
        var copy = self
        copy.examples = examples.rows(0 ..< n)
        copy.labels = labels.map { Array($0.prefix(n)) }
        return copy
    }

    /// Examples `range`, with their labels.
    public func subset(_ range: Range<Int>) -> Dataset {
        var copy = self
        copy.examples = examples.rows(range)
        copy.labels = labels.map { Array($0[range]) }
        return copy
    }
}
