import StrataCore
import StrataData

/// The shape of one stage of Le et al. (2012): locally connected filters over
/// an image, L2 pooling over neighbouring positions of each map, then local
/// contrast normalization.
///
/// Every buffer is one example per row, pixel by pixel with the channels of a
/// pixel together (``ChannelLayout/interleaved``):
/// - input `(height, width, channels)`;
/// - filter responses `(filterRows, filterColumns, maps)`: at each of the
///   grid's positions, `maps` units with weights of their own over a
///   `field x field x channels` window (``fieldSize`` values), `stride` apart;
/// - pooled and normalized output `(poolRows, poolColumns, maps)`: each
///   pooling unit covers `poolSize x poolSize` positions of one map, `poolStride` apart.
public struct LocalStageGeometry: Codable, Equatable, Sendable, CustomStringConvertible {
    public var inputHeight: Int
    public var inputWidth: Int
    public var channels: Int
    /// The side of each unit's receptive field, in input pixels.
    public var field: Int
    /// Pixels between neighbouring receptive fields.
    public var stride: Int
    /// Units (filters) at each position.
    public var maps: Int
    /// The side of each L2 pooling neighbourhood, in filter positions (1: no pooling).
    public var poolSize: Int
    /// Filter positions between neighbouring pooling units.
    public var poolStride: Int
    /// The side of local contrast normalization's Gaussian window, in pooled positions (odd; 0: no normalization).
    public var normalizationSize: Int

    public init(input: ImageGeometry, field: Int, stride: Int, maps: Int, poolSize: Int, poolStride: Int, normalizationSize: Int) {
        (inputHeight, inputWidth, channels) = (input.height, input.width, input.channels)
        (self.field, self.stride, self.maps, self.poolSize, self.poolStride, self.normalizationSize) = (field, stride, maps, poolSize, poolStride, normalizationSize)
    }

    public var input: ImageGeometry { ImageGeometry(height: inputHeight, width: inputWidth, channels: channels, layout: .interleaved) }
    public var inputSize: Int { inputHeight * inputWidth * channels }
    /// Values one input pixel row holds (`width x channels`).
    public var inputRowSize: Int { inputWidth * channels }
    public var filterRows: Int { (inputHeight - field) / stride + 1 }
    public var filterColumns: Int { (inputWidth - field) / stride + 1 }
    public var positions: Int { filterRows * filterColumns }
    /// Weights of one unit: `field x field x channels`.
    public var fieldSize: Int { field * field * channels }
    /// Filter responses per example.
    public var filterSize: Int { positions * maps }
    public var poolRows: Int { (filterRows - poolSize) / poolStride + 1 }
    public var poolColumns: Int { (filterColumns - poolSize) / poolStride + 1 }
    /// Values per example after pooling and normalization.
    public var outputSize: Int { poolRows * poolColumns * maps }
    /// The output as an image, the next stage's input.
    public var output: ImageGeometry { ImageGeometry(height: poolRows, width: poolColumns, channels: maps, layout: .interleaved) }

    public var description: String {
        "\(inputHeight)x\(inputWidth)x\(channels) -> \(field)x\(field) fields, stride \(stride), \(maps) maps at \(filterRows)x\(filterColumns) positions"
            + " -> L2 pool \(poolSize)x\(poolSize)/\(poolStride) -> \(poolRows)x\(poolColumns)x\(maps)"
            + (normalizationSize > 0 ? ", LCN \(normalizationSize)x\(normalizationSize)" : "")
    }

    /// Refuses shapes that leave no position, pool or window, naming the setting.
    public func validate() throws {
        func require(_ ok: Bool, _ name: String, _ reason: String) throws {
            if !ok { throw StrataError.invalidArgument(name: name, reason: reason) }
        }
        try require(inputHeight >= 1 && inputWidth >= 1 && channels >= 1, "input", "an image needs at least one pixel and one channel")
        try require(field >= 1 && field <= min(inputHeight, inputWidth), "field",
                    "must lie in 1...\(min(inputHeight, inputWidth)) (the input is \(inputHeight)x\(inputWidth)), found \(field)")
        try require(stride >= 1, "stride", "must be at least 1, found \(stride)")
        try require(maps >= 1, "maps", "must be at least 1, found \(maps)")
        try require(poolSize >= 1 && poolSize <= min(filterRows, filterColumns), "pool",
                    "must lie in 1...\(min(filterRows, filterColumns)) (the filter grid is \(filterRows)x\(filterColumns)), found \(poolSize)")
        try require(poolStride >= 1, "pool_stride", "must be at least 1, found \(poolStride)")
        try require(normalizationSize == 0 || normalizationSize % 2 == 1, "lcn", "the window side must be odd (or 0 for none), found \(normalizationSize)")
        try require(Limits.product([filterSize, fieldSize]).map { $0 <= Limits.maxTensorElements } ?? false, "maps",
                    "\(positions) positions x \(maps) maps x \(fieldSize) weights is more than one buffer holds")
    }

