import StrataCore

/// What a stack's first layer trains on: whole images, or random patches of
/// them, transformed by a preprocessing pipeline fitted here.
public struct PretrainingData {
    /// One training example per row, preprocessed.
    public var examples: Tensor
    /// The fitted pipeline (saved with the first layer and the stack).
    public var pipeline: PreprocessingPipeline

    /// Random `window` patches (`patchCount` of them, drawn with `seed`) of
    /// `images`, or the images themselves when `window` is nil, then
    /// `pipeline` fitted to them and applied.
    public init(images: Dataset, window: (height: Int, width: Int)?, patchCount: Int, seed: UInt64, pipeline: PreprocessingPipeline) throws {
        self.pipeline = pipeline
        if let window {
            guard let geometry = images.geometry else {
                throw StrataError.invalidArgument(name: "patches", reason: "\(images.name) has no image geometry; patches need images")
            }
            guard patchCount >= 1 else { throw StrataError.invalidArgument(name: "patch count", reason: "\(patchCount) must be at least 1") }
            var random = RandomSource(seed: seed)
            examples = try PatchExtractor.random(images.examples, geometry: geometry, window: window, count: patchCount, using: &random).patches
        } else {
            examples = images.examples
        }
        try self.pipeline.fitTransform(&examples)
    }
}
