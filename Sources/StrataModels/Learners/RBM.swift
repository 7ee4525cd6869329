import Foundation
import StrataCore
import StrataData

/// A restricted Boltzmann machine with binary hidden units and binary or
/// Gaussian visible units.
///
/// Gaussian visible units follow pylearn2's `GaussianBinaryRBM` with the
/// `grbm_type_1` energy and one shared, learnable sigma (S = sigma^2):
///
/// ```
/// P(h = 1 | v) = sigmoid((v W + c) / S)
/// E[v | h]     = b + W h                      (v ~ N(b + W h, S))
/// F(v)         = (0.5 v.v - b.v) / S - sum softplus((v W + c) / S)
/// score(v)     = (b + W P(h|v) - v) / S
/// ```
///
/// Binary visible units are the same with S = 1, `P(v = 1 | h) = sigmoid(b + W h)`
/// and `F(v) = -b.v - sum softplus(v W + c)` (Hinton 2002; scikit-learn's
/// `BernoulliRBM`). Shapes: `weights` is `(visible, hidden)`, a batch is
/// `(n, visible)`.
public struct RBM: UnsupervisedLearner {
    public static let kind = "rbm"

    /// The distribution of the visible units.
    public enum VisibleUnits: String, Codable, Sendable {
        /// Bernoulli visible units, for data in [0, 1].
        case binary
        /// Gaussian visible units (GRBM), for real-valued data such as whitened patches.
        case gaussian
    }

    /// How the RBM is trained.
    public enum Objective: Codable, Equatable, Sendable {
        /// Contrastive divergence with `steps` Gibbs steps from the data (Hinton 2002).
        case contrastiveDivergence(steps: Int)
        /// Persistent contrastive divergence: chains kept across batches (Tieleman 2008).
        case persistentCD(steps: Int)
        /// Denoising score matching (Vincent 2011; pylearn2's `SMD` with a
        /// `GaussianCorruptor` of standard deviation `noise`). Gaussian units only.
        case scoreMatching(noise: Float)
    }

    /// Hyperparameters, validated in one place.
    public struct Configuration: Codable, Equatable, Sendable {
        public var visibleCount: Int
        public var hiddenCount: Int
        public var visibleUnits: VisibleUnits
        public var objective: Objective
        /// Weights start uniform in [-irange, irange].
        public var irange: Float = 0.05
        public var initHiddenBias: Float = 0
        /// Gaussian units: the initial sigma.
        public var initSigma: Float = 1
        /// Gaussian units trained by score matching: learn sigma.
        public var learnSigma = true
        /// Sigma's learning rate relative to the others.
        public var sigmaLearningRateScale: Float = 1e-3
        /// Sigma is clipped to this range after each update.
        public var sigmaMinimum: Float = 0.1
        public var sigmaMaximum: Float = 10
        /// Use visible means instead of samples in the Gibbs chain (pylearn2's `mean_vis`).
        public var meanVisible = false
        /// Seed of the weight initialization.
        public var seed: UInt64 = 1

        public init(visibleCount: Int, hiddenCount: Int, visibleUnits: VisibleUnits, objective: Objective) {
            (self.visibleCount, self.hiddenCount, self.visibleUnits, self.objective) = (visibleCount, hiddenCount, visibleUnits, objective)
        }

        /// pylearn2's quick-start GRBM: `GaussianBinaryRBM(nvis, nhid=400, irange=0.05,
        /// init_sigma=0.4, sigma_lr_scale=1e-3, init_bias_hid=-2, mean_vis=False)` trained by
        /// `SMD(GaussianCorruptor(stdev=0.4))`.
        public static func quickStartGRBM(visibleCount: Int, hiddenCount: Int = 400) -> Configuration {
            var c = Configuration(visibleCount: visibleCount, hiddenCount: hiddenCount, visibleUnits: .gaussian, objective: .scoreMatching(noise: 0.4))
            c.initSigma = 0.4
            c.initHiddenBias = -2
            return c
        }

