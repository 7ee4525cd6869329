import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

/// Features of examples from a ``LayerStack``: per example through the stack
/// (up to a chosen layer), or convolutionally for a stack trained on patches:
/// every window position of each image is preprocessed with the stack's
/// pipeline and encoded, and the hidden maps are pooled over a grid of
/// regions, giving `regions * hidden` features per image, region-major.
///
/// Convolutional extraction streams over batches of images (bounded memory),
/// encodes all positions of a batch with one GEMM per layer, and extracts and
/// pools on all cores.
public struct FeatureExtractor: Sendable {
    public var stack: LayerStack
    /// Layer whose hidden means are the features (1-based); nil: the top.
    public var depth: Int?
    /// Set for convolutional extraction.
    public var convolution: Convolution?
    /// How the chosen layer encodes its input.
    public private(set) var encoding: Encoding = .hiddenMeans
    /// The chosen layer's filters as the encoding uses them, prepared once:
    /// unit-norm for the soft threshold, as centroids with their squared
    /// lengths for the triangle and hard assignment.
    private var dictionary: Tensor?
    private var centroidLengths: [Float]?
    /// For a stack trained on another stack's pooled maps: that lower stage (``onMaps(of:alsoPooled:)``).
    var lower: LowerExtractor?
    /// With a lower stage: its maps pooled again over this coarser grid
    /// (the lower stage's pooling operation) are appended to the features.
    public package(set) var lowerPooling: Pooling?

    public init(stack: LayerStack, depth: Int? = nil, convolution: Convolution? = nil, encoding: Encoding = .hiddenMeans) throws {
        guard !stack.layers.isEmpty else { throw StrataError.invalidArgument(name: "stack", reason: "has no layers") }
        if let depth, !(1 ... stack.layers.count).contains(depth) {
            throw StrataError.invalidArgument(name: "layer", reason: "\(depth) is not a layer of this \(stack.layers.count)-layer stack (\(stack.sizes))")
        }
        if let convolution {
            try convolution.validate()
            let patch = convolution.patchShape.patchSize(channels: convolution.image.channels)
            guard stack.preprocessing.outputFeatures(for: patch) == stack.inputCount || patch == stack.inputCount else {
                throw StrataError.shapeMismatch(context: "\(convolution.windowHeight)x\(convolution.windowWidth)x\(convolution.image.channels) patches for a stack (\(stack.sizes)) trained on \(stack.inputCount ?? 0) features",
                                                expected: [stack.inputCount ?? 0], found: [patch])
            }
        }
        (self.stack, self.depth, self.convolution, self.encoding) = (stack, depth, convolution, encoding)
        let chosen = stack.layers[(depth ?? stack.layers.count) - 1]
        switch encoding {
        case .softThreshold: dictionary = Encoding.dictionary(of: chosen)
        case .triangle, .hardAssignment: (dictionary, centroidLengths) = (chosen.filters, chosen.filters.columnSquaredNorms())
        case .hiddenMeans: break
        }
    }

    /// Features of preprocessed `x` at the chosen layer, by ``encoding``, the element-wise work on `cores`.
    func encode(_ x: Tensor, cores: Int = Compute.activeCores) throws -> Tensor {
        switch encoding {
        case .hiddenMeans:
            return try stack.transform(x, depth: depth, batchSize: x.rows)
        case .softThreshold(let alpha):
            let layer = depth ?? stack.layers.count
            let below = layer > 1 ? try stack.transform(x, depth: layer - 1, batchSize: x.rows) : x
            return Encoding.splitSoftThreshold(below.matmul(dictionary!), alpha: alpha, cores: cores)
        case .triangle, .hardAssignment:
            // The chosen layer's filters as centroids, on the input of that layer.
            let layer = depth ?? stack.layers.count
            let below = layer > 1 ? try stack.transform(x, depth: layer - 1, batchSize: x.rows) : x
            return encoding == .triangle ? Encoding.triangle(below, centroids: dictionary!, lengths: centroidLengths, cores: cores)
                                         : Encoding.hardAssignment(below, centroids: dictionary!, lengths: centroidLengths, cores: cores)
        }
    }

    /// The extractor a stack calls for on images of `geometry`: convolutional
    /// (at `stride`, pooled by `pooling`) when the stack was trained on
    /// patches (its ``InputContract`` has a patch window), per example otherwise.
    /// A stack trained on the pooled maps of a lower stack (``InputContract/maps``)
    /// runs over that stack's maps of the images (``LowerStage``).
    /// With `lowerPool` (only then), the lower stage's maps pooled over that grid are appended.
    public init(stack: LayerStack, images geometry: ImageGeometry?, depth: Int? = nil,
                stride: (y: Int, x: Int) = (1, 1), pooling: Pooling = Pooling(), encoding: Encoding = .hiddenMeans, lowerPool: Pooling? = nil) throws {
        try self.init(stack: stack, images: geometry, depth: depth, stride: stride, pooling: pooling, encoding: encoding, lowerPool: lowerPool, stagesAbove: 0)
    }

