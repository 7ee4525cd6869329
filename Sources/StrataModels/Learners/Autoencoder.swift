import StrataCore
import StrataData

/// An autoencoder layer: encoder `h = f(x~ W + c)`, decoder `r = g(h W' + b)`
/// with `W' = W^T` when tied, trained to reconstruct the clean input from a
/// corrupted one (Vincent et al. 2010; pylearn2's `Autoencoder`,
/// `DenoisingAutoencoder`, `ContractiveAutoencoder`).
///
/// ```
/// cost = loss(r, x)                                        (summed over features, mean over batch)
///      + sparsityWeight * sum_j KL(rho || mean_n h_nj)      (sigmoid encoder)
///      + contractiveWeight * mean_n sum_j f'(pre_nj)^2 |W_:j|^2
/// ```
///
/// Gradients are written by hand against BLAS: five GEMMs per batch.
/// Shapes: `weights` `(visible, hidden)`, `decoderWeights` `(hidden, visible)`.
public struct Autoencoder: UnsupervisedLearner {
    public static let kind = "autoencoder"

    /// How the input is damaged before encoding (pylearn2's corruptors).
    public enum Corruption: Codable, Equatable, Sendable {
        case none
        /// Each value set to 0 with probability `probability` (`BinomialCorruptor`).
        case masking(probability: Float)
        /// Gaussian noise of `standardDeviation` added (`GaussianCorruptor`).
        case gaussian(standardDeviation: Float)
        /// Each value, with probability `probability`, set to 0 or 1 at random (`SaltPepperCorruptor`).
        case saltAndPepper(probability: Float)
    }

    /// The reconstruction loss.
    public enum Loss: String, Codable, Sendable {
        /// `sum over features (r - x)^2`, mean over the batch.
        case squaredError
        /// `-sum [x log r + (1 - x) log(1 - r)]`, mean over the batch; needs a sigmoid decoder.
        case crossEntropy
    }

    /// An autoencoder's sizes, units, loss, corruption, penalties and seed, saved with its weights.
    public struct Configuration: Codable, Equatable, Sendable {
        public var visibleCount: Int
        public var hiddenCount: Int
        public var tied = true
        public var encoder: Activation = .sigmoid
        public var decoder: Activation = .sigmoid
        public var loss: Loss = .crossEntropy
        public var corruption: Corruption = .none
        /// Target mean activation rho of the sparsity penalty.
        public var sparsityTarget: Float = 0.05
        /// Weight of the KL sparsity penalty (0: off).
        public var sparsityWeight: Float = 0
        /// Weight of the contractive penalty (0: off).
        public var contractiveWeight: Float = 0
        /// Encoder weights start uniform in [-irange, irange]; an untied decoder in half that.
        public var irange: Float = 0.05
        public var seed: UInt64 = 1

        public init(visibleCount: Int, hiddenCount: Int) {
            (self.visibleCount, self.hiddenCount) = (visibleCount, hiddenCount)
        }

        public func validate() throws {
            try validateLayerSize(visible: visibleCount, hidden: hiddenCount, what: "autoencoder")
            guard irange > 0 else { throw StrataError.invalidArgument(name: "irange", reason: "\(irange) must be positive") }
            guard Activation.elementwise.contains(encoder), Activation.elementwise.contains(decoder) else {
                throw StrataError.invalidArgument(name: "encoder", reason: "maxout is a fine-tuning layer; an autoencoder's encoder and decoder are element-wise")
            }
            if loss == .crossEntropy && decoder != .sigmoid {
                throw StrataError.invalidArgument(name: "loss", reason: "cross-entropy needs a sigmoid decoder (outputs in (0, 1)); use squared error with a \(decoder.rawValue) decoder")
            }
            if sparsityWeight > 0 {
                guard encoder == .sigmoid else { throw StrataError.invalidArgument(name: "sparsity", reason: "the KL sparsity penalty needs a sigmoid encoder") }
                guard sparsityTarget > 0, sparsityTarget < 1 else { throw StrataError.invalidArgument(name: "sparsity target", reason: "\(sparsityTarget) must lie in (0, 1)") }
            }
            guard sparsityWeight >= 0, contractiveWeight >= 0 else { throw StrataError.invalidArgument(name: "penalty weight", reason: "must not be negative") }
            switch corruption {
            case .none: break
            case .masking(let p), .saltAndPepper(let p):
                guard p >= 0, p < 1 else { throw StrataError.invalidArgument(name: "corruption level", reason: "\(p) must lie in [0, 1)") }
            case .gaussian(let s):
                guard s >= 0 else { throw StrataError.invalidArgument(name: "corruption level", reason: "\(s) must not be negative") }
            }
        }
    }

    public package(set) var configuration: Configuration
    /// Encoder weights `(visible, hidden)`.
    public package(set) var weights: Tensor
    /// Decoder weights `(hidden, visible)`; unused (empty) when tied.
    public package(set) var decoderWeights: Tensor
    /// `(hidden)`: c.
    public package(set) var hiddenBias: Tensor
    /// `(visible)`: b.
    public package(set) var visibleBias: Tensor

    var velocityW: Tensor, velocityD: Tensor, velocityC: Tensor, velocityB: Tensor
    /// Adam's second moments and update count (``OptimizerState``).
    var optimizerState = OptimizerState()
    var gradW: Tensor, gradD: Tensor, gradC: Tensor, gradB: Tensor
    var elementLoss = Tensor(zeros: [0, 0])
    var corrupted = Tensor(zeros: [0, 0]), hidden = Tensor(zeros: [0, 0]), output = Tensor(zeros: [0, 0]), deltaHidden = Tensor(zeros: [0, 0])
    /// Set on a band of hidden units of an autoencoder split across processes
    /// (``SplitAutoencoder``): the decoder's pre-activation is summed over the
    /// parts (each part's units' share; the visible bias added once, by part 0),
    /// and so are the penalties, so every part holds the whole cost and its delta.
    var partExchange: (any ModelPartExchange)?

