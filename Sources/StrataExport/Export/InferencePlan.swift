import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

/// A classifier's whole inference path, raw pixels to class scores, as a
/// chain of simple operations on a batch: what the exporters translate into
/// ONNX operators (``ONNXExport``) and PyTorch modules (``TorchExport``).
///
/// The plan starts from the examples exactly as Strata's loaders give them
/// (before the ``InputContract``'s pixel scale and binarization) and ends with
/// the classifier's scores: probabilities for a softmax network, decision
/// values for an SVM. ``apply(_:)`` runs it in Swift, one plain loop per step,
/// so a test can check the plan against ``Classifier/scores(_:progress:)``
/// without any runtime outside Strata.
public struct InferencePlan: Sendable {
    /// One operation on a batch `(n, width)`; every step but `patches` and
    /// `pool` keeps the rows.
    public enum Step: Sendable {
        /// `x * factor`: the contract's pixel scale.
        case scale(Float)
        /// 1 where a value is above the midpoint of the batch's smallest and
        /// largest value, 0 elsewhere (``InputContract/treat(_:)``).
        case binarize
        /// Global contrast normalization of each row.
        case contrastNormalize(GlobalContrastNormalization)
        /// Each row minus its own mean.
        case removeRowMean
        /// `x - v`, `v` of `(width)`.
        case subtract(Tensor)
        /// `x * v` column by column, `v` of `(width)`.
        case multiplyColumns(Tensor)
        /// `x P`, `P` of `(width, out)`.
        case project(Tensor)
        /// `f(x W + b)`: a stack's layer, a hidden layer or a linear head.
        case dense(DenseLayer)
        /// Coates and Ng's encoder: `z = x D`, then `[max(0, z - alpha), max(0, -z - alpha)]`.
        case softThreshold(dictionary: Tensor, alpha: Float)
        /// The columns of `centroids` `(width, k)` as centroids: the triangle
        /// encoding `max(0, mean(z) - z_k)` of the distances `z`, or (`hard`) one-hot nearest.
        case centroids(Tensor, hard: Bool)
        /// `(n, pixels) -> (n * positions, size)`: row `i * positions + p` is
        /// the window at position `p` of image `i`; `indices` (`positions * size`)
        /// gives the pixel each value is read from.
        case patches(indices: [Int], positions: Int, size: Int)
        /// `(n * positions, h) -> (n, regions * h)`, region-major: each
        /// position's region (`regionOf`) summed, averaged or maxed.
        case pool(regionOf: [Int], regions: Int, operation: Pooling.Operation)
        /// Each row replaced by its softmax.
        /// Le et al.'s stage (``LocalFeatureStage``): locally connected filters, L2 pooling, local contrast normalization.
        case localStage(LocalFeatureStage)
        case softmax
        /// Every chain of steps on the same input, their outputs side by side:
        /// `(n, w) -> (n, w1 + w2 + ...)` (a two-layer extractor's own features
        /// beside its lower stage's maps pooled again).
        indirect case branches([[Step]])
    }

    /// Values per raw example.
    public var inputCount: Int
    /// The operations, first to last.
    public var steps: [Step]
    /// The name of each class, in the order of the scores' columns.
    public var classNames: [String]
    /// True when the scores are probabilities (softmax), false for decision values (SVM).
    public var scoresAreProbabilities: Bool

    /// The plan of `classifier`; its pixel treatment comes from the
    /// ``InputContract`` stored with it.
    public init(classifier: Classifier) throws {
        let contract = try InputContract(metadata: classifier.extra)
        var steps: [Step] = []
        if contract.pixelScale != 1 { steps.append(.scale(contract.pixelScale)) }
        if contract.binarize { steps.append(.binarize) }
        switch classifier.head {
        case .softmax(let network):
            if let extractor = classifier.extractor { steps += try Self.steps(of: extractor) }
            steps += try Self.steps(of: classifier.preprocessing)
            steps += network.hidden.map { .dense($0) }
            steps += [.dense(network.output), .softmax]
        case .svm(let svm):
            if let extractor = classifier.extractor { steps += try Self.steps(of: extractor) }
            steps += try Self.steps(of: classifier.preprocessing)
            steps.append(.dense(DenseLayer(weights: svm.weights, bias: svm.bias, activation: .linear)))
        }
        self.init(inputCount: classifier.inputCount, steps: steps, classNames: classifier.classNames,
                  scoresAreProbabilities: classifier.kind == "softmax")
        try validate()
    }

    /// A plan of explicit steps (for tests and other front-ends).
    public init(inputCount: Int, steps: [Step], classNames: [String], scoresAreProbabilities: Bool) {
        (self.inputCount, self.steps, self.classNames, self.scoresAreProbabilities) = (inputCount, steps, classNames, scoresAreProbabilities)
    }

