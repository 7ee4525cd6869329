import Dispatch
import StrataCore
import StrataData

extension Autoencoder {
    /// An SGD step (plain or with momentum) spread over `cores` with single-threaded GEMMs and no
    /// reduction. Phase 1 (corrupt, encode, decode, loss, backpropagate to the
    /// hidden layer) cuts each product into bands of output columns (so a
    /// weight matrix is packed once per product however many parts there are)
    /// and the corruption into bands of rows, each with its own random stream;
    /// phase 2 cuts the weight matrices' rows (each part adds its band of
    /// `-lr * gradient` into the parameter, or into the momentum's velocity,
    /// which it then adds to the parameter: ``SplitUpdate``). The parts depend on the shapes only
    /// (``FixedParts``), not on `cores`.
    /// Used without sparsity and contractive penalties, which couple rows.
    /// `output` holds the output deltas above the corrupted input and `hidden`
    /// the hidden values above their deltas, `(2n, ·)` each, so a tied model's
    /// weight update `Z^T H + X~^T dH` is one GEMM of depth 2n (one pass over W).
    /// With one core this is also the allocation-free path.
    /// With `examples`, each example's corruption comes from its own stream instead of its band's.
    mutating func splitStep(_ batch: Tensor, random: inout RandomSource, examples: ExampleStreams? = nil, hyper: StepHyperparameters) -> Double {
        let (n, v, h, step, cores) = (batch.rows, visibleCount, hiddenCount, hyper.learningRate, hyper.cores)
        let update = SplitUpdate(hyper)
        if !update.isDirect, velocityW.shape != weights.shape || velocityD.shape != decoderWeights.shape {
            (velocityW, velocityD) = (Tensor(zeros: weights.shape), Tensor(zeros: decoderWeights.shape))
            (velocityC, velocityB) = (Tensor(zeros: [h]), Tensor(zeros: [v]))
        }
        ensureShape(&output, 2 * n, v); ensureShape(&hidden, 2 * n, h); ensureShape(&elementLoss, n, v)
        let (rowParts, weightParts) = (FixedParts.count(n, minimum: 32), FixedParts.count(v, minimum: 64))
        let (hiddenParts, visibleParts) = (FixedParts.count(h, minimum: 64), FixedParts.count(v, minimum: 64))
        let inverseN = 1 / Float(n)
        let configuration = self.configuration
        let tied = configuration.tied
        // A tied model has no decoder matrix; give the pointer something to point at.
        var decoder = tied ? Tensor(zeros: [1]) : decoderWeights
        if !tied { decoderWeights = Tensor(zeros: [0, v]) }   // hand its storage to `decoder` without a copy
        defer { if !tied { decoderWeights = decoder } }
        // Each band's random stream, on the stack: no allocation per step.
        return withUnsafeTemporaryAllocation(of: RandomSource.self, capacity: rowParts) { rngs in
        if examples == nil { for part in 0 ..< rowParts { rngs.initializeElement(at: part, to: random.split()) } }
        BLAS.singleThreaded {
        batch.withUnsafeBufferPointer { x in
        weights.withUnsafeMutableBufferPointer { w in
        decoder.withUnsafeMutableBufferPointer { d in
        visibleBias.withUnsafeMutableBufferPointer { b in
        hiddenBias.withUnsafeMutableBufferPointer { c in
        hidden.withUnsafeMutableBufferPointer { hb in
        output.withUnsafeMutableBufferPointer { zb in
        elementLoss.withUnsafeMutableBufferPointer { lb in
        velocityW.withUnsafeMutableBufferPointer { vw in
        velocityD.withUnsafeMutableBufferPointer { vd in
        velocityB.withUnsafeMutableBufferPointer { vb in
        velocityC.withUnsafeMutableBufferPointer { vc in
            let (X, W, D, B, C) = (x.baseAddress!, w.baseAddress!, d.baseAddress!, b.baseAddress!, c.baseAddress!)
            // A tied model's decoder velocity is empty (no base address); only an untied one uses it.
            let s = SplitBuffers(X: X, W: W, D: D, B: B, C: C, VW: vw.baseAddress!, VD: vd.baseAddress, VB: vb.baseAddress!, VC: vc.baseAddress!,
                                 HB: hb.baseAddress!, Z: zb.baseAddress!, L: lb.baseAddress!, n: n, v: v, h: h, cores: cores)
            Self.forwardAndBack(s, configuration, rowParts: rowParts, hiddenParts: hiddenParts, visibleParts: visibleParts, inverseN: inverseN,
                                examples: examples, rngs: rngs)
            Self.updateParameters(s, tied: tied, update: update, step: step, parts: weightParts)
        } } } } } } } } } } } } }
        return Double(elementLoss.withUnsafeBufferPointer { vectorSum($0) }) / Double(n)
        }
    }

