/// What a stack's first layer trains on: whole images, or random patches of
/// them, transformed by a preprocessing pipeline fitted here; with the
/// metadata a stack records so that later commands treat new images the
/// same way (`source`, `image_geometry`, and `patch_window` for patches).
public struct PretrainingData {
    /// One training example per row, preprocessed.
    public var examples: Tensor
    /// The fitted pipeline (saved with the first layer and the stack).
    public var pipeline: PreprocessingPipeline
    /// The caller's metadata (for example the pixel treatment) plus this data's keys.
    public var metadata: [String: String]

    /// Random `window` patches (`patchCount` of them, drawn with `seed`) of
    /// `images`, or the images themselves when `window` is nil, then
    /// `pipeline` fitted to them and applied.
    public init(images: Dataset, window: (height: Int, width: Int)?, patchCount: Int, seed: UInt64,
                pipeline: PreprocessingPipeline, metadata: [String: String] = [:]) throws {
        self.pipeline = pipeline
        self.metadata = metadata
        self.metadata["source"] = images.name
        if let window {
            guard let geometry = images.geometry else {
                throw StrataError.invalidArgument(name: "patches", reason: "\(images.name) has no image geometry; patches need images")
            }
            var random = RandomSource(seed: seed)
            examples = try PatchExtractor.random(images.examples, geometry: geometry, window: window, count: patchCount, using: &random).patches
            self.metadata["image_geometry"] = "\(window.height)x\(window.width)x\(geometry.channels)"
            self.metadata["patch_window"] = "\(window.height)x\(window.width)"
        } else {
            examples = images.examples
            if let g = images.geometry { self.metadata["image_geometry"] = "\(g.height)x\(g.width)x\(g.channels)" }
        }
        try self.pipeline.fitTransform(&examples)
    }

    /// True when the examples are patches (the stack applies itself convolutionally).
    public var isPatches: Bool { metadata["patch_window"] != nil }
}
