import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

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
