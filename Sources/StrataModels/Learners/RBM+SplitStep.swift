import StrataCore
import StrataData

/// The parallel schedule of CD-k with SGD (plain or with momentum): the
/// batch's rows, then the weight matrix's rows, spread over the cores with
/// single-threaded GEMMs.
extension RBM {
    /// CD-k with SGD spread over `cores` with single-threaded GEMMs and no
    /// reduction. Phase 1 runs the Gibbs chain for the whole batch, each of
    /// its products cut into bands of output columns (so W is packed once per
    /// product however many parts there are) and each sampling pass into
    /// bands of rows, each with its own random stream; phase 2 cuts the weight
    /// matrix's rows (each part adds its band of `lr/(n S) (v^T h+ - v'^T h-)`
    /// straight into W for plain SGD, or into the momentum's velocity, which
    /// it then adds to W: ``SplitUpdate``). The parts depend on the shapes only (``FixedParts``),
    /// so the result does not depend on `cores`.
    /// The data and the chain's end are stacked in one `(2n, V)` buffer and
    /// `h+`, `-h-` in one `(2n, H)` buffer, so the update is a single GEMM of
    /// depth 2n: one pass over W instead of two. With one core this is also
    /// the allocation-free path.
    /// With `examples`, each example's samples come from its own stream instead of its band's.
    mutating func splitContrastiveDivergence(_ batch: Tensor, steps: Int, random: inout RandomSource, examples: ExampleStreams? = nil,
                                             hyper: StepHyperparameters) -> Double {
        let (n, v, h, cores) = (batch.rows, visibleCount, hiddenCount, hyper.cores)
        let update = SplitUpdate(hyper)
        if !update.isDirect, velocityW.shape != weights.shape {
            (velocityW, velocityB, velocityC) = (Tensor(zeros: weights.shape), Tensor(zeros: [v]), Tensor(zeros: [h]))
        }
        ensureShape(&vNeg, 2 * n, v); ensureShape(&hNeg, 2 * n, h)
        let (rowParts, weightParts) = (FixedParts.count(n, minimum: 32), FixedParts.count(v, minimum: 64))
        let (hiddenParts, visibleParts) = (FixedParts.count(h, minimum: 64), FixedParts.count(v, minimum: 64))
        let inverse = 1 / variance
        let factor = hyper.learningRate / (Float(n) * variance)
        let binary = configuration.visibleUnits == .binary
        let meanVisible = configuration.meanVisible
        let sigmaValue = sigma
        // Each band's random stream and squared error, on the stack: no allocation per step.
        return withUnsafeTemporaryAllocation(of: RandomSource.self, capacity: rowParts) { rngs in
        withUnsafeTemporaryAllocation(of: Double.self, capacity: rowParts) { errs in
        if examples == nil { for part in 0 ..< rowParts { rngs.initializeElement(at: part, to: random.split()) } }
        errs.initialize(repeating: 0)
        BLAS.singleThreaded {
        batch.withUnsafeBufferPointer { x in
        weights.withUnsafeMutableBufferPointer { w in
        visibleBias.withUnsafeMutableBufferPointer { b in
        hiddenBias.withUnsafeMutableBufferPointer { c in
        hNeg.withUnsafeMutableBufferPointer { hs in
        vNeg.withUnsafeMutableBufferPointer { vs in
        velocityW.withUnsafeMutableBufferPointer { vw in
        velocityB.withUnsafeMutableBufferPointer { vb in
        velocityC.withUnsafeMutableBufferPointer { vc in
            let (X, W, B, C, SH, SV) = (x.baseAddress!, w.baseAddress!, b.baseAddress!, c.baseAddress!, hs.baseAddress!, vs.baseAddress!)
            let (VW, VB, VC) = (vw.baseAddress!, vb.baseAddress!, vc.baseAddress!)
            let (input, up, down, upNeg) = (SV, SH, SV + n * v, SH + n * h)
            input.update(from: X, count: n * v)
            // sigmoid((source W + c) / S) into `out`, in bands of hidden columns; `negate` for the chain's last up-pass.
            func hidden(_ source: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, negate: Bool = false) {
                Self.hiddenMeans(source, into: out, W: W, C: C, n: n, v: v, h: h, scale: inverse, negate: negate, parts: hiddenParts, cores: cores)
            }
            // Phase 1: the Gibbs chain.
            hidden(input, up)
            for s in 0 ..< steps {
                FixedParts.run(rowParts, cores: cores) { part in
                    let rows = FixedParts.range(part, of: rowParts, extent: n)
                    // The first hidden samples go in the negative buffer, which the last up-pass overwrites.
                    if s == 0 { (upNeg + rows.lowerBound * h).update(from: up + rows.lowerBound * h, count: rows.count * h) }
                    if let examples {
                        examples.forEachRow(upNeg, columns: h, rows: rows, site: UInt64(2 * s)) { $1.sampleBernoulli($0) }
                    } else {
                        rngs[part].sampleBernoulli(UnsafeMutableBufferPointer(start: upNeg + rows.lowerBound * h, count: rows.count * h))
                    }
                }
                Self.visibleMeans(upNeg, into: down, W: W, B: B, n: n, v: v, h: h, binary: binary, parts: visibleParts, cores: cores)
                FixedParts.run(rowParts, cores: cores) { part in
                    let rows = FixedParts.range(part, of: rowParts, extent: n)
                    let (first, count) = (rows.lowerBound * v, rows.count * v)
                    if s == 0 {
                        errs[part] = Double(squaredDistance(UnsafePointer(input) + first, UnsafePointer(down) + first, count: count))
                    }
                    if !meanVisible, let examples {
                        examples.forEachRow(down, columns: v, rows: rows, site: UInt64(2 * s + 1)) { row, random in
                            if binary { random.sampleBernoulli(row) } else { random.addNormal(row, standardDeviation: sigmaValue) }
                        }
                    } else if !meanVisible {
                        let buffer = UnsafeMutableBufferPointer(start: down + first, count: count)
                        if binary { rngs[part].sampleBernoulli(buffer) } else { rngs[part].addNormal(buffer, standardDeviation: sigmaValue) }
                    }
                }
                hidden(down, upNeg, negate: s == steps - 1)
            }
            // Phase 2: the update, rows of W (and entries of b, c) split over the cores.
            Self.updateParameters(SplitBuffers(W: W, B: B, C: C, VW: VW, VB: VB, VC: VC, SV: SV, SH: SH, n: n, v: v, h: h, cores: cores),
                                  update: update, factor: factor, parts: weightParts)
        } } } } } } } } } }
        return errs.reduce(0, +) / Double(n)
        } }
    }

