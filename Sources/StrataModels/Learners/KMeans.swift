import Foundation
import StrataCore
import StrataData

/// K-means as a layer that learns without labels, the dictionary learner of
/// Coates, Lee and Ng (2011, "An Analysis of Single-Layer Networks in
/// Unsupervised Feature Learning"): trained on whitened patches like the other
/// learners, saved in the same checkpoints and stacks, its centroids drawn by
/// `show-weights`.
///
/// - Classic K-means: Lloyd's algorithm, one iteration per epoch. Each
///   minibatch is assigned to the nearest centroid (`argmax x·c - |c|²/2`,
///   one GEMM per batch) and summed per centroid; at the epoch's end every
///   centroid moves to the mean of its examples, so the objective (mean
///   squared distance to the assigned centroid) never rises.
/// - Spherical K-means (Coates and Ng 2012, "Learning Feature Representations
///   with K-means"): unit-length centroids, each example assigned to the
///   centroid of largest `|x·d|` with code `s = x·d`; at the epoch's end the
///   damped update `d = normalize(Σ s x + d)`. Its objective is the
///   reconstruction error `|x|² - s²`.
///
/// Either way a centroid no example chose is re-initialized to a random
/// example of the epoch (reservoir-sampled, seeded). Learning rate and
/// momentum do not apply. Shapes: `centroids` `(visible, k)`, column j
/// centroid j (the layout of every learner's filters).
public struct KMeans: UnsupervisedLearner {
    public static let kind = "kmeans"

    /// The number of centroids, the variant and the seed, saved with the centroids.
    public struct Configuration: Codable, Equatable, Sendable {
        public var visibleCount = 0
        /// Centroids (the features of ``KMeans/transform(_:)``).
        public var hiddenCount = 400
        /// Spherical K-means (unit-length centroids, dot-product assignment, damped updates) rather than classic.
        public var spherical = false
        public var seed: UInt64 = 1

        public init(visibleCount: Int, hiddenCount: Int, spherical: Bool = false, seed: UInt64 = 1) {
            (self.visibleCount, self.hiddenCount, self.spherical, self.seed) = (visibleCount, hiddenCount, spherical, seed)
        }

        public func validate() throws {
            try validateLayerSize(visible: visibleCount, hidden: hiddenCount, what: "K-means")
        }
    }

    public let configuration: Configuration
    /// `(visible, k)`.
    public package(set) var centroids: Tensor
    // The epoch in progress: per-centroid sums `(k, visible)`, counts `(k)`,
    // the reservoir of examples `(k, visible)` and how many were seen (`[seen]`;
    // a Float, exact up to 2^24 examples an epoch; past that, later examples
    // enter the reservoir a little less often than uniform sampling would).
    package var sums: Tensor, counts: Tensor, reservoir: Tensor, seen: Tensor
    // Each reservoir slot's example, numbered within the epoch (-1: none yet):
    // across ranks the slot keeps the example of the largest number, as one process would.
    package var owners: Tensor
    // Scratch: the batch's products with the centroids, and each centroid's squared length.
    var products = Tensor(zeros: [0, 0])

    /// New centroids: normal with standard deviation 0.1 (unit length when spherical), seeded.
    public init(_ configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        let (v, k) = (configuration.visibleCount, configuration.hiddenCount)
        var random = RandomSource(seed: configuration.seed)
        centroids = Tensor(zeros: [v, k])
        centroids.withUnsafeMutableBufferPointer { random.fillNormal($0, standardDeviation: 0.1) }
        (sums, counts, reservoir, seen) = (Tensor(zeros: [k, v]), Tensor(zeros: [k]), Tensor(zeros: [k, v]), Tensor(zeros: [1]))
        owners = Tensor(shape: [k], repeating: -1)
        if configuration.spherical { centroids.normalizeColumns() }
    }

    public var visibleCount: Int { configuration.visibleCount }
    public var hiddenCount: Int { configuration.hiddenCount }
    public var filters: Tensor { centroids }

    /// The triangle encoding (Coates, Lee and Ng 2011) of `x` `(n, visible)`:
    /// `max(0, mean_k(z) - z_k)` with `z_k` the distance to centroid k, `(n, k)`.
    /// About half the features are zero: those of the centroids farther than average.
    public func transform(_ x: Tensor) -> Tensor { Encoding.triangle(x, centroids: centroids) }

    /// `x·c - |c|²/2` for every centroid, an affine layer whose largest output
    /// is the nearest centroid (it is `(|x|² - |x - c|²) / 2`): what a network
    /// fine-tuned over a K-means stack starts from.
    public var denseLayer: DenseLayer {
        let lengths = centroids.columnSquaredNorms()
        return DenseLayer(weights: centroids, bias: Tensor(shape: [hiddenCount], scalars: lengths.map { -$0 / 2 }), activation: .linear)
    }

    // MARK: Training

