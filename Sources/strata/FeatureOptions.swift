import ArgumentParser
import Foundation
import Strata

/// How features are computed from a stack: through the stack per example, or,
/// for a stack trained on patches, convolutionally with pooling.
struct FeatureOptions: ParsableArguments {
    @Option(help: "Features from this layer (1 = the bottom; default: the top).")
    var layer: Int?
    @Option(help: "Convolutional extraction (stacks trained on patches): window stride, N or YxX.")
    var stride = "1"
    @Option(help: "Pooling grid over the hidden maps, RxC (2x2: quadrants, as Coates et al.).")
    var pool = "2x2"
    @Option(help: "Pooling: sum, mean or max.")
    var poolOp: Pooling.Operation = .sum
    @Option(help: "How the chosen layer encodes: means (its hidden means) or soft-threshold:ALPHA (Coates and Ng's max(0, ±x·d - ALPHA) on its unit-norm filters, both polarities: twice the features).")
    var encoding = "means"
    @Option(help: "Images per extraction batch (bounds memory).")
    var imagesPerBatch = 16

    /// The extractor for `stack` applied to images of `geometry`: convolutional
    /// when the stack was trained on patches (`patch_window` in its metadata).
    func extractor(for stack: LayerStack, images geometry: ImageGeometry?) throws -> FeatureExtractor {
        let (sy, sx) = try parsePair(stride, name: "stride")
        let (gr, gc) = try parsePair(pool, name: "pool")
        return try FeatureExtractor(stack: stack, images: geometry, depth: layer, stride: (sy, sx),
                                    pooling: Pooling(gridRows: gr, gridColumns: gc, operation: poolOp), encoding: try Encoding(parsing: encoding))
    }
}

extension Pooling.Operation: ExpressibleByArgument {}

/// Features of a labeled dataset split, with a progress bar.
func extractFeatures(_ extractor: FeatureExtractor, of images: Dataset, label: String, batch: Int = 16) throws -> Tensor {
    let bar = ProgressBar(total: images.count, label: label)
    let start = Date()
    let features = try extractor.extract(images.examples, imagesPerBatch: batch) { bar.update($0) }
    bar.finish(String(format: "%d x %d features in %.1f s", features.rows, features.columns, Date().timeIntervalSince(start)))
    return features
}

extension FeatureExtractor {
    /// One line saying what the features are.
    var summary: String {
        let layerText = "layer \(depth ?? stack.layers.count) of \(stack.sizes)" + (encoding == .hiddenMeans ? "" : " (\(encoding))")
        guard let c = convolution else { return "\(layerText), per example: \(outputCount) features" }
        let (rows, columns) = c.patchShape.positions(in: c.image)
        return "\(layerText), convolutional: \(c.windowHeight)x\(c.windowWidth) windows at stride \(c.strideY)x\(c.strideX) " +
            "(\(rows)x\(columns) positions), \(c.pooling.operation.rawValue)-pooled over \(c.pooling.gridRows)x\(c.pooling.gridColumns) regions: \(outputCount) features"
    }
}

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write a stack's features of a dataset, with labels, to .npy files.",
        discussion: """
            A stack trained on images gives each image's hidden means at --layer. A stack trained on \
            patches is applied convolutionally: at every window position (--stride), its hidden maps \
            pooled over a grid of regions (--pool, --pool-op). Writes OUT (float32, examples x features) \
            and OUT with .labels.npy (int64) when the data is labeled.

              strata features runs/grbm_smd/stack.safetensors --split test --stride 2 -o test.npy
            """
    )

    @Argument(help: "A stack.safetensors (or one layer's model.safetensors).")
    var stack: String
    @Option(help: "A dataset name or a folder of PNG images.")
    var dataset = "fashion-mnist"
    @Option(help: "train or test.")
    var split: DataCatalog.Split = .train
    @Option(help: "Use only the first N images.")
    var limit: Int?
    @OptionGroup var features: FeatureOptions
    @Option(name: .shortAndLong, help: "The .npy file to write.")
    var output: String
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.apply()
        let loaded = try LayerStack.read(stack)
        let images = try loadImages(dataset, split: split, limit: limit, treatment: PixelTreatment(metadata: loaded.extra))
        let extractor = try features.extractor(for: loaded, images: images.geometry)
        print(extractor.summary)
        let x = try extractFeatures(extractor, of: images, label: "features", batch: features.imagesPerBatch)
        try NPY.write(x, to: output)
        print("wrote \(output) (\(x.rows) x \(x.columns))")
        if let labels = images.labels {
            let path = labelsPath(for: output)
            try NPY.write(integers: labels, to: path)
            print("wrote \(path)")
        }
    }
}


/// `features.npy` -> `features.labels.npy`.
func labelsPath(for featuresPath: String) -> String {
    (featuresPath.hasSuffix(".npy") ? String(featuresPath.dropLast(4)) : featuresPath) + ".labels.npy"
}
