import Foundation
import StrataCore
import StrataData

/// How features are computed from a stack: per example through its layers,
/// or, for a stack trained on patches, convolutionally at every window
/// position with pooling (Coates, Lee and Ng 2011).
public struct FeatureSettings: Codable, Equatable, Sendable {
    /// Features from this layer (1 = the bottom; nil: the top).
    public var layer: Int?
    /// Window stride of convolutional extraction.
    public var stride = InputContract.Window(height: 1, width: 1)
    /// Pooling grid and operation (2x2 sum: the quadrants of Coates et al.).
    public var pooling = Pooling()
    public var encoding: Encoding = .hiddenMeans
    /// Images per extraction batch (bounds memory).
    public var imagesPerBatch = 16
    /// For a stack on another stack's maps: append those maps pooled again
    /// over this grid (its sides dividing theirs; their own operation). Nil: this stage's features only.
    public var lowerPool: Pooling?

    public init() {}

    public static let keys = ["layer", "stride", "pool", "pool_op", "encoding", "images_per_batch", "lower_pool"]

    public static func read(from s: SettingSource) throws -> FeatureSettings {
        var f = FeatureSettings()
        f.layer = try s.positive("layer", s.int)
        if let v = try s.value("stride", PairSetting.init(parsing:)) { f.stride = .init(height: v.first, width: v.second) }
        if let v = try s.value("pool", PairSetting.init(parsing:)) { (f.pooling.gridRows, f.pooling.gridColumns) = v.value }
        if let v = try s.value("pool_op", Pooling.Operation.init(parsing:)) { f.pooling.operation = v }
        if let v = try s.value("encoding", Encoding.init(parsing:)) { f.encoding = v }
        if let v = try s.positive("images_per_batch", s.int) { f.imagesPerBatch = v }
        if let v = try s.value("lower_pool", PairSetting.init(parsing:)) { f.lowerPool = Pooling(gridRows: v.first, gridColumns: v.second) }
        return f
    }
}

/// How hidden maps are pooled over space: the positions are split into a
/// `gridRows x gridColumns` grid of regions (2x2: the quadrants of Coates,
/// Lee and Ng 2011), and each hidden unit is summed, averaged, maxed or
/// L2-pooled (the square root of its sum of squares: Lp pooling with p = 2,
/// as in Hyvärinen's subspace models and Sermanet et al. 2012) over each region.
public struct Pooling: Codable, Equatable, Sendable {
    /// How a region's values are pooled: summed, averaged, their maximum, or `sqrt(sum of squares)`.
    public enum Operation: String, Codable, Sendable, CaseIterable { case sum, mean, max, l2 }
    public var gridRows = 2
    public var gridColumns = 2
    public var operation: Operation = .sum

    public init(gridRows: Int = 2, gridColumns: Int = 2, operation: Operation = .sum) {
        (self.gridRows, self.gridColumns, self.operation) = (gridRows, gridColumns, operation)
    }

    public var regions: Int { gridRows * gridColumns }

    /// A pooling read from a file: a grid of at least 1x1 and at most
    /// ``Limits/maxImageSide`` a side (a convolution's positions bound it further).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(gridRows: try c.decode(Int.self, forKey: .gridRows), gridColumns: try c.decode(Int.self, forKey: .gridColumns),
                  operation: try c.decode(Operation.self, forKey: .operation))
        guard (1 ... Limits.maxImageSide).contains(gridRows), (1 ... Limits.maxImageSide).contains(gridColumns) else {
            throw DecodingError.dataCorruptedError(forKey: .gridRows, in: c, debugDescription: "a pooling grid is at least 1x1 and at most \(Limits.maxImageSide) a side, found \(gridRows)x\(gridColumns)")
        }
    }

    enum CodingKeys: String, CodingKey { case gridRows, gridColumns, operation }

    /// The number of positions in each region, for averaging (`regionOf` gives each position's region).
    package static func positionCounts(regionOf: [Int], regions: Int) -> [Float] {
        var counts = [Float](repeating: 0, count: regions)
        for r in regionOf { counts[r] += 1 }
        return counts
    }
}