    /// Assigns the batch, adds it to the epoch's sums and reservoir, and
    /// returns the batch's mean objective under the epoch's centroids. With
    /// per-example random numbers (``StepHyperparameters/firstExample``), the
    /// reservoir slot of the epoch's example m is drawn from m's own stream,
    /// so ranks sampling their shares fill the reservoir one process would.
    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        let (n, v, k) = (batch.rows, visibleCount, hiddenCount)
        let examples = hyper.firstExample.map { ExampleStreams(firstExample: $0, random: &random) }
        guard batch.columns == v else { throw StrataError.shapeMismatch(context: "a K-means batch", expected: [n, v], found: batch.shape) }
        ensureShape(&products, n, k)
        products.formProduct(batch, centroids)
        let halfLengths = centroids.columnSquaredNorms().map { $0 / 2 }
        let spherical = configuration.spherical
        var total = 0.0
        batch.withUnsafeBufferPointer { x in
        products.withUnsafeBufferPointer { p in
        sums.withUnsafeMutableBufferPointer { sum in
        counts.withUnsafeMutableBufferPointer { count in
        reservoir.withUnsafeMutableBufferPointer { kept in
        owners.withUnsafeMutableBufferPointer { owner in
            for i in 0 ..< n {
                let row = x.baseAddress! + i * v, scores = p.baseAddress! + i * k
                var best = 0, bestScore = -Float.infinity
                for j in 0 ..< k {
                    let score = spherical ? abs(scores[j]) : scores[j] - halfLengths[j]
                    if score > bestScore { (best, bestScore) = (j, score) }
                }
                var length: Float = 0
                for t in 0 ..< v { length += row[t] * row[t] }
                // Classic: |x - c|² = |x|² - 2 (x·c - |c|²/2). Spherical: |x|² - s².
                let code = spherical ? scores[best] : 1
                total += Double(spherical ? length - code * code : max(0, length - 2 * bestScore))
                let target = sum.baseAddress! + best * v
                for t in 0 ..< v { target[t] += code * row[t] }
                count[best] += 1
                // Reservoir sampling: each example of the epoch ends in slot r with equal probability.
                var index = Int(seen.scalars[0]), slot: Int
                seen.scalars[0] += 1
                if let examples {
                    index = hyper.epochPosition + examples.firstExample + i
                    var stream = examples.stream(row: i, site: 7)
                    slot = index < k ? index : Int(stream.next() % UInt64(index + 1))
                } else {
                    slot = index < k ? index : Int.random(in: 0 ... index, using: &random)
                }
                if slot < k, Float(index) >= owner[slot] {
                    (kept.baseAddress! + slot * v).update(from: row, count: v)
                    owner[slot] = Float(index)
                }
            }
        } } } } } }
        return total / Double(max(n, 1))
    }

    /// Nothing to combine after a step: the centroids move only at the
    /// epoch's end, from sums that ``combineEpoch(in:)`` adds over the ranks.
    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {}

    /// Lloyd's (or the spherical, damped) centroid update from the epoch's
    /// sums; empty clusters take reservoir examples; the sums start over.
    public mutating func finishEpoch() {
        let (v, k) = (visibleCount, hiddenCount)
        let available = min(Int(seen.scalars[0]), k)
        var nextSpare = 0
        centroids.withUnsafeMutableBufferPointer { c in
            for j in 0 ..< k {
                let count = counts.scalars[j]
                if count == 0 {
                    guard nextSpare < available else { continue }
                    for t in 0 ..< v { c[t * k + j] = reservoir.scalars[nextSpare * v + t] }
                    nextSpare += 1
                } else if configuration.spherical {
                    for t in 0 ..< v { c[t * k + j] += sums.scalars[j * v + t] }
                } else {
                    for t in 0 ..< v { c[t * k + j] = sums.scalars[j * v + t] / count }
                }
            }
        }
        if configuration.spherical { centroids.normalizeColumns() }
        // The next epoch samples afresh (its first k examples fill the slots before any is used).
        (sums, counts, seen, reservoir) = (Tensor(zeros: [k, v]), Tensor(zeros: [k]), Tensor(zeros: [1]), Tensor(zeros: [k, v]))
        owners = Tensor(shape: [k], repeating: -1)
    }

    /// `objective` (the mean squared distance to the nearest centroid, or the
    /// spherical reconstruction error), the fraction of centroids used, and the centroids' lengths.
    public func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double] {
        var copy = self
        (copy.sums, copy.counts, copy.seen) = (Tensor(zeros: [hiddenCount, visibleCount]), Tensor(zeros: [hiddenCount]), Tensor(zeros: [1]))
        var objective = 0.0, start = 0
        while start < x.rows {
            let end = min(start + 4096, x.rows)
            var scratch = RandomSource(seed: 1)
            objective += (try? copy.trainStep(x.rows(start ..< end), hyper: StepHyperparameters(learningRate: 0), random: &scratch)).map { $0 * Double(end - start) } ?? .nan
            start = end
        }
        var channels: [String: Double] = ["objective": objective / Double(max(x.rows, 1)),
                                          "centroids_used": Double(copy.counts.scalars.filter { $0 > 0 }.count) / Double(hiddenCount)]
        statistics("centroid_norms", Tensor(shape: [hiddenCount], scalars: centroids.columnSquaredNorms().map { $0.squareRoot() }), into: &channels)
        return channels
    }

    // MARK: Checkpoints

    public var parameters: [String: Tensor] { ["centroids": centroids] }
    public var trainingState: [String: Tensor] { ["sums": sums, "counts": counts, "reservoir": reservoir, "seen": seen, "reservoir_owner": owners] }
    public var configurationJSON: String { encodeJSON(configuration) }

    public init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws {
        let c = try decodeJSON(Configuration.self, configurationJSON, what: "learner_configuration")
        try self.init(c)
        let (v, k) = (c.visibleCount, c.hiddenCount)
        centroids = try requireTensor(parameters, "centroids", shape: [v, k])
        if !trainingState.isEmpty {
            (sums, counts) = (try requireTensor(trainingState, "sums", shape: [k, v]), try requireTensor(trainingState, "counts", shape: [k]))
            (reservoir, seen) = (try requireTensor(trainingState, "reservoir", shape: [k, v]), try requireTensor(trainingState, "seen", shape: [1]))
            // Checkpoints before the ranks' merge existed lack the owners: a slot then keeps its example until a later one takes it.
            if trainingState["reservoir_owner"] != nil { owners = try requireTensor(trainingState, "reservoir_owner", shape: [k]) }
        }
    }
}
