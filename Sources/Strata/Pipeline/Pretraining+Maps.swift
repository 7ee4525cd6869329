import Foundation

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
        try PatchShape(window: (patches.window.height, patches.window.width), stride: (1, 1)).validate(for: geometry)
        let maps = try features.extract(extractor, of: data, label: "maps", compute: Compute(cores: Compute.activeCores))
        let mapImages = try Dataset(name: "the \(geometry) maps of \(path)", examples: maps, geometry: geometry)
        let window = (height: patches.window.height, width: patches.window.width)
        let prepared = try PretrainingData(images: mapImages, window: window, patchCount: patches.count, seed: patchSeed, pipeline: preprocessing)
        var contract = InputContract(dataset: lowerContract.dataset ?? images.dataset, split: "train", image: geometry,
                                     pixelScale: lowerContract.pixelScale, binarize: lowerContract.binarize, patchWindow: patches.window)
        contract.maps = LowerStage(stack: URL(fileURLWithPath: path).standardizedFileURL.path, features: features)
        return PreparedData(examples: .memory(prepared.examples), contract: contract,
                            base: try LayerStack(preprocessing: prepared.pipeline, extra: contract.metadata),
                            summary: "\(prepared.examples.rows) random \(patches.window) windows of \(mapImages.name) (\(extractor.summary)) on \(data.count) images of \(data.name), preprocessing \(prepared.pipeline.summary)")
    }
}