        public func validate() throws {
            try validateLayerSize(visible: visibleCount, hidden: hiddenCount, what: "RBM")
            guard irange > 0 else { throw StrataError.invalidArgument(name: "irange", reason: "\(irange) must be positive") }
            guard initSigma > 0, sigmaMinimum > 0, sigmaMinimum <= sigmaMaximum else {
                throw StrataError.invalidArgument(name: "sigma", reason: "init_sigma and the clip range must be positive (min <= max)")
            }
            switch objective {
            case .contrastiveDivergence(let k), .persistentCD(let k):
                guard k >= 1 else { throw StrataError.invalidArgument(name: "Gibbs steps", reason: "\(k) must be at least 1") }
            case .scoreMatching(let noise):
                guard visibleUnits == .gaussian else {
                    throw StrataError.invalidArgument(name: "objective", reason: "score matching needs Gaussian visible units (a GRBM); use cd or pcd for a binary RBM")
                }
                guard noise > 0 else { throw StrataError.invalidArgument(name: "corruption noise", reason: "\(noise) must be positive") }
            }
        }
    }

    public private(set) var configuration: Configuration
    /// `(visible, hidden)`.
    public package(set) var weights: Tensor
    /// `(visible)`: b.
    public package(set) var visibleBias: Tensor
    /// `(hidden)`: c.
    public package(set) var hiddenBias: Tensor
    /// The shared standard deviation of Gaussian visible units (1 for binary).
    public package(set) var sigma: Float

    // Optimizer and sampler state.
    var velocityW: Tensor, velocityB: Tensor, velocityC: Tensor
    var velocitySigma: Float = 0
    /// Adam's second moments and update count (``OptimizerState``).
    var optimizerState = OptimizerState()
    package var chain: Tensor?

    // Scratch buffers, reused across batches of the same size.
    var hPos = Tensor(zeros: [0, 0]), hNeg = Tensor(zeros: [0, 0]), vNeg = Tensor(zeros: [0, 0])
    var gradW: Tensor, gradB: Tensor, gradC: Tensor
    var noisy = Tensor(zeros: [0, 0]), noise = Tensor(zeros: [0, 0]), backprop = Tensor(zeros: [0, 0])
    var preactivation = Tensor(zeros: [0, 0])
    /// dJ/dsigma of the last score-matching step.
    var gradSigma: Float = 0
    /// A split RBM's bands of hidden units (``SplitRBM``): this RBM then holds
    /// `bands.mine` of the whole's, and sums with the other parts through `bands.exchange`.
    var bands: HiddenUnitBands?
    var partExchange: (any ModelPartExchange)? { bands?.exchange }
    /// A split RBM's hidden samples drawn at the whole layer's width.
    var wholeHidden = Tensor(zeros: [0, 0])

    public var visibleCount: Int { configuration.visibleCount }
    public var hiddenCount: Int { configuration.hiddenCount }
    public var filters: Tensor { weights }

    /// A new RBM with weights uniform in [-irange, irange] (seeded), zero visible
    /// bias and the configured hidden bias and sigma.
    public init(_ configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        let (v, h) = (configuration.visibleCount, configuration.hiddenCount)
        weights = initialWeights(visible: v, hidden: h, irange: configuration.irange, seed: configuration.seed).weights
        visibleBias = Tensor(zeros: [v])
        hiddenBias = Tensor(shape: [h], repeating: configuration.initHiddenBias)
        sigma = configuration.visibleUnits == .gaussian ? configuration.initSigma : 1
        (velocityW, velocityB, velocityC) = (Tensor(zeros: [v, h]), Tensor(zeros: [v]), Tensor(zeros: [h]))
        (gradW, gradB, gradC) = (Tensor(zeros: [v, h]), Tensor(zeros: [v]), Tensor(zeros: [h]))
    }