    /// The corrupted copy of `x` that ``splitStep(_:random:examples:hyper:)``
    /// makes: bands of rows (fixed by the batch's size), each corrupted by its
    /// own stream split from `random` in band order (or each example by its own stream).
    func corruptInRowBands(_ x: Tensor, into out: inout Tensor, random: inout RandomSource, examples: ExampleStreams?) {
        out.scalars = x.scalars
        out.reshape(x.shape)
        let (n, v, rowParts, corruption) = (x.rows, x.columns, FixedParts.count(x.rows, minimum: 32), configuration.corruption)
        var streams = examples == nil ? (0 ..< rowParts).map { _ in random.split() } : []
        out.withUnsafeMutableBufferPointer { xt in
            for part in 0 ..< rowParts {
                let rows = FixedParts.range(part, of: rowParts, extent: n)
                if let examples {
                    examples.forEachRow(xt.baseAddress!, columns: v, rows: rows, site: 0) { Self.corruptInPlace($0, corruption, random: &$1) }
                } else {
                    Self.corruptInPlace(UnsafeMutableBufferPointer(rebasing: xt[rows.lowerBound * v ..< rows.upperBound * v]), corruption, random: &streams[part])
                }
            }
        }
    }

    /// The raw buffers of one split step, bound for its duration: the batch
    /// `X`, the parameters and their velocities, the hidden values `HB` above
    /// their deltas `DH`, the output deltas `Z` above the corrupted input `XT`,
    /// and the per-element loss `L`, for a batch of `n` rows of `v` values and `h` hidden units.
    struct SplitBuffers {
        let X: UnsafePointer<Float>
        let W: UnsafeMutablePointer<Float>, D: UnsafeMutablePointer<Float>, B: UnsafeMutablePointer<Float>, C: UnsafeMutablePointer<Float>
        let VW: UnsafeMutablePointer<Float>, VD: UnsafeMutablePointer<Float>?, VB: UnsafeMutablePointer<Float>, VC: UnsafeMutablePointer<Float>
        let HB: UnsafeMutablePointer<Float>, Z: UnsafeMutablePointer<Float>, L: UnsafeMutablePointer<Float>
        let n: Int, v: Int, h: Int, cores: Int
        var XT: UnsafeMutablePointer<Float> { Z + n * v }
        var DH: UnsafeMutablePointer<Float> { HB + n * h }
    }

    /// Phase 1 of ``splitStep(_:random:examples:hyper:)``: corruption, code,
    /// reconstruction with its loss and delta, and the hidden deltas, each in bands.
    static func forwardAndBack(_ s: SplitBuffers, _ configuration: Configuration, rowParts: Int, hiddenParts: Int, visibleParts: Int,
                               inverseN: Float, examples: ExampleStreams?, rngs: UnsafeMutableBufferPointer<RandomSource>) {
        let (X, W, D, B, C, HB, Z, L, XT, DH) = (s.X, s.W, s.D, s.B, s.C, s.HB, s.Z, s.L, s.XT, s.DH)
        let (n, v, h, cores, tied) = (s.n, s.v, s.h, s.cores, configuration.tied)
        // Phase 1. The corrupted input, in bands of rows.
        FixedParts.run(rowParts, cores: cores) { part in
            let rows = FixedParts.range(part, of: rowParts, extent: n)
            let (first, count) = (rows.lowerBound * v, rows.count * v)
            (XT + first).update(from: X + first, count: count)
            if let examples {
                examples.forEachRow(XT, columns: v, rows: rows, site: 0) { Self.corruptInPlace($0, configuration.corruption, random: &$1) }
            } else {
                Self.corruptInPlace(UnsafeMutableBufferPointer(start: XT + first, count: count), configuration.corruption, random: &rngs[part])
            }
        }
        // The code H = f(X~ W + c), in bands of hidden columns.
        FixedParts.run(hiddenParts, cores: cores) { part in
            let j = FixedParts.range(part, of: hiddenParts, extent: h)
            BLAS.gemm(m: n, n: j.count, k: v, UnsafePointer(XT), lda: v, transposeA: false, UnsafePointer(W) + j.lowerBound, ldb: h, transposeB: false,
                      HB + j.lowerBound, ldc: h)
            for r in 0 ..< n {
                let row = HB + r * h + j.lowerBound
                addEight(row, UnsafePointer(C) + j.lowerBound, count: j.count)
                configuration.encoder.apply(UnsafeMutableBufferPointer(start: row, count: j.count))
            }
        }
        // The reconstruction H W^T + b (tied) or H D + b, then the loss and its delta, in bands of visible columns.
        FixedParts.run(visibleParts, cores: cores) { part in
            let j = FixedParts.range(part, of: visibleParts, extent: v)
            if tied {
                BLAS.gemm(m: n, n: j.count, k: h, UnsafePointer(HB), lda: h, transposeA: false, UnsafePointer(W) + j.lowerBound * h, ldb: h,
                          transposeB: true, Z + j.lowerBound, ldc: v)
            } else {
                BLAS.gemm(m: n, n: j.count, k: h, UnsafePointer(HB), lda: h, transposeA: false, UnsafePointer(D) + j.lowerBound, ldb: v,
                          transposeB: false, Z + j.lowerBound, ldc: v)
            }
            for r in 0 ..< n {
                let (offset, count) = (r * v + j.lowerBound, j.count)
                addEight(Z + offset, UnsafePointer(B) + j.lowerBound, count: count)
                Self.lossAndDelta(configuration, UnsafeMutableBufferPointer(start: Z + offset, count: count),
                                  target: UnsafeBufferPointer(start: X + offset, count: count),
                                  loss: UnsafeMutableBufferPointer(start: L + offset, count: count), inverseN: inverseN)
            }
        }
        // The hidden deltas dH = (Z W or Z D^T) * f'(H), in bands of hidden columns.
        FixedParts.run(hiddenParts, cores: cores) { part in
            let j = FixedParts.range(part, of: hiddenParts, extent: h)
            if tied {
                BLAS.gemm(m: n, n: j.count, k: v, UnsafePointer(Z), lda: v, transposeA: false, UnsafePointer(W) + j.lowerBound, ldb: h,
                          transposeB: false, DH + j.lowerBound, ldc: h)
            } else {
                BLAS.gemm(m: n, n: j.count, k: v, UnsafePointer(Z), lda: v, transposeA: false, UnsafePointer(D) + j.lowerBound * v, ldb: v,
                          transposeB: true, DH + j.lowerBound, ldc: h)
            }
            for r in 0 ..< n {
                let (offset, count) = (r * h + j.lowerBound, j.count)
                configuration.encoder.multiplyByDerivative(UnsafeMutableBufferPointer(start: DH + offset, count: count),
                                                           output: UnsafeBufferPointer(start: HB + offset, count: count))
            }
        }
    }

