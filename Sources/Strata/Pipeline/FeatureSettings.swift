import Foundation

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

    /// The extractor for `stack` on images of `geometry`.
    public func extractor(for stack: LayerStack, images geometry: ImageGeometry?) throws -> FeatureExtractor {
        try extractor(for: stack, images: geometry, stagesAbove: 0)
    }

    /// The extractor for `stack`, itself the lower stage of `stagesAbove` others (bounded by ``LowerStage/maximumStages``).
    func extractor(for stack: LayerStack, images geometry: ImageGeometry?, stagesAbove: Int) throws -> FeatureExtractor {
        try FeatureExtractor(stack: stack, images: geometry, depth: layer, stride: (stride.height, stride.width), pooling: pooling, encoding: encoding,
                             lowerPool: lowerPool, stagesAbove: stagesAbove)
    }

    /// The features of `images` with a progress bar labelled `label`; across
    /// the ranks of `world`, split by image shards (``FeatureExtractor/extract(_:imagesPerBatch:cores:world:progress:)``).
    public func extract(_ extractor: FeatureExtractor, of images: Dataset, label: String, compute: Compute,
                        world: MPIWorld? = MPIWorld.current) throws -> Tensor {
        let start = Date()
        let ranks = world?.size ?? 1
        let bar = ProgressBar(total: images.count, label: label + (ranks > 1 ? " (\(ranks) ranks)" : ""))
        let features = try extractor.extract(images.examples, imagesPerBatch: imagesPerBatch, cores: compute.cores, world: world) { bar.update($0) }
        bar.finish(String(format: "%d x %d features in %.1f s", features.rows, features.columns, Date().timeIntervalSince(start))
            + (ranks > 1 ? ", each rank a shard of \(images.count / ranks) images" : ""))
        return features
    }
}

extension FeatureExtractor {
    /// One line saying what the features are.
    public var summary: String {
        let layerText = "layer \(depth ?? stack.layers.count) of \(stack.sizes)" + (encoding == .hiddenMeans ? "" : " (\(encoding))")
        guard let c = convolution else { return "\(layerText), per example: \(outputCount) features" }
        let (rows, columns) = c.patchShape.positions(in: c.image)
        let appended = lowerPooling.map { ", then the lower maps \($0.operation.rawValue)-pooled over \($0.gridRows)x\($0.gridColumns): \(outputCount) in all" } ?? ""
        return (lowerStage.map { "on the \(c.image) maps of [\($0.summary)]; " } ?? "")
            + "\(layerText), convolutional: \(c.windowHeight)x\(c.windowWidth) windows at stride \(c.strideY)x\(c.strideX) "
            + "(\(rows)x\(columns) positions), \(c.pooling.operation.rawValue)-pooled over \(c.pooling.gridRows)x\(c.pooling.gridColumns) regions: \(ownOutputCount) features" + appended
    }
}

/// Writing a stack's features of a dataset: the stage behind `strata features`.
public enum FeatureExtraction {
    /// Writes the features of `images` through `stack` to `output` (float32 `.npy`)
    /// and, when labeled, the labels beside it (``labelsPath(for:)``). Returns the features' shape.
    /// The features are computed and written `imagesPerWrite` images at a
    /// time, so memory holds the images and one part of the features, never
    /// all of them (60,000 images of 14,400 features are 3.5 GB). Across the
    /// ranks of `world`, each part is split by image shards and every rank
    /// writes the same file.
    @discardableResult
    public static func run(stack: LayerStack, name: String, images: ImageSettings, features: FeatureSettings, output: String,
                           compute: Compute, imagesPerWrite: Int = 2048, world: MPIWorld? = MPIWorld.current,
                           log: StageLog = { print($0) }) throws -> (rows: Int, columns: Int) {
        compute.apply()
        guard imagesPerWrite >= 1 else { throw StrataError.invalidArgument(name: "images per write", reason: "\(imagesPerWrite) must be at least 1") }
        let data = try images.load()
        let extractor = try features.extractor(for: stack, images: data.geometry)
        log(extractor.summary)
        let bar = ProgressBar(total: data.count, label: "features")
        let start = Date()
        try NPY.writeStreaming(rows: data.count, columns: extractor.outputCount, to: output) { append in
            for first in stride(from: 0, to: data.count, by: imagesPerWrite) {
                let part = data.examples.rows(first ..< min(first + imagesPerWrite, data.count))
                try append(try extractor.extract(part, imagesPerBatch: features.imagesPerBatch, cores: compute.cores, world: world) { bar.update(first + $0) })
            }
        }
        bar.finish(String(format: "%d x %d features in %.1f s", data.count, extractor.outputCount, Date().timeIntervalSince(start)))
        log("wrote \(output) (\(data.count) x \(extractor.outputCount))")
        if let labels = data.labels {
            try NPY.write(integers: labels, to: labelsPath(for: output))
            log("wrote \(labelsPath(for: output))")
        }
        return (data.count, extractor.outputCount)
    }

    /// `features.npy` -> `features.labels.npy`.
    public static func labelsPath(for featuresPath: String) -> String {
        (featuresPath.hasSuffix(".npy") ? String(featuresPath.dropLast(4)) : featuresPath) + ".labels.npy"
    }
}