/// Applying a patch-trained stack at every window position of an image.
public struct Convolution: Codable, Equatable, Sendable {
    /// The images the features are computed from.
    public var image: ImageGeometry
    public var windowHeight: Int
    public var windowWidth: Int
    public var strideY: Int
    public var strideX: Int
    public var pooling: Pooling

    public init(image: ImageGeometry, window: (height: Int, width: Int), stride: (y: Int, x: Int), pooling: Pooling = Pooling()) {
        self.image = image
        (windowHeight, windowWidth, strideY, strideX) = (window.height, window.width, stride.y, stride.x)
        self.pooling = pooling
    }

    public var patchShape: PatchShape { PatchShape(window: (windowHeight, windowWidth), stride: (strideY, strideX)) }

    /// A convolution read from a file, checked as ``validate()`` checks one
    /// made here: its window and stride fit the image, its grid the positions.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(image: try c.decode(ImageGeometry.self, forKey: .image),
                  window: (try c.decode(Int.self, forKey: .windowHeight), try c.decode(Int.self, forKey: .windowWidth)),
                  stride: (try c.decode(Int.self, forKey: .strideY), try c.decode(Int.self, forKey: .strideX)),
                  pooling: try c.decode(Pooling.self, forKey: .pooling))
        do { try validate() } catch let error as StrataError {
            throw DecodingError.dataCorruptedError(forKey: .windowHeight, in: c, debugDescription: error.description)
        }
    }

    enum CodingKeys: String, CodingKey { case image, windowHeight, windowWidth, strideY, strideX, pooling }

    /// The pooling region of each window position (positions row-major, regions row-major over the grid).
    public var regionOfPositions: [Int] {
        let (mapRows, mapColumns) = patchShape.positions(in: image)
        return (0 ..< mapRows * mapColumns).map { p in
            (p / mapColumns) * pooling.gridRows / mapRows * pooling.gridColumns + (p % mapColumns) * pooling.gridColumns / mapColumns
        }
    }

    public func validate() throws {
        try patchShape.validate(for: image)
        let (rows, columns) = patchShape.positions(in: image)
        guard pooling.gridRows >= 1, pooling.gridColumns >= 1, pooling.gridRows <= rows, pooling.gridColumns <= columns else {
            throw StrataError.invalidArgument(name: "pooling grid", reason: "\(pooling.gridRows)x\(pooling.gridColumns) must be at least 1x1 and at most the \(rows)x\(columns) positions")
        }
    }
}

/// The lower stage of a two-stage feature model: a patch-trained stack whose
/// pooled feature maps are the images the upper stage was trained on.
///
/// A convolutional extraction pooled over an `R x C` grid gives, per image,
/// `R x C` cells of `K` hidden values each, region-major: an image of
/// `R x C` pixels with `K` interleaved channels (``FeatureExtractor/mapGeometry``).
/// A second stack trained on windows of those map images sees several
/// neighbouring cells of all first-layer features at once, so its units
/// respond to larger parts of the image than a first-layer filter does: a
/// second layer of features in the manner of Coates and Ng (2011,
/// "Selecting Receptive Fields in Deep Networks"), here with every feature
/// in the window rather than a selected group.
public struct LowerStage: Codable, Equatable, Sendable {
    /// The lower stage's stack, by absolute path (recorded in the upper stack's ``InputContract``).
    public var stack: String
    /// How its maps are made: stride, pooling grid and operation, encoding.
    public var features: FeatureSettings

    public init(stack: String, features: FeatureSettings) { (self.stack, self.features) = (stack, features) }

    /// The most stages one feature model may have: files whose lower stages
    /// go deeper (or lead back to themselves) are refused, not followed.
    public static let maximumStages = 8
}