    /// A new autoencoder: encoder weights uniform in [-irange, irange] (seeded),
    /// an untied decoder's in half that, zero biases.
    public init(_ configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        let (v, h) = (configuration.visibleCount, configuration.hiddenCount)
        var random: RandomSource
        (weights, random) = initialWeights(visible: v, hidden: h, irange: configuration.irange, seed: configuration.seed)
        decoderWeights = configuration.tied ? Tensor(zeros: [0, v])
            : .uniform(shape: [h, v], low: -configuration.irange / 2, high: configuration.irange / 2, using: &random)
        hiddenBias = Tensor(zeros: [h])
        visibleBias = Tensor(zeros: [v])
        (velocityW, velocityD, velocityC, velocityB) = (Tensor(zeros: weights.shape), Tensor(zeros: decoderWeights.shape), Tensor(zeros: [h]), Tensor(zeros: [v]))
        (gradW, gradD, gradC, gradB) = (Tensor(zeros: weights.shape), Tensor(zeros: decoderWeights.shape), Tensor(zeros: [h]), Tensor(zeros: [v]))
    }

    public var visibleCount: Int { configuration.visibleCount }
    public var hiddenCount: Int { configuration.hiddenCount }
    public var filters: Tensor { weights }

    // MARK: Forward

    /// `h = f(x W + c)` into `h`.
    func encode(_ x: Tensor, into h: inout Tensor) {
        ensureShape(&h, x.rows, hiddenCount)
        h.formProduct(x, weights)
        h.addToEachRow(hiddenBias)
        h.withUnsafeMutableBufferPointer { configuration.encoder.apply($0) }
    }

    /// The decoder's pre-activation `z = h W' + b` into `z` (the loss works on z).
    func decodePreactivation(_ h: Tensor, into z: inout Tensor) {
        ensureShape(&z, h.rows, visibleCount)
        if configuration.tied { z.formProduct(h, weights, transposeB: true) } else { z.formProduct(h, decoderWeights) }
        guard let partExchange else { return z.addToEachRow(visibleBias) }
        if partExchange.part == 0 { z.addToEachRow(visibleBias) }
        z.withUnsafeMutableBufferPointer { partExchange.sum($0) }
    }

    /// The hidden representation of `x` (no corruption).
    public func transform(_ x: Tensor) -> Tensor {
        var h = Tensor(zeros: [x.rows, hiddenCount])
        encode(x, into: &h)
        return h
    }

    /// The reconstruction `g(f(x W + c) W' + b)` of `x`.
    public func reconstruct(_ x: Tensor) -> Tensor {
        var z = Tensor(zeros: [0, 0])
        decodePreactivation(transform(x), into: &z)
        z.withUnsafeMutableBufferPointer { configuration.decoder.apply($0) }
        return z
    }

    /// Writes a corrupted copy of `x` into `out`.
    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {
        weights.withUnsafeMutableBufferPointer { body($0) }
        if !configuration.tied { decoderWeights.withUnsafeMutableBufferPointer { body($0) } }
        hiddenBias.withUnsafeMutableBufferPointer { body($0) }
        visibleBias.withUnsafeMutableBufferPointer { body($0) }
        guard velocities else { return }
        velocityW.withUnsafeMutableBufferPointer { body($0) }
        if !configuration.tied { velocityD.withUnsafeMutableBufferPointer { body($0) } }
        velocityC.withUnsafeMutableBufferPointer { body($0) }
        velocityB.withUnsafeMutableBufferPointer { body($0) }
    }

    func corrupt(_ x: Tensor, into out: inout Tensor, random: inout RandomSource, examples: ExampleStreams? = nil) {
        out.scalars = x.scalars
        out.reshape(x.shape)
        let corruption = configuration.corruption
        if let examples {
            examples.forEachRow(of: &out, site: 0) { Self.corruptInPlace($0, corruption, random: &$1) }
            return
        }
        out.withUnsafeMutableBufferPointer { Self.corruptInPlace($0, corruption, random: &random) }
    }

    /// Applies `corruption` to `buffer` in place.
    static func corruptInPlace(_ buffer: UnsafeMutableBufferPointer<Float>, _ corruption: Corruption, random: inout RandomSource) {
        switch corruption {
        case .none: break
        case .masking(let p):
            // A value is kept when its 24-bit uniform u has u 2^-24 < 1 - p, that is
            // u < threshold. The keep mask is built with integer arithmetic: a
            // branch on random data mispredicts about once in three values.
            let threshold = Int64(((1 - p) * 0x1p24).rounded(.up))
            @inline(__always) func keepMask(_ u: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: (Int64(u) &- threshold) &>> 63) }
            guard let base = buffer.baseAddress else { return }
            let count = buffer.count
            UnsafeMutableRawPointer(base).withMemoryRebound(to: UInt32.self, capacity: count) { values in
                var i = 0
                while i + 1 < count {
                    let bits = random.next()
                    values[i] &= keepMask(bits &>> 40)
                    values[i + 1] &= keepMask((bits &>> 16) & 0xFF_FFFF)
                    i += 2
                }
                if i < count { values[i] &= keepMask(random.next() &>> 40) }
            }
        case .gaussian(let s):
            random.addNormal(buffer, standardDeviation: s)
        case .saltAndPepper(let p):
            for i in buffer.indices {
                let bits = random.next()
                if Float(bits &>> 40) * 0x1p-24 < p { buffer[i] = bits & 1 == 0 ? 0 : 1 }
            }
        }
    }
}
