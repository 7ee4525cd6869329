import Foundation

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
            guard visibleCount > 0 else { throw StrataError.invalidArgument(name: "visible units", reason: "\(visibleCount) must be positive") }
            guard hiddenCount > 0 else { throw StrataError.invalidArgument(name: "hidden units", reason: "\(hiddenCount) must be positive") }
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
    public internal(set) var weights: Tensor
    /// `(visible)`: b.
    public internal(set) var visibleBias: Tensor
    /// `(hidden)`: c.
    public internal(set) var hiddenBias: Tensor
    /// The shared standard deviation of Gaussian visible units (1 for binary).
    public internal(set) var sigma: Float

    // Optimizer and sampler state.
    var velocityW: Tensor, velocityB: Tensor, velocityC: Tensor
    var velocitySigma: Float = 0
    var chain: Tensor?

    // Scratch buffers, reused across batches of the same size.
    var hPos = Tensor(zeros: [0, 0]), hNeg = Tensor(zeros: [0, 0]), vNeg = Tensor(zeros: [0, 0])
    var gradW: Tensor, gradB: Tensor, gradC: Tensor
    var noisy = Tensor(zeros: [0, 0]), noise = Tensor(zeros: [0, 0]), backprop = Tensor(zeros: [0, 0])
    var preactivation = Tensor(zeros: [0, 0])
    /// dJ/dsigma of the last score-matching step.
    private(set) var gradSigma: Float = 0

    public var visibleCount: Int { configuration.visibleCount }
    public var hiddenCount: Int { configuration.hiddenCount }
    public var filters: Tensor { weights }

    /// A new RBM with weights uniform in [-irange, irange] (seeded), zero visible
    /// bias and the configured hidden bias and sigma.
    public init(_ configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        let (v, h) = (configuration.visibleCount, configuration.hiddenCount)
        var random = RandomSource(seed: configuration.seed)
        weights = .uniform(shape: [v, h], low: -configuration.irange, high: configuration.irange, using: &random)
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
    func visibleMeans(_ h: Tensor, into v: inout Tensor) {
        ensureShape(&v, h.rows, visibleCount)
        v.formProduct(h, weights, transposeB: true)
        v.addToEachRow(visibleBias)
        if configuration.visibleUnits == .binary { v.formSigmoid() }
    }

    /// Replaces visible means by samples: Bernoulli, or Gaussian noise of sigma added.
    func sampleVisible(_ v: inout Tensor, random: inout RandomSource) {
        switch configuration.visibleUnits {
        case .binary: v.withUnsafeMutableBufferPointer { random.sampleBernoulli($0) }
        case .gaussian: v.withUnsafeMutableBufferPointer { random.addNormal($0, standardDeviation: sigma) }
        }
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

    // MARK: Training

    public mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double {
        guard batch.columns == visibleCount else {
            throw StrataError.shapeMismatch(context: "RBM with \(visibleCount) visible units given a batch", expected: [batch.rows, visibleCount], found: batch.shape)
        }
        let objective: Double
        switch configuration.objective {
        case .contrastiveDivergence(let k):
            if hyper.momentum == 0 && hyper.weightDecay == 0 && batch.rows >= 16 * hyper.cores {
                return splitContrastiveDivergence(batch, steps: k, random: &random, step: hyper.learningRate, cores: hyper.cores)
            }
            if hyper.momentum == 0 && hyper.weightDecay == 0 {
                return contrastiveDivergence(batch, steps: k, random: &random, directStep: hyper.learningRate)
            }
            objective = contrastiveDivergence(batch, steps: k, random: &random)
        case .persistentCD(let k):
            objective = persistentCD(batch, steps: k, random: &random)
        case .scoreMatching(let noiseLevel):
            objective = scoreMatchingGradient(batch, noise: noiseLevel, random: &random)
        }
        sgdUpdate(&weights, gradient: gradW, velocity: &velocityW, learningRate: hyper.learningRate, momentum: hyper.momentum, decay: hyper.weightDecay)
        sgdUpdate(&visibleBias, gradient: gradB, velocity: &velocityB, learningRate: hyper.learningRate, momentum: hyper.momentum)
        sgdUpdate(&hiddenBias, gradient: gradC, velocity: &velocityC, learningRate: hyper.learningRate, momentum: hyper.momentum)
        if case .scoreMatching = configuration.objective, configuration.learnSigma {
            velocitySigma = hyper.momentum * velocitySigma - hyper.learningRate * configuration.sigmaLearningRateScale * gradSigma
            sigma = min(max(sigma + velocitySigma, configuration.sigmaMinimum), configuration.sigmaMaximum)
        }
        return objective
    }

    /// CD-k: positive statistics from the data, negative from k Gibbs steps.
    /// Returns the reconstruction error of the first step (squared error
    /// summed over units, averaged over examples).
    /// With `directStep` (plain SGD), the update is added straight into the parameters.
    private mutating func contrastiveDivergence(_ batch: Tensor, steps: Int, random: inout RandomSource, directStep: Float? = nil) -> Double {
        hiddenMeans(batch, into: &hPos)
        var h = hPos
        var error = 0.0
        for step in 0 ..< steps {
            h.withUnsafeMutableBufferPointer { random.sampleBernoulli($0) }
            visibleMeans(h, into: &vNeg)
            if step == 0 { error = squaredError(batch, vNeg) }
            if !configuration.meanVisible { sampleVisible(&vNeg, random: &random) }
            hiddenMeans(vNeg, into: &hNeg)
            if step + 1 < steps { h = hNeg }
        }
        let n = Float(batch.rows)
        if let step = directStep {
            // Plain SGD: add -step * gradient straight into the parameters.
            let factor = step / (n * variance)
            weights.formProduct(batch, hPos, transposeA: true, alpha: factor, beta: 1)
            weights.formProduct(vNeg, hNeg, transposeA: true, alpha: -factor, beta: 1)
            var db = batch.sumOverRows()
            db.subtract(vNeg.sumOverRows())
            visibleBias.add(db, scaledBy: factor)
            var dc = hPos.sumOverRows()
            dc.subtract(hNeg.sumOverRows())
            hiddenBias.add(dc, scaledBy: factor)
            return error
        }
        accumulateFreeEnergyGradient(batch, hidden: hPos, scale: 1 / n, beta: 0)
        accumulateFreeEnergyGradient(vNeg, hidden: hNeg, scale: -1 / n, beta: 1)
        return error
    }

    /// PCD-k: negative statistics from persistent chains advanced k steps.
    private mutating func persistentCD(_ batch: Tensor, steps: Int, random: inout RandomSource) -> Double {
        hiddenMeans(batch, into: &hPos)
        if chain?.shape != batch.shape {
            var start = Tensor(shape: batch.shape, repeating: 0.5)
            if configuration.visibleUnits == .binary {
                start.withUnsafeMutableBufferPointer { random.sampleBernoulli($0) }
            } else {
                start = batch
            }
            chain = start
        }
        var v = chain!
        for _ in 0 ..< steps {
            hiddenMeans(v, into: &hNeg)
            hNeg.withUnsafeMutableBufferPointer { random.sampleBernoulli($0) }
            visibleMeans(hNeg, into: &v)
            if !configuration.meanVisible { sampleVisible(&v, random: &random) }
        }
        chain = v
        vNeg = v
        hiddenMeans(vNeg, into: &hNeg)
        let n = Float(batch.rows)
        accumulateFreeEnergyGradient(batch, hidden: hPos, scale: 1 / n, beta: 0)
        accumulateFreeEnergyGradient(vNeg, hidden: hNeg, scale: -1 / n, beta: 1)
        // The reconstruction error of the data (one mean-field step), for the progress line.
        var recon = Tensor(zeros: [0, 0])
        visibleMeans(hPos, into: &recon)
        return squaredError(batch, recon)
    }

    /// Denoising score matching (pylearn2's `SMD`): for x~ = x + N(0, s^2),
    /// `J = mean over all elements of (score(x~) - (x - x~) / s^2)^2`.
    /// Writes dJ/d(W, b, c) into the gradient buffers, updates sigma, returns J.
    private mutating func scoreMatchingGradient(_ x: Tensor, noise level: Float, random: inout RandomSource) -> Double {
        ensureShape(&noise, x.rows, visibleCount)
        noise.withUnsafeMutableBufferPointer { random.fillNormal($0, standardDeviation: level) }
        return scoreMatchingGradient(x, corruption: noise, level: level)
    }

    /// Plain-SGD CD-k spread over `cores` with single-threaded GEMMs and no
    /// reduction: phase 1 splits the batch's rows (each core runs the Gibbs
    /// chain for its rows), phase 2 splits the weight matrix's rows (each core
    /// adds its band of `step/(n S) (v^T h+ - v'^T h-)` straight into W).
    /// The data and the chain's end are stacked in one `(2n, V)` buffer and
    /// `h+`, `-h-` in one `(2n, H)` buffer, so the update is a single GEMM of
    /// depth 2n: one pass over W instead of two. With one core this is also
    /// the allocation-free plain-SGD path.
    private mutating func splitContrastiveDivergence(_ batch: Tensor, steps: Int, random: inout RandomSource, step: Float, cores: Int) -> Double {
        let (n, v, h) = (batch.rows, visibleCount, hiddenCount)
        ensureShape(&vNeg, 2 * n, v); ensureShape(&hNeg, 2 * n, h)
        var streams = (0 ..< cores).map { _ in random.split() }
        var errors = [Double](repeating: 0, count: cores)
        let inverse = 1 / variance
        let factor = step / (Float(n) * variance)
        let binary = configuration.visibleUnits == .binary
        let meanVisible = configuration.meanVisible
        let sigmaValue = sigma
        let previousThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = previousThreads }
        batch.withUnsafeBufferPointer { x in
        weights.withUnsafeMutableBufferPointer { w in
        visibleBias.withUnsafeMutableBufferPointer { b in
        hiddenBias.withUnsafeMutableBufferPointer { c in
        hNeg.withUnsafeMutableBufferPointer { hs in
        vNeg.withUnsafeMutableBufferPointer { vs in
        streams.withUnsafeMutableBufferPointer { rngs in
        errors.withUnsafeMutableBufferPointer { errs in
            let (X, W, B, C, SH, SV) = (x.baseAddress!, w.baseAddress!, b.baseAddress!, c.baseAddress!, hs.baseAddress!, vs.baseAddress!)
            // Phase 1: the Gibbs chain, rows of the batch split over the cores.
            CoreTeam.run(cores) { core in
                let r0 = n * core / cores, r1 = n * (core + 1) / cores
                let m = r1 - r0
                guard m > 0 else { return }
                let input = SV + r0 * v, up = SH + r0 * h, down = SV + (n + r0) * v, upNeg = SH + (n + r0) * h
                input.update(from: X + r0 * v, count: m * v)
                func hidden(_ source: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
                    BLAS.gemm(m: m, n: h, k: v, source, transposeA: false, UnsafePointer(W), transposeB: false, out)
                    for r in 0 ..< m { Self.sigmoidRow(out + r * h, bias: UnsafePointer(C), scale: inverse, count: h) }
                }
                hidden(input, up)
                // Hidden samples go in the negative buffer, which the last up-pass overwrites.
                upNeg.update(from: up, count: m * h)
                for s in 0 ..< steps {
                    rngs[core].sampleBernoulli(UnsafeMutableBufferPointer(start: upNeg, count: m * h))
                    BLAS.gemm(m: m, n: v, k: h, UnsafePointer(upNeg), transposeA: false, UnsafePointer(W), transposeB: true, down)
                    for r in 0 ..< m {
                        let row = down + r * v
                        addEight(row, UnsafePointer(B), count: v)
                        if binary { mapEight(row, row, count: v, fastSigmoid, fastSigmoid) }
                    }
                    if s == 0 {
                        errs[core] = Double(squaredDistance(UnsafePointer(input), UnsafePointer(down), count: m * v))
                    }
                    if !meanVisible {
                        let buffer = UnsafeMutableBufferPointer(start: down, count: m * v)
                        if binary { rngs[core].sampleBernoulli(buffer) } else { rngs[core].addNormal(buffer, standardDeviation: sigmaValue) }
                    }
                    hidden(down, upNeg)
                }
                negateEight(upNeg, count: m * h)
            }
            // Phase 2: the update, rows of W (and entries of b, c) split over the cores.
            CoreTeam.run(cores) { core in
                let q0 = v * core / cores, q1 = v * (core + 1) / cores
                if q1 > q0 {
                    BLAS.gemm(m: q1 - q0, n: h, k: 2 * n, UnsafePointer(SV) + q0, lda: v, transposeA: true, UnsafePointer(SH), ldb: h, transposeB: false,
                              W + q0 * h, ldc: h, alpha: factor, beta: 1)
                    for r in 0 ..< n {
                        addScaledDifference(B + q0, UnsafePointer(SV) + r * v + q0, UnsafePointer(SV) + (n + r) * v + q0, scale: factor, count: q1 - q0)
                    }
                }
                let c0 = h * core / cores, c1 = h * (core + 1) / cores
                if c1 > c0 {
                    for r in 0 ..< 2 * n { addScaledDifference(C + c0, UnsafePointer(SH) + r * h + c0, nil, scale: factor, count: c1 - c0) }
                }
            }
        } } } } } } } }
        return errors.reduce(0, +) / Double(n)
    }

    /// Score matching's cost and gradient for a given corruption `x~ - x`.
    mutating func scoreMatchingGradient(_ x: Tensor, corruption: Tensor, level: Float) -> Double {
        let (n, v, hCount) = (x.rows, visibleCount, hiddenCount)
        let s = variance
        if corruption.scalars != noise.scalars { noise = corruption }
        ensureShape(&noisy, n, v)
        noisy.scalars = x.scalars
        noisy.add(noise)
        // u = (x~ W + c) / S kept for sigma's gradient; h = sigmoid(u).
        ensureShape(&preactivation, n, hCount)
        preactivation.formProduct(noisy, weights)
        preactivation.addToEachRow(hiddenBias)
        preactivation.scale(by: 1 / s)
        hPos = preactivation
        hPos.formSigmoid()
        visibleMeans(hPos, into: &vNeg)                       // recon = h W^T + b
        // vNeg becomes G = dJ/dscore = 2 D / (n v); also sum G * score for sigma.
        let inverseS = 1 / s
        let targetScale = 1 / (level * level)
        let norm = 2 / Float(n * v)
        var cost: Double = 0
        var gScore: Double = 0
        vNeg.withUnsafeMutableBufferPointer { r in
            noisy.withUnsafeBufferPointer { xt in
                noise.withUnsafeBufferPointer { e in
                    var partialCost: Float = 0, partialScore: Float = 0
                    for i in r.indices {
                        let score = (r[i] - xt[i]) * inverseS
                        let d = score + e[i] * targetScale        // target = (x - x~) / s^2 = -e / s^2
                        partialCost += d * d
                        let g = norm * d
                        partialScore += g * score
                        r[i] = g
                    }
                    cost = Double(partialCost) / Double(n * v)
                    gScore = Double(partialScore)
                }
            }
        }
        // gb = sum_rows G / S;  gW = G^T h / S
        gradB = vNeg.sumOverRows() * inverseS
        gradW.formProduct(vNeg, hPos, transposeA: true, alpha: inverseS)
        // E = (G W) / S * h (1 - h) = dJ/du
        ensureShape(&backprop, n, hCount)
        backprop.formProduct(vNeg, weights, alpha: inverseS)
        var gU: Double = 0
        backprop.withUnsafeMutableBufferPointer { e in
            hPos.withUnsafeBufferPointer { h in
                preactivation.withUnsafeBufferPointer { u in
                    var partial: Float = 0
                    for i in e.indices {
                        e[i] *= h[i] * (1 - h[i])
                        partial += e[i] * u[i]
                    }
                    gU = Double(partial)
                }
            }
        }
        gradW.formProduct(noisy, backprop, transposeA: true, alpha: inverseS, beta: 1)
        gradC = backprop.sumOverRows() * inverseS
        // J depends on S through score = (recon - x~)/S and u = (...)/S:
        // dJ/dS = -(sum G * score + sum E * u) / S, and dS/dsigma = 2 sigma.
        gradSigma = Float(-(gScore + gU) / Double(s)) * 2 * sigma
        return cost
    }


    func squaredError(_ a: Tensor, _ b: Tensor) -> Double {
        var total: Float = 0
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in x.indices { let d = x[i] - y[i]; total += d * d }
            }
        }
        return Double(total) / Double(max(a.rows, 1))
    }
}
