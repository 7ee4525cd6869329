import Foundation
import StrataCore
import StrataData

/// One stage of Le et al. (2012), "Building high-level features using large
/// scale unsupervised learning": locally connected filters (each position's
/// units with weights of their own; tied across positions, a convolution),
/// L2 pooling, local contrast normalization, trained without labels by the
/// reconstruction-ICA objective with the pooling units' sparsity:
///
/// ```
/// J = 1/n sum_i ( ||W2 W1^T x_i - x_i||^2  +  lambda sum_j sqrt(eps + H_j (W1^T x_i)^2) )
/// ```
///
/// `W1` (the encoder, `(positions, fieldSize, maps)`) and `W2` (the decoder,
/// `(positions, maps, fieldSize)`) are untied, `H` is the fixed L2 pooling,
/// `lambda` 0.1 as in the paper. Each unit's decoding filter is kept to norm
/// at most ``Configuration/decoderMaxNorm`` after every step (without it the
/// objective falls by shrinking `W1` and growing `W2`). ``transform(_:)``
/// gives the stage's output, `LCN(L2pool(W1^T x))`, the next stage's input.
///
/// Split across processes by image region (``ModelPartExchange``,
/// ``LocalStagePartition``) each part holds only its positions' weights and
/// momentum, and a step sends only the border values; one process and any
/// split compute the same step (to rounding in the shared rows' sums).
public struct LocalFeatureStage: UnsupervisedLearner {
    public static let kind = "local_stage"

    /// The stage's shape, objective weights and seed, saved with its weights.
    public struct Configuration: Codable, Equatable, Sendable, CheckedConfiguration {
        public var geometry: LocalStageGeometry
        /// One set of filters for every position (a convolution) instead of each position's own.
        public var tied = false
        /// `lambda`, the weight of the pooling units' sparsity.
        public var sparsityWeight: Float = 0.1
        /// `eps` inside the pooling's square root.
        public var poolEpsilon: Float = 0.01
        /// The largest norm of a unit's decoding filter (0: unconstrained).
        public var decoderMaxNorm: Float = 1
        /// Weights start uniform in [-irange, irange]; 0: `1 / sqrt(fieldSize)`.
        public var irange: Float = 0
        public var seed: UInt64 = 1

        public init(geometry: LocalStageGeometry) { self.geometry = geometry }

        public func validate() throws {
            try geometry.validate()
            guard sparsityWeight >= 0, sparsityWeight.isFinite else { throw StrataError.invalidArgument(name: "sparsity_weight", reason: "must be 0 or more, found \(sparsityWeight)") }
            guard poolEpsilon > 0, poolEpsilon.isFinite else { throw StrataError.invalidArgument(name: "pool_epsilon", reason: "must be positive, found \(poolEpsilon)") }
            guard decoderMaxNorm >= 0, irange >= 0 else { throw StrataError.invalidArgument(name: "decoder_max_norm", reason: "norms and ranges are 0 or more") }
        }
    }

    public private(set) var configuration: Configuration
    /// This process's part of the stage (the whole stage in one process).
    public internal(set) var partition: LocalStagePartition
    /// The other parts, when the stage is split across processes.
    public internal(set) var exchange: (any ModelPartExchange)?
    /// `(ownPositions, fieldSize, maps)` and `(ownPositions, maps, fieldSize)`; one position when tied.
    public internal(set) var encoder: Tensor, decoder: Tensor
    var encoderVelocity: Tensor, decoderVelocity: Tensor
    var optimizerState = OptimizerState()
    var scratch = LocalStageScratch()
    /// Buffers ``transform(_:)`` borrows, shared by this value's copies and
    /// held by one caller at a time, so evaluating batch after batch
    /// allocates nothing; `scratchBorrowed` marks a copy holding them.
    var transformScratch = LocalStageScratch(), scratchBorrowed = false
    /// Training steps taken by this value and the values they sent to other parts (not saved).
    public internal(set) var stepTraffic = (steps: 0, values: 0)

    public var geometry: LocalStageGeometry { configuration.geometry }
    public var visibleCount: Int { geometry.inputSize }
    public var hiddenCount: Int { geometry.outputSize }
    var pooling: L2Pooling {
        L2Pooling(size: geometry.poolSize, stride: geometry.poolStride, epsilon: configuration.poolEpsilon, columns: geometry.filterColumns, maps: geometry.maps)
    }

    /// A new stage, whole, or this process's part of it when `exchange` links
    /// it to the other parts. Each position's first weights come from a
    /// generator seeded by the seed and the position, so a part starts with
    /// exactly the weights the whole stage has there, and never makes the others'.
    public init(_ configuration: Configuration, exchange: (any ModelPartExchange)? = nil) throws {
        try configuration.validate()
        let g = configuration.geometry
        let partition = try exchange.map { try LocalStagePartition.plan(g, parts: $0.parts)[$0.part] } ?? .whole(g)
        (self.configuration, self.partition, self.exchange) = (configuration, partition, exchange)
        let owned = configuration.tied ? 0 ..< 1 : partition.positions(g)
        let (f, k) = (g.fieldSize, g.maps), range = configuration.irange > 0 ? configuration.irange : 1 / Float(f).squareRoot()
        var encoder = Tensor(zeros: [owned.count, f, k]), decoder = Tensor(zeros: [owned.count, k, f])
        encoder.withUnsafeMutableBufferPointer { e in
            decoder.withUnsafeMutableBufferPointer { d in
                for (i, position) in owned.enumerated() {
                    var random = RandomSource(seed: configuration.seed &+ UInt64(position) &* 0x9E37_79B9_7F4A_7C15)
                    for j in 0 ..< f * k { e[i * f * k + j] = (2 * random.nextUnitFloat() - 1) * range }
                    for j in 0 ..< f * k { d[i * f * k + j] = (2 * random.nextUnitFloat() - 1) * range }
                }
            }
        }
        (self.encoder, self.decoder) = (encoder, decoder)
        (encoderVelocity, decoderVelocity) = (Tensor(zeros: encoder.shape), Tensor(zeros: decoder.shape))
        projectDecoder()
    }