    /// S = sigma^2, the divisor of the energy's visible terms.
    var variance: Float { sigma * sigma }

    // MARK: Conditionals

    /// `P(h = 1 | v) = sigmoid((v W + c) / S)` into `h` (`(n, hidden)`).
    func hiddenMeans(_ v: Tensor, into h: inout Tensor) {
        ensureShape(&h, v.rows, hiddenCount)
        h.formProduct(v, weights)
        let inverse = 1 / variance
        let width = hiddenCount
        hiddenBias.withUnsafeBufferPointer { c in
            h.withUnsafeMutableBufferPointer { out in
                let bias = c.baseAddress!, base = out.baseAddress!
                // Large batches (feature extraction) spread the rows over the cores;
                // small ones (under 2 x 32K values) stay on the calling thread.
                parallelChunks(v.rows, minimumChunk: max(1, (1 << 15) / max(width, 1))) { chunk in
                    for i in chunk { Self.sigmoidRow(base + i * width, bias: bias, scale: inverse, count: width) }
                }
            }
        }
    }

    /// `row = sigmoid((row + bias) * scale)`, eight at a time.
    @inline(__always)
    static func sigmoidRow(_ row: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, scale: Float, count: Int) {
        var j = 0
        while j + 8 <= count {
            let u = UnsafeRawPointer(row + j).loadUnaligned(as: Float8.self) + UnsafeRawPointer(bias + j).loadUnaligned(as: Float8.self)
            UnsafeMutableRawPointer(row + j).storeBytes(of: fastSigmoid(u * scale), as: Float8.self)
            j += 8
        }
        while j < count { row[j] = fastSigmoid((row[j] + bias[j]) * scale); j += 1 }
    }

    /// `E[v | h]`: `b + h W^T` (Gaussian) or `sigmoid(b + h W^T)` (binary), into `v`.
    package func visibleMeans(_ h: Tensor, into v: inout Tensor) {
        ensureShape(&v, h.rows, visibleCount)
        v.formProduct(h, weights, transposeB: true)
        if let partExchange { v.withUnsafeMutableBufferPointer { partExchange.sum($0) } } // every part's hidden units' share
        v.addToEachRow(visibleBias)
        if configuration.visibleUnits == .binary { v.formSigmoid() }
    }

    /// Replaces visible means by samples: Bernoulli, or Gaussian noise of sigma added.
    public mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws {
        weights.withUnsafeMutableBufferPointer { body($0) }
        visibleBias.withUnsafeMutableBufferPointer { body($0) }
        hiddenBias.withUnsafeMutableBufferPointer { body($0) }
        withUnsafeMutablePointer(to: &sigma) { body(UnsafeMutableBufferPointer(start: $0, count: 1)) }
        guard velocities else { return }
        velocityW.withUnsafeMutableBufferPointer { body($0) }
        velocityB.withUnsafeMutableBufferPointer { body($0) }
        velocityC.withUnsafeMutableBufferPointer { body($0) }
        withUnsafeMutablePointer(to: &velocitySigma) { body(UnsafeMutableBufferPointer(start: $0, count: 1)) }
    }

    func sampleVisible(_ v: inout Tensor, random: inout RandomSource) {
        switch configuration.visibleUnits {
        case .binary: v.withUnsafeMutableBufferPointer { random.sampleBernoulli($0) }
        case .gaussian: v.withUnsafeMutableBufferPointer { random.addNormal($0, standardDeviation: sigma) }
        }
    }

    /// ``sampleVisible(_:random:)`` with each row drawn from its example's
    /// stream for `site` when `examples` is given (data-parallel ranks).
    func sampleVisible(_ v: inout Tensor, site: UInt64, examples: ExampleStreams?, random: inout RandomSource) {
        guard let examples else { return sampleVisible(&v, random: &random) }
        let (binary, sigmaValue) = (configuration.visibleUnits == .binary, sigma)
        examples.forEachRow(of: &v, site: site) { row, random in
            if binary { random.sampleBernoulli(row) } else { random.addNormal(row, standardDeviation: sigmaValue) }
        }
    }