    /// Phase 2 of ``splitStep(_:random:examples:hyper:)``: rows of the weight
    /// matrices and entries of the biases, each part's GEMM into its band of the velocity.
    static func updateParameters(_ s: SplitBuffers, tied: Bool, update: SplitUpdate, step: Float, parts weightParts: Int) {
        let (W, D, B, C, VW, VD, VB, VC, HB, Z, XT, DH) = (s.W, s.D, s.B, s.C, s.VW, s.VD, s.VB, s.VC, s.HB, s.Z, s.XT, s.DH)
        let (n, v, h, cores) = (s.n, s.v, s.h, s.cores)
        // Phase 2: rows of the weight matrices, entries of the biases.
        FixedParts.run(weightParts, cores: cores) { part in
            let (q0, q1) = (v * part / weightParts, v * (part + 1) / weightParts)
            if q1 > q0 {
                // Tied: W -= lr [Z; X~]^T [H; dH] (depth 2n); untied: W -= lr X~^T dH.
                let (a, bMatrix, depth) = tied ? (UnsafePointer(Z), UnsafePointer(HB), 2 * n) : (UnsafePointer(XT), UnsafePointer(DH), n)
                let into = update.target(W + q0 * h, velocity: VW + q0 * h, count: (q1 - q0) * h)
                BLAS.gemm(m: q1 - q0, n: h, k: depth, a + q0, lda: v, transposeA: true, bMatrix, ldb: h, transposeB: false,
                          into, ldc: h, alpha: -step, beta: 1)
                update.finish(W + q0 * h, velocity: VW + q0 * h, count: (q1 - q0) * h, decays: true)
                let bias = update.target(B + q0, velocity: VB + q0, count: q1 - q0)
                for r in 0 ..< n { addScaledDifference(bias, UnsafePointer(Z) + r * v + q0, nil, scale: -step, count: q1 - q0) }
                update.finish(B + q0, velocity: VB + q0, count: q1 - q0, decays: false)
            }
            let (p0, p1) = (h * part / weightParts, h * (part + 1) / weightParts)
            if !tied, p1 > p0, let VD {
                let into = update.target(D + p0 * v, velocity: VD + p0 * v, count: (p1 - p0) * v)
                BLAS.gemm(m: p1 - p0, n: v, k: n, UnsafePointer(HB) + p0, lda: h, transposeA: true, UnsafePointer(Z), ldb: v, transposeB: false,
                          into, ldc: v, alpha: -step, beta: 1)
                update.finish(D + p0 * v, velocity: VD + p0 * v, count: (p1 - p0) * v, decays: true)
            }
            if p1 > p0 {
                let bias = update.target(C + p0, velocity: VC + p0, count: p1 - p0)
                for r in 0 ..< n { addScaledDifference(bias, UnsafePointer(DH) + r * h + p0, nil, scale: -step, count: p1 - p0) }
                update.finish(C + p0, velocity: VC + p0, count: p1 - p0, decays: false)
            }
        }
    }
}