    /// Copies each position's receptive field for the filter rows `rows` out
    /// of `input` (`(n, inputSize)`): position `p` of the band (row-major in
    /// the band) gets the block `fields[p*n*fieldSize ..< (p+1)*n*fieldSize]`,
    /// `(n, fieldSize)`, ready for one product with that position's weights.
    public func gatherFields(_ input: UnsafePointer<Float>, examples n: Int, rows: Range<Int>, into fields: UnsafeMutablePointer<Float>) {
        for py in rows {
            for px in 0 ..< filterColumns {
                gatherField(input, examples: n, y: py, x: px, into: fields + ((py - rows.lowerBound) * filterColumns + px) * n * fieldSize)
            }
        }
    }

    /// One position's fields, `(n, fieldSize)`, into `block`.
    public func gatherField(_ input: UnsafePointer<Float>, examples n: Int, y: Int, x: Int, into block: UnsafeMutablePointer<Float>) {
        let rowValues = field * channels
        for e in 0 ..< n {
            let image = input + e * inputSize, out = block + e * fieldSize
            for dy in 0 ..< field {
                (out + dy * rowValues).update(from: image + ((y * stride + dy) * inputWidth + x * stride) * channels, count: rowValues)
            }
        }
    }

    /// The input index of every field value, position after position:
    /// `gatherFields` as a table, `(positions x fieldSize)` (what an export gathers by).
    public var fieldIndices: [Int] {
        let rowValues = field * channels
        var indices: [Int] = []
        indices.reserveCapacity(positions * fieldSize)
        for py in 0 ..< filterRows {
            for px in 0 ..< filterColumns {
                for j in 0 ..< fieldSize { indices.append(((py * stride + j / rowValues) * inputWidth + px * stride) * channels + j % rowValues) }
            }
        }
        return indices
    }

    /// The transpose of ``gatherFields(_:examples:rows:into:)``: adds each
    /// field block back into `image` (`(n, inputSize)`) where it came from.
    public func scatterFields(_ fields: UnsafePointer<Float>, examples n: Int, rows: Range<Int>, into image: UnsafeMutablePointer<Float>) {
        for py in rows {
            for px in 0 ..< filterColumns {
                addField(fields + ((py - rows.lowerBound) * filterColumns + px) * n * fieldSize, examples: n, y: py, x: px, into: image)
            }
        }
    }

    /// Adds one position's field block `(n, fieldSize)` into `image` at filter
    /// position (`y`, `x`), on the input rows `rows` only (nil: all).
    public func addField(_ block: UnsafePointer<Float>, examples n: Int, y: Int, x: Int, rows: Range<Int>? = nil, into image: UnsafeMutablePointer<Float>) {
        let rowValues = field * channels
        for e in 0 ..< n {
            let out = image + e * inputSize, values = block + e * fieldSize
            for dy in 0 ..< field where rows?.contains(y * stride + dy) ?? true {
                let target = out + ((y * stride + dy) * inputWidth + x * stride) * channels, source = values + dy * rowValues
                for i in 0 ..< rowValues { target[i] += source[i] }
            }
        }
    }

    /// The input pixel rows the receptive fields of filter rows `rows` cover.
    public func inputRows(of rows: Range<Int>) -> Range<Int> {
        rows.isEmpty ? 0 ..< 0 : rows.lowerBound * stride ..< (rows.upperBound - 1) * stride + field
    }

    /// The filter rows pooling rows `rows` read.
    public func filterRows(ofPools rows: Range<Int>) -> Range<Int> {
        rows.isEmpty ? 0 ..< 0 : rows.lowerBound * poolStride ..< (rows.upperBound - 1) * poolStride + poolSize
    }
}
