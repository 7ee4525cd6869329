import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension Pretraining {
    /// The examples of a second stage: the pooled maps of the patch-trained
    /// stack at `path` on the training images it records (the first `limit`),
    /// seen as images of ``FeatureExtractor/mapGeometry``, then `patches`
    /// random windows of them with `preprocessing` fitted. The contract
    /// records the lower stage by absolute path, so features of the new
    /// stack run through it.
    static func prepareMaps(of path: String, features: FeatureSettings, dataset: String?, limit: Int?, patches: PatchSettings,
                            preprocessing: PreprocessingPipeline, patchSeed: UInt64) throws -> PreparedData {
        let lower = try LayerStack.read(path)
        let lowerContract = try InputContract(metadata: lower.extra, path: path)
        guard lowerContract.patchWindow != nil else {
            throw StrataError.invalidArgument(name: "stack", reason: "\(path) was not trained on patches, so it has no feature maps; train on its features without --window")
        }
        let images = try ImageSettings(contract: lowerContract, dataset: dataset, split: .train, limit: limit, what: path)
        let data = try images.load()
        let extractor = try features.extractor(for: lower, images: data.geometry)
        guard let geometry = extractor.mapGeometry else {
            throw StrataError.invalidArgument(name: "stack", reason: "\(path) gives no feature maps")
        }
        // Refuse a window the maps cannot hold before computing them.
        let window = (height: patches.window.height, width: patches.window.width)
        try PatchShape(window: window, stride: (1, 1)).validate(for: geometry)
        guard patches.count >= 1 else { throw StrataError.invalidArgument(name: "patch count", reason: "\(patches.count) must be at least 1") }
        let size = window.height * window.width * geometry.channels
        guard let values = Limits.product([patches.count, size]), values <= Limits.maxTensorElements else {
            throw StrataError.invalidArgument(name: "patch count", reason: "\(patches.count) windows of \(size) values are more than \(Limits.maxTensorElements) values (set STRATA_MAX_TENSOR_ELEMENTS to allow more)")
        }
        var windows = try mapWindows(extractor, of: data.examples, geometry: geometry, window: window, count: patches.count, seed: patchSeed,
                                     imagesPerBatch: features.imagesPerBatch)
        var pipeline = preprocessing
        try pipeline.fitTransform(&windows)
        let mapsName = "the \(geometry) maps of \(path)"
        var contract = InputContract(dataset: lowerContract.dataset ?? images.dataset, split: "train", image: geometry,
                                     pixelScale: lowerContract.pixelScale, binarize: lowerContract.binarize, patchWindow: patches.window)
        contract.maps = LowerStage(stack: URL(fileURLWithPath: path).standardizedFileURL.path, features: features)
        return PreparedData(examples: .memory(windows), contract: contract,
                            base: try LayerStack(preprocessing: pipeline, extra: contract.metadata),
                            summary: "\(windows.rows) random \(patches.window) windows of \(mapsName) (\(extractor.summary)) on \(data.count) images of \(data.name), preprocessing \(pipeline.summary)")
    }

    /// `count` random windows of the maps of `images` (drawn as
    /// ``PatchExtractor/random(_:geometry:window:count:using:)`` draws them
    /// from all the maps at once, with `seed`), the maps made
    /// `imagesPerPart` images at a time: memory holds one part of the maps and
    /// the windows, never all the maps (60,000 images of 6x6x1,600 are 14 GB).
    static func mapWindows(_ extractor: FeatureExtractor, of images: Tensor, geometry: ImageGeometry, window: (height: Int, width: Int),
                           count: Int, seed: UInt64, imagesPerBatch: Int, imagesPerPart: Int = 2048) throws -> Tensor {
        var random = RandomSource(seed: seed)
        let positions = PatchExtractor.randomPositions(count: count, images: images.rows, geometry: geometry, window: window, using: &random)
        let byImage = Dictionary(grouping: positions.indices, by: { positions[$0].image })
        let size = window.height * window.width * geometry.channels
        var windows = Tensor(zeros: [count, size])
        let bar = ProgressBar(total: images.rows, label: "maps")
        let start = Date()
        try windows.withUnsafeMutableBufferPointer { out in
            for first in stride(from: 0, to: images.rows, by: imagesPerPart) {
                let rows = first ..< min(first + imagesPerPart, images.rows)
                let maps = try extractor.extract(images.rows(rows), imagesPerBatch: imagesPerBatch, cores: Compute.activeCores, world: MPIWorld.current)
                maps.withUnsafeBufferPointer { m in
                    for image in rows {
                        for index in byImage[image] ?? [] {
                            let p = positions[index]
                            copyPatch(from: m.baseAddress! + (image - first) * geometry.size, geometry: geometry, top: p.row, left: p.column,
                                      height: window.height, width: window.width, into: out.baseAddress! + index * size)
                        }
                    }
                }
                bar.update(rows.upperBound)
            }
        }
        bar.finish(String(format: "%d windows of the maps of %d images in %.1f s", count, images.rows, Date().timeIntervalSince(start)))
        return windows
    }
}