    /// The extractor of a stack that is the lower stage of `stagesAbove` others.
    init(stack: LayerStack, images geometry: ImageGeometry?, depth: Int?, stride: (y: Int, x: Int), pooling: Pooling, encoding: Encoding,
         lowerPool: Pooling?, stagesAbove: Int) throws {
        let contract = try InputContract(metadata: stack.extra)
        if let maps = contract.maps, let window = contract.patchWindow {
            let lower = try maps.extractor(images: geometry, stagesAbove: stagesAbove + 1)
            try self.init(stack: stack, depth: depth, convolution: Convolution(image: lower.mapGeometry!, window: (window.height, window.width), stride: stride, pooling: pooling),
                          encoding: encoding)
            self = try onMaps(of: lower, alsoPooled: lowerPool)
            return
        }
        if let lowerPool {
            throw StrataError.invalidArgument(name: "lower_pool", reason: "\(lowerPool.gridRows)x\(lowerPool.gridColumns) applies to a stack trained on another stack's maps; this one has no lower stage")
        }
        guard let window = contract.patchWindow else {
            try self.init(stack: stack, depth: depth, encoding: encoding)
            return
        }
        guard let geometry else {
            throw StrataError.invalidArgument(name: "images", reason: "the stack was trained on \(window) patches; its features need images with a geometry")
        }
        try self.init(stack: stack, depth: depth, convolution: Convolution(image: geometry, window: (window.height, window.width), stride: stride, pooling: pooling),
                      encoding: encoding)
    }

    /// Features per position (per example without convolution): the chosen
    /// layer's hidden units, twice that for the soft-threshold encoding.
    public var hiddenCount: Int { stack.layers[(depth ?? stack.layers.count) - 1].hiddenCount * encoding.multiplicity }
    /// Features per example: this stage's, then the lower stage's re-pooled maps (``lowerPooling``).
    public var outputCount: Int { ownOutputCount + (lowerPooling.map { $0.regions * (lower?.extractor.hiddenCount ?? 0) } ?? 0) }
    /// Features per example from this stage's own layers.
    var ownOutputCount: Int { hiddenCount * (convolution?.pooling.regions ?? 1) }

    /// The features of raw `examples` (`(n, pixels)`), `(n, outputCount)`.
    /// `progress` is called with the number of examples done.
    public func extract(_ examples: Tensor, imagesPerBatch: Int = 16, cores: Int = Compute.activeCores, progress: ((Int) -> Void)? = nil) throws -> Tensor {
        if let lower = lower?.extractor {
            return try extractThroughLower(lower, examples, imagesPerBatch: imagesPerBatch, cores: cores, progress: progress)
        }
        return try extractOwn(examples, imagesPerBatch: imagesPerBatch, cores: cores, progress: progress)
    }

    /// Rows per product without convolution: a fixed cut, whatever the number of examples.
    static let rowsPerProduct = 256

    /// Images encoded by one product in this stage's own extraction (one group of
    /// positions, or ``rowsPerProduct`` examples without convolution).
    var ownImagesPerProduct: Int {
        guard let convolution else { return Self.rowsPerProduct }
        let (mapRows, mapColumns) = convolution.patchShape.positions(in: convolution.image)
        return max(1, 256 / max(mapRows * mapColumns, 1))
    }

    /// The unit of work every cut of the examples respects: extraction cuts
    /// the examples into products of this many images, counted from the
    /// first, so a band of examples that starts at a multiple of it (a rank's
    /// share, ``extract(_:imagesPerBatch:cores:world:progress:)``) gets the
    /// bits one process gets for the same images, whatever BLAS kernel runs.
    public var imagesPerProduct: Int {
        guard let lower = lower?.extractor else { return ownImagesPerProduct }
        return imagesPerPart(below: lower)
    }

    /// Per-example features, encoded ``rowsPerProduct`` examples at a time.
    func extractPerExample(_ examples: Tensor, progress: ((Int) -> Void)?) throws -> Tensor {
        var x = examples
        try stack.preprocessing.transform(&x)
        try stack.requireInput(x, what: "examples for features")
        let width = outputCount
        var out = Tensor(zeros: [x.rows, width])
        for first in stride(from: 0, to: x.rows, by: Self.rowsPerProduct) {
            let block = try encode(x.rows(first ..< min(first + Self.rowsPerProduct, x.rows)))
            out.withUnsafeMutableBufferPointer { o in
                block.withUnsafeBufferPointer { (o.baseAddress! + first * width).update(from: $0.baseAddress!, count: $0.count) }
            }
            progress?(first + block.rows)
        }
        return out
    }