    /// The raw buffers of a split CD step's update: the parameters, their
    /// velocities, the visible `SV` (data above the chain's end) and hidden
    /// `SH` (`h+` above `-h-`) values of a batch of `n` rows.
    struct SplitBuffers {
        let W: UnsafeMutablePointer<Float>, B: UnsafeMutablePointer<Float>, C: UnsafeMutablePointer<Float>
        let VW: UnsafeMutablePointer<Float>, VB: UnsafeMutablePointer<Float>, VC: UnsafeMutablePointer<Float>
        let SV: UnsafeMutablePointer<Float>, SH: UnsafeMutablePointer<Float>
        let n: Int, v: Int, h: Int, cores: Int
    }

    /// `sigmoid((source W + c) * scale)` into `out` (`(n, h)`), in `parts` bands of hidden columns; negated when `negate`.
    static func hiddenMeans(_ source: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, W: UnsafeMutablePointer<Float>,
                            C: UnsafeMutablePointer<Float>, n: Int, v: Int, h: Int, scale inverse: Float, negate: Bool, parts hiddenParts: Int, cores: Int) {
        FixedParts.run(hiddenParts, cores: cores) { part in
            let j = FixedParts.range(part, of: hiddenParts, extent: h)
            BLAS.gemm(m: n, n: j.count, k: v, source, lda: v, transposeA: false, UnsafePointer(W) + j.lowerBound, ldb: h, transposeB: false,
                      out + j.lowerBound, ldc: h)
            for r in 0 ..< n {
                let row = out + r * h + j.lowerBound
                sigmoidRow(row, bias: UnsafePointer(C) + j.lowerBound, scale: inverse, count: j.count)
                if negate { negateEight(row, count: j.count) }
            }
        }
    }

    /// `b + source W^T` (Gaussian) or its sigmoid (binary) into `out` (`(n, v)`), in `parts` bands of visible columns.
    static func visibleMeans(_ source: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, W: UnsafeMutablePointer<Float>,
                             B: UnsafeMutablePointer<Float>, n: Int, v: Int, h: Int, binary: Bool, parts visibleParts: Int, cores: Int) {
        FixedParts.run(visibleParts, cores: cores) { part in
            let j = FixedParts.range(part, of: visibleParts, extent: v)
            BLAS.gemm(m: n, n: j.count, k: h, UnsafePointer(source), lda: h, transposeA: false, UnsafePointer(W) + j.lowerBound * h, ldb: h,
                      transposeB: true, out + j.lowerBound, ldc: v)
            for r in 0 ..< n {
                let row = out + r * v + j.lowerBound
                addEight(row, UnsafePointer(B) + j.lowerBound, count: j.count)
                if binary { VectorKernels.map(.sigmoid, row, count: j.count) }
            }
        }
    }

    /// Phase 2 of ``splitContrastiveDivergence(_:steps:random:examples:hyper:)``: rows of W
    /// (and entries of b, c) in `parts`, each part's GEMM of depth 2n into its band of the velocity.
    static func updateParameters(_ s: SplitBuffers, update: SplitUpdate, factor: Float, parts weightParts: Int) {
        let (W, B, C, VW, VB, VC, SV, SH, n, v, h, cores) = (s.W, s.B, s.C, s.VW, s.VB, s.VC, s.SV, s.SH, s.n, s.v, s.h, s.cores)
        FixedParts.run(weightParts, cores: cores) { part in
            let (q0, q1) = (v * part / weightParts, v * (part + 1) / weightParts)
            if q1 > q0 {
                let into = update.target(W + q0 * h, velocity: VW + q0 * h, count: (q1 - q0) * h)
                BLAS.gemm(m: q1 - q0, n: h, k: 2 * n, UnsafePointer(SV) + q0, lda: v, transposeA: true, UnsafePointer(SH), ldb: h, transposeB: false,
                          into, ldc: h, alpha: factor, beta: 1)
                update.finish(W + q0 * h, velocity: VW + q0 * h, count: (q1 - q0) * h, decays: true)
                let bias = update.target(B + q0, velocity: VB + q0, count: q1 - q0)
                for r in 0 ..< n {
                    addScaledDifference(bias, UnsafePointer(SV) + r * v + q0, UnsafePointer(SV) + (n + r) * v + q0, scale: factor, count: q1 - q0)
                }
                update.finish(B + q0, velocity: VB + q0, count: q1 - q0, decays: false)
            }
            let (c0, c1) = (h * part / weightParts, h * (part + 1) / weightParts)
            if c1 > c0 {
                let bias = update.target(C + c0, velocity: VC + c0, count: c1 - c0)
                for r in 0 ..< 2 * n { addScaledDifference(bias, UnsafePointer(SH) + r * h + c0, nil, scale: factor, count: c1 - c0) }
                update.finish(C + c0, velocity: VC + c0, count: c1 - c0, decays: false)
            }
        }
    }
}
