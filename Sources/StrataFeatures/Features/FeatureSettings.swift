import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension FeatureSettings {
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