    /// Probabilities (hidden means, a chain's 0.5 start) replaced by Bernoulli samples, each row from its example's stream for `site` when `examples` is given.
    func sampleBernoulli(_ h: inout Tensor, site: UInt64, examples: ExampleStreams?, random: inout RandomSource) {
        guard let examples else { return h.withUnsafeMutableBufferPointer { random.sampleBernoulli($0) } }
        examples.forEachRow(of: &h, site: site) { $1.sampleBernoulli($0) }
    }

    /// Hidden probabilities replaced by samples (``sampleBernoulli(_:site:examples:random:)``).
    /// A split RBM draws them at the whole layer's width, its band's
    /// probabilities in place, so each unit gets the draw it gets in one process.
    /// `wholeHidden` is the whole-width buffer it uses.
    func sampleHidden(_ h: inout Tensor, site: UInt64, examples: ExampleStreams?, random: inout RandomSource, wholeHidden: inout Tensor) {
        guard let bands else { return sampleBernoulli(&h, site: site, examples: examples, random: &random) }
        bands.placeMine(h, into: &wholeHidden)
        sampleBernoulli(&wholeHidden, site: site, examples: examples, random: &random)
        bands.takeMine(of: wholeHidden, into: &h)
    }

    /// The hidden means of `x`: the features this layer passes up a stack.
    public func transform(_ x: Tensor) -> Tensor {
        var h = Tensor(zeros: [x.rows, hiddenCount])
        hiddenMeans(x, into: &h)
        return h
    }

    /// The free energy of each example, `(n)`.
    public func freeEnergy(_ v: Tensor) -> Tensor {
        var u = v.matmul(weights)
        u.addToEachRow(hiddenBias)
        let inverse = 1 / variance
        u.apply { fastSoftplus($0 * inverse) }
        var f = u.sumOverColumns() * -1
        if let partExchange { f.withUnsafeMutableBufferPointer { partExchange.sum($0) } } // every part's hidden units' terms
        let b = visibleBias
        let gaussian = configuration.visibleUnits == .gaussian
        for i in 0 ..< v.rows {
            var quadratic: Float = 0, linear: Float = 0
            for j in 0 ..< v.columns {
                let x = v[i, j]
                quadratic += x * x
                linear += b.scalars[j] * x
            }
            f.scalars[i] += gaussian ? (0.5 * quadratic - linear) * inverse : -linear
        }
        return f
    }

    /// Adds `scale * d(sum of F over rows of v)/d(W, b, c)` to the gradient
    /// buffers (after multiplying them by `beta`), given `h = P(h | v)`:
    /// `dF/dW = -v^T h / S`, `dF/db = -v / S`, `dF/dc = -h / S` (S = 1 for binary units).
    mutating func accumulateFreeEnergyGradient(_ v: Tensor, hidden h: Tensor, scale: Float, beta: Float) {
        let factor = -scale / variance
        gradW.formProduct(v, h, transposeA: true, alpha: factor, beta: beta)
        if beta == 0 { gradB.scale(by: 0); gradC.scale(by: 0) }
        gradB.add(v.sumOverRows(), scaledBy: factor)
        gradC.add(h.sumOverRows(), scaledBy: factor)
    }

    /// The gradient of the mean free energy of `v` with respect to (W, b, c):
    /// what contrastive divergence differences between data and model samples.
    public func freeEnergyGradient(_ v: Tensor) -> (weights: Tensor, visibleBias: Tensor, hiddenBias: Tensor) {
        var copy = self
        let h = transform(v)
        copy.accumulateFreeEnergyGradient(v, hidden: h, scale: 1 / Float(v.rows), beta: 0)
        return (copy.gradW, copy.gradB, copy.gradC)
    }
}