    /// The steps of a fitted preprocessing pipeline.
    static func steps(of pipeline: PreprocessingPipeline) throws -> [Step] {
        try pipeline.steps.flatMap { step -> [Step] in
            switch step {
            case let gcn as GlobalContrastNormalization:
                return [.contrastNormalize(gcn)]
            case is RemoveExampleMean:
                return [.removeRowMean]
            case let interleave as ChannelInterleave:
                // A permutation of the columns: one window of every value, read from its planar column.
                return interleave.channels > 1 ? [.patches(indices: interleave.sourceColumns, positions: 1, size: interleave.size)] : []
            case let zca as ZCA:
                guard let mean = zca.mean, let whitening = zca.whitening else { throw unfitted("zca") }
                return [.subtract(mean), .project(whitening)]
            case let standardization as Standardization:
                guard let mean = standardization.mean, var inverse = standardization.std else { throw unfitted("standardize") }
                let eps = standardization.stdEps
                inverse.apply { 1 / (eps + $0) } // as Standardization.transform computes it
                return [.subtract(mean), .multiplyColumns(inverse)]
            case let pca as PCA:
                guard let mean = pca.mean, let projection = pca.projection else { throw unfitted("pca") }
                return [.subtract(mean), .project(projection)]
            default:
                throw StrataError.invalidArgument(name: "export", reason: "the preprocessing step \(type(of: step).kind) has no exported form")
            }
        }
    }

    private static func unfitted(_ kind: String) -> StrataError {
        StrataError.invalidArgument(name: "export", reason: "the \(kind) step was never fitted")
    }

    /// The steps of a feature extractor: patches, the stack's preprocessing
    /// and layers, its encoding, pooling; after those of its lower stage,
    /// whose pooled maps are its input.
    static func steps(of extractor: FeatureExtractor) throws -> [Step] {
        let lowerSteps = try extractor.lowerStage.map { try Self.steps(of: $0) } ?? []
        var steps: [Step] = []
        let depth = extractor.depth ?? extractor.stack.layers.count
        if let convolution = extractor.convolution {
            let (indices, positions, size) = try patchIndices(convolution)
            steps.append(.patches(indices: indices, positions: positions, size: size))
        }
        steps += try Self.steps(of: extractor.stack.preprocessing)
        if extractor.stack.layers.contains(where: { $0 is LocalFeatureStage }), extractor.convolution != nil || extractor.encoding != .hiddenMeans {
            throw StrataError.invalidArgument(name: "export", reason: "a stack of local stages is exported with its own features (hidden means), not applied convolutionally or re-encoded")
        }
        // Each layer's own transform: an affine layer, K-means' triangle encoding, or a local stage.
        let layers: [Step] = extractor.stack.layers.map { layer in
            if let stage = layer as? LocalFeatureStage { return .localStage(stage) }
            return layer is KMeans ? .centroids(layer.filters, hard: false) : .dense(layer.denseLayer)
        }
        let chosen = extractor.stack.layers[depth - 1]
        switch extractor.encoding {
        case .hiddenMeans:
            steps += layers.prefix(depth)
        case .softThreshold(let alpha):
            steps += layers.prefix(depth - 1)
            steps.append(.softThreshold(dictionary: Encoding.dictionary(of: chosen), alpha: alpha))
        case .triangle, .hardAssignment:
            steps += layers.prefix(depth - 1)
            steps.append(.centroids(chosen.filters, hard: extractor.encoding == .hardAssignment))
        }
        if let convolution = extractor.convolution {
            let grid = convolution.pooling
            steps.append(.pool(regionOf: convolution.regionOfPositions, regions: grid.regions, operation: grid.operation))
        }
        guard let grid = extractor.lowerPooling, let lower = extractor.lowerStage else { return lowerSteps + steps }
        return lowerSteps + [.branches([steps, repoolSteps(lower, grid: grid)])]
    }

    /// The lower maps `(n, cells * h)`, region-major, pooled again over
    /// `grid`: each cell as a position of one image, then pooled. Means are
    /// weighted by the positions behind each cell (sums of the cells' sums,
    /// divided by the coarse counts), as ``FeatureExtractor`` computes them.
    static func repoolSteps(_ lower: FeatureExtractor, grid: Pooling) -> [Step] {
        let plan = Repooling(lower, grid: grid), hidden = plan.hidden
        let cells: Step = .patches(indices: Array(0 ..< plan.coarseOf.count * hidden), positions: plan.coarseOf.count, size: hidden)
        guard grid.operation == .mean else { return [cells, .pool(regionOf: plan.coarseOf, regions: grid.regions, operation: grid.operation)] }
        let sums = Tensor(shape: [plan.fineCounts.count * hidden], scalars: plan.fineCounts.flatMap { [Float](repeating: $0, count: hidden) })
        let inverse = Tensor(shape: [grid.regions * hidden], scalars: plan.coarseCounts.flatMap { [Float](repeating: 1 / $0, count: hidden) })
        return [.multiplyColumns(sums), cells, .pool(regionOf: plan.coarseOf, regions: grid.regions, operation: .sum), .multiplyColumns(inverse)]
    }

    /// The pixel behind every value of every window, found by extracting the
    /// patches of an image whose pixels hold their own index: the layout is
    /// the patch extractor's own, whatever it is.
    static func patchIndices(_ convolution: Convolution) throws -> (indices: [Int], positions: Int, size: Int) {
        let geometry = convolution.image
        guard geometry.size <= 1 << 24 else {
            throw StrataError.invalidArgument(name: "export", reason: "images of \(geometry.size) values are too large to index exactly")
        }
        let numbered = Tensor(shape: [1, geometry.size], scalars: (0 ..< geometry.size).map(Float.init))
        var indices: [Int] = [], positions = 0, size = 0
        try PatchExtractor.forEachBatch(of: numbered, geometry: geometry, shape: convolution.patchShape, imagesPerBatch: 1) { patches, _ in
            (positions, size) = (patches.rows, patches.columns)
            indices = patches.scalars.map { Int($0) }
        }
        return (indices, positions, size)
    }
}