    /// Keeps each unit's decoding filter within ``Configuration/decoderMaxNorm``.
    mutating func projectDecoder() {
        let limit = configuration.decoderMaxNorm, f = geometry.fieldSize
        guard limit > 0 else { return }
        decoder.withUnsafeMutableBufferPointer { d in
            for row in 0 ..< d.count / f {
                var sum: Float = 0
                for j in 0 ..< f { sum += d[row * f + j] * d[row * f + j] }
                let norm = sum.squareRoot()
                if norm > limit { for j in 0 ..< f { d[row * f + j] *= limit / norm } }
            }
        }
    }

    /// Momentum of zero for a stage gathered for use (``gatheredForUse()``), which holds none, before it trains again.
    mutating func holdVelocities() {
        guard encoderVelocity.count != encoder.count else { return }
        (encoderVelocity, decoderVelocity) = (Tensor(zeros: encoder.shape), Tensor(zeros: decoder.shape))
    }

    public var parameters: [String: Tensor] { ["encoder": encoder, "decoder": decoder] }

    public var trainingState: [String: Tensor] {
        guard encoderVelocity.count == encoder.count else { return optimizerState.tensors } // gathered for use: no momentum yet
        return optimizerState.trainingState(velocities: ["velocity_encoder": encoderVelocity, "velocity_decoder": decoderVelocity])
    }

    public var configurationJSON: String { encodeJSON(configuration) }

    /// The whole stage from a checkpoint (``partitioned(_:)`` cuts a part of it).
    public init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws {
        let configuration = try decodeChecked(Configuration.self, configurationJSON, what: "local stage configuration")
        let g = configuration.geometry, count = configuration.tied ? 1 : g.positions
        (self.configuration, partition, exchange) = (configuration, .whole(g), nil)
        encoder = try requireTensor(parameters, "encoder", shape: [count, g.fieldSize, g.maps])
        decoder = try requireTensor(parameters, "decoder", shape: [count, g.maps, g.fieldSize])
        if trainingState.isEmpty {
            (encoderVelocity, decoderVelocity) = (Tensor(zeros: encoder.shape), Tensor(zeros: decoder.shape))
        } else {
            encoderVelocity = try requireTensor(trainingState, "velocity_encoder", shape: encoder.shape)
            decoderVelocity = try requireTensor(trainingState, "velocity_decoder", shape: decoder.shape)
            optimizerState = try OptimizerState(checkpoint: trainingState, shapes: ["encoder": encoder.shape, "decoder": decoder.shape])
        }
    }

    /// Each unit's encoding filter laid out over the whole input,
    /// `(visible, positions x maps)`: column `p * maps + k` is unit `k` of
    /// position `p`, zero outside its receptive field, so filter pictures show
    /// each unit where it looks. This part's positions only, when split.
    public var filters: Tensor {
        let g = geometry, owned = partition.positions(g)
        var out = Tensor(zeros: [g.inputSize, g.positions * g.maps])
        let rowValues = g.field * g.channels
        out.withUnsafeMutableBufferPointer { o in
            encoder.withUnsafeBufferPointer { e in
                for position in owned {
                    let (py, px) = (position / g.filterColumns, position % g.filterColumns)
                    let weights = configuration.tied ? 0 : (position - owned.lowerBound) * g.fieldSize * g.maps
                    for j in 0 ..< g.fieldSize {
                        let pixel = ((py * g.stride + j / rowValues) * g.inputWidth + px * g.stride) * g.channels + j % rowValues
                        for k in 0 ..< g.maps { o[pixel * g.positions * g.maps + position * g.maps + k] = e[weights + j * g.maps + k] }
                    }
                }
            }
        }
        return out
    }

    /// The filter layer alone (``filters`` with no bias, linear): the
    /// pooling and normalization that follow are not a dense layer, so a
    /// network is not built from a local stage (fine-tuning and export refuse it).
    public var denseLayer: DenseLayer {
        DenseLayer(weights: filters, bias: Tensor(zeros: [geometry.filterSize]), activation: .linear)
    }

    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {
        encoder.withUnsafeMutableBufferPointer { body($0) }
        decoder.withUnsafeMutableBufferPointer { body($0) }
        if velocities {
            holdVelocities()
            encoderVelocity.withUnsafeMutableBufferPointer { body($0) }
            decoderVelocity.withUnsafeMutableBufferPointer { body($0) }
        }
    }
}
