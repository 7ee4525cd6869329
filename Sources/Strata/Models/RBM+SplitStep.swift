/// The parallel schedule of plain-SGD CD-k: the batch's rows, then the weight
/// matrix's rows, spread over the cores with single-threaded GEMMs.
extension RBM {
    /// Plain-SGD CD-k spread over `cores` with single-threaded GEMMs and no
    /// reduction: phase 1 cuts the batch's rows into parts (each runs the
    /// Gibbs chain for its rows with its own random stream), phase 2 cuts the
    /// weight matrix's rows (each part adds its band of
    /// `step/(n S) (v^T h+ - v'^T h-)` straight into W). The parts depend on
    /// the shapes only (``FixedParts``), so the result does not depend on `cores`.
    /// The data and the chain's end are stacked in one `(2n, V)` buffer and
    /// `h+`, `-h-` in one `(2n, H)` buffer, so the update is a single GEMM of
    /// depth 2n: one pass over W instead of two. With one core this is also
    /// the allocation-free plain-SGD path.
    mutating func splitContrastiveDivergence(_ batch: Tensor, steps: Int, random: inout RandomSource, step: Float, cores: Int) -> Double {
        let (n, v, h) = (batch.rows, visibleCount, hiddenCount)
        ensureShape(&vNeg, 2 * n, v); ensureShape(&hNeg, 2 * n, h)
        // Parts fixed by the shapes (FixedParts), so any number of cores gives the same bits.
        let (rowParts, weightParts) = (FixedParts.count(n, minimum: 32), FixedParts.count(v, minimum: 64))
        var streams = (0 ..< rowParts).map { _ in random.split() }
        var errors = [Double](repeating: 0, count: rowParts)
        let inverse = 1 / variance
        let factor = step / (Float(n) * variance)
        let binary = configuration.visibleUnits == .binary
        let meanVisible = configuration.meanVisible
        let sigmaValue = sigma
        BLAS.singleThreaded {
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
            FixedParts.run(rowParts, cores: cores) { part in
                let rows = FixedParts.range(part, of: rowParts, extent: n)
                let (r0, m) = (rows.lowerBound, rows.count)
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
                    rngs[part].sampleBernoulli(UnsafeMutableBufferPointer(start: upNeg, count: m * h))
                    BLAS.gemm(m: m, n: v, k: h, UnsafePointer(upNeg), transposeA: false, UnsafePointer(W), transposeB: true, down)
                    for r in 0 ..< m {
                        let row = down + r * v
                        addEight(row, UnsafePointer(B), count: v)
                        if binary { mapEight(row, row, count: v, fastSigmoid, fastSigmoid) }
                    }
                    if s == 0 {
                        errs[part] = Double(squaredDistance(UnsafePointer(input), UnsafePointer(down), count: m * v))
                    }
                    if !meanVisible {
                        let buffer = UnsafeMutableBufferPointer(start: down, count: m * v)
                        if binary { rngs[part].sampleBernoulli(buffer) } else { rngs[part].addNormal(buffer, standardDeviation: sigmaValue) }
                    }
                    hidden(down, upNeg)
                }
                negateEight(upNeg, count: m * h)
            }
            // Phase 2: the update, rows of W (and entries of b, c) split over the cores.
            FixedParts.run(weightParts, cores: cores) { part in
                let (q0, q1) = (v * part / weightParts, v * (part + 1) / weightParts)
                if q1 > q0 {
                    BLAS.gemm(m: q1 - q0, n: h, k: 2 * n, UnsafePointer(SV) + q0, lda: v, transposeA: true, UnsafePointer(SH), ldb: h, transposeB: false,
                              W + q0 * h, ldc: h, alpha: factor, beta: 1)
                    for r in 0 ..< n {
                        addScaledDifference(B + q0, UnsafePointer(SV) + r * v + q0, UnsafePointer(SV) + (n + r) * v + q0, scale: factor, count: q1 - q0)
                    }
                }
                let (c0, c1) = (h * part / weightParts, h * (part + 1) / weightParts)
                if c1 > c0 {
                    for r in 0 ..< 2 * n { addScaledDifference(C + c0, UnsafePointer(SH) + r * h + c0, nil, scale: factor, count: c1 - c0) }
                }
            }
        } } } } } } } } }
        return errors.reduce(0, +) / Double(n)
    }

}
