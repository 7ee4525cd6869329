import Foundation
import Strata

/// How raw images are turned into the values a model saw in training: the
/// pixel scale and binarization, recorded in stacks and classifiers
/// (`pixel_scale`, `binarize`) so features and predictions use the same.
struct PixelTreatment {
    var scale: Float = 1
    var binarize = false

    init(scale: Float = 1, binarize: Bool = false) { (self.scale, self.binarize) = (scale, binarize) }

    /// The treatment recorded in a file's metadata.
    init(metadata: [String: String]) {
        scale = metadata["pixel_scale"].flatMap { Float($0) } ?? 1
        binarize = metadata["binarize"] == "1"
    }

    var metadata: [String: String] { ["pixel_scale": "\(scale)", "binarize": binarize ? "1" : "0"] }

    func apply(to images: inout Dataset) {
        if scale != 1 { images.examples.scale(by: scale) }
        if binarize {
            let (low, high) = images.examples.minMax() ?? (0, 1)
            let threshold = (low + high) / 2
            images.examples.apply { $0 > threshold ? 1 : 0 }
        }
    }
}

/// Loads a named dataset (or a folder of PNG images) split, the first `limit`
/// examples, with `treatment` applied.
func loadImages(_ name: String, split: DataCatalog.Split, limit: Int? = nil, treatment: PixelTreatment = PixelTreatment()) throws -> Dataset {
    var images = try DataCatalog().load(name, split: split)
    if let limit { images = images.prefix(limit) }
    treatment.apply(to: &images)
    return images
}