    /// This stage's features of its own input (images, or a lower stage's maps).
    func extractOwn(_ examples: Tensor, imagesPerBatch: Int, cores: Int, progress: ((Int) -> Void)? = nil) throws -> Tensor {
        guard let convolution else { return try extractPerExample(examples, progress: progress) }
        let geometry = convolution.image
        guard examples.columns == geometry.size else {
            throw StrataError.shapeMismatch(context: "images of \(geometry) for convolutional features", expected: [examples.rows, geometry.size], found: examples.shape)
        }
        let shape = convolution.patchShape
        let (mapRows, mapColumns) = shape.positions(in: geometry)
        let perImage = mapRows * mapColumns
        let hidden = hiddenCount, regions = convolution.pooling.regions, width = ownOutputCount
        let pooling = convolution.pooling
        let regionOf = convolution.regionOfPositions
        let counts = Pooling.positionCounts(regionOf: regionOf, regions: regions)
        var out = Tensor(zeros: [examples.rows, width])
        var done = 0
        let failure = FirstFailure()
        try out.withUnsafeMutableBufferPointer { op in
            let ob = op.baseAddress!
            // Images with few positions (a second stage's maps) are encoded `group` at a time, so each
            // GEMM has some 256 rows. Some kernels round a row differently in a taller product, so the
            // groups are fixed by the shapes and start at multiples of `group` from the first image
            // (batches hold whole groups): the thread count and a rank's band (``imagesPerProduct``)
            // change the speed only. Images with hundreds of positions go one at a time.
            let group = ownImagesPerProduct
            let batch = (max(imagesPerBatch, 4 * group) + group - 1) / group * group
            try PatchExtractor.forEachBatch(of: examples, geometry: geometry, shape: shape, imagesPerBatch: batch) { patches, positions in
                let first = positions[0].image, images = patches.rows / perImage
                // Each group of images on one core from start to end, with single-threaded GEMMs: its
                // positions preprocessed, encoded and pooled while its maps are in that core's cache.
                BLAS.singleThreaded {
                    parallelChunks((images + group - 1) / group, minimumChunk: 1, cores: cores) { chunk in
                        for g in chunk where !failure.happened {
                            do {
                                let members = g * group ..< min((g + 1) * group, images)
                                var x = patches.rows(members.lowerBound * perImage ..< members.upperBound * perImage)
                                try stack.preprocessing.transform(&x)
                                let h = try encode(x, cores: 1)
                                h.withUnsafeBufferPointer { maps in
                                    for (k, local) in members.enumerated() {
                                        Self.pool(maps.baseAddress! + k * perImage * hidden, positions: perImage, hidden: hidden, regionOf: regionOf, counts: counts,
                                                  operation: pooling.operation, into: ob + (first + local) * width)
                                    }
                                }
                            } catch {
                                failure.record(error)
                            }
                        }
                    }
                }
                try failure.rethrow()
                done += images
                progress?(done)
            }
        }
        return out
    }

    /// Pools one image's maps `(positions, hidden)` over its regions into
    /// `target` `(regions · hidden)`, region-major.
    private static func pool(_ maps: UnsafePointer<Float>, positions: Int, hidden: Int, regionOf: [Int], counts: [Float],
                             operation: Pooling.Operation, into target: UnsafeMutablePointer<Float>) {
        let width = counts.count * hidden
        target.update(repeating: operation == .max ? -.infinity : 0, count: width)
        for p in 0 ..< positions {
            let source = maps + p * hidden
            let cell = target + regionOf[p] * hidden
            switch operation {
            case .max: for j in 0 ..< hidden { cell[j] = Swift.max(cell[j], source[j]) }
            case .l2: for j in 0 ..< hidden { cell[j] += source[j] * source[j] }
            case .sum, .mean: for j in 0 ..< hidden { cell[j] += source[j] }
            }
        }
        if operation == .l2 {
            for k in 0 ..< width { target[k] = target[k].squareRoot() }
        }
        if operation == .mean {
            for r in 0 ..< counts.count {
                let inverse = 1 / counts[r]
                for j in 0 ..< hidden { target[r * hidden + j] *= inverse }
            }
        }
    }
}

/// The first error thrown by any of several concurrent workers, kept for the caller to rethrow.
final class FirstFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?

    var happened: Bool { lock.withLock { error != nil } }
    func record(_ error: Error) { lock.withLock { if self.error == nil { self.error = error } } }
    func rethrow() throws { if let error = lock.withLock({ error }) { throw error } }
}
