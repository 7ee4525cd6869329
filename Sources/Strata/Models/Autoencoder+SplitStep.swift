import Dispatch

extension Autoencoder {
    /// A plain-SGD step spread over `cores` with single-threaded GEMMs and no
    /// reduction: phase 1 cuts the batch's rows into parts (corrupt, encode,
    /// decode, loss, backpropagate to the hidden layer), phase 2 cuts the
    /// weight matrices' rows (each part adds its band of `-step * gradient`).
    /// The parts depend on the shapes only (``FixedParts``), not on `cores`.
    /// Used without sparsity and contractive penalties, which couple rows.
    /// `output` holds the output deltas above the corrupted input and `hidden`
    /// the hidden values above their deltas, `(2n, ·)` each, so a tied model's
    /// weight update `Z^T H + X~^T dH` is one GEMM of depth 2n (one pass over W).
    /// With one core this is also the allocation-free plain-SGD path.
    mutating func splitPlainStep(_ batch: Tensor, random: inout RandomSource, step: Float, cores: Int) -> Double {
        let (n, v, h) = (batch.rows, visibleCount, hiddenCount)
        ensureShape(&output, 2 * n, v); ensureShape(&hidden, 2 * n, h); ensureShape(&elementLoss, n, v)
        // Parts fixed by the shapes (FixedParts), so any number of cores gives the same bits.
        let (rowParts, weightParts) = (FixedParts.count(n, minimum: 32), FixedParts.count(v, minimum: 64))
        var streams = (0 ..< rowParts).map { _ in random.split() }
        let inverseN = 1 / Float(n)
        let configuration = self.configuration
        let tied = configuration.tied
        // A tied model has no decoder matrix; give the pointer something to point at.
        var decoder = tied ? Tensor(zeros: [1]) : decoderWeights
        if !tied { decoderWeights = Tensor(zeros: [0, v]) }   // hand its storage to `decoder` without a copy
        defer { if !tied { decoderWeights = decoder } }
        BLAS.singleThreaded {
        batch.withUnsafeBufferPointer { x in
        weights.withUnsafeMutableBufferPointer { w in
        decoder.withUnsafeMutableBufferPointer { d in
        visibleBias.withUnsafeMutableBufferPointer { b in
        hiddenBias.withUnsafeMutableBufferPointer { c in
        hidden.withUnsafeMutableBufferPointer { hb in
        output.withUnsafeMutableBufferPointer { zb in
        elementLoss.withUnsafeMutableBufferPointer { lb in
        streams.withUnsafeMutableBufferPointer { rngs in
            let (X, W, D, B, C) = (x.baseAddress!, w.baseAddress!, d.baseAddress!, b.baseAddress!, c.baseAddress!)
            let (HB, Z, L) = (hb.baseAddress!, zb.baseAddress!, lb.baseAddress!)
            let (XT, DH) = (Z + n * v, HB + n * h)
            // Phase 1: rows of the batch.
            FixedParts.run(rowParts, cores: cores) { part in
                let rows = FixedParts.range(part, of: rowParts, extent: n)
                let (r0, m) = (rows.lowerBound, rows.count)
                guard m > 0 else { return }
                let (xs, xts, hs, zs, ls, ds) = (X + r0 * v, XT + r0 * v, HB + r0 * h, Z + r0 * v, L + r0 * v, DH + r0 * h)
                xts.update(from: xs, count: m * v)
                Self.corruptInPlace(UnsafeMutableBufferPointer(start: xts, count: m * v), configuration.corruption, random: &rngs[part])
                BLAS.gemm(m: m, n: h, k: v, UnsafePointer(xts), transposeA: false, UnsafePointer(W), transposeB: false, hs)
                for r in 0 ..< m { addEight(hs + r * h, UnsafePointer(C), count: h) }
                configuration.encoder.apply(UnsafeMutableBufferPointer(start: hs, count: m * h))
                BLAS.gemm(m: m, n: v, k: h, UnsafePointer(hs), transposeA: false, UnsafePointer(tied ? W : D), transposeB: tied, zs)
                for r in 0 ..< m { addEight(zs + r * v, UnsafePointer(B), count: v) }
                Self.lossAndDelta(configuration, UnsafeMutableBufferPointer(start: zs, count: m * v),
                                  target: UnsafeBufferPointer(start: xs, count: m * v),
                                  loss: UnsafeMutableBufferPointer(start: ls, count: m * v), inverseN: inverseN)
                BLAS.gemm(m: m, n: h, k: v, UnsafePointer(zs), transposeA: false, UnsafePointer(tied ? W : D), transposeB: !tied, ds)
                configuration.encoder.multiplyByDerivative(UnsafeMutableBufferPointer(start: ds, count: m * h),
                                                           output: UnsafeBufferPointer(start: hs, count: m * h))
            }
            // Phase 2: rows of the weight matrices, entries of the biases.
            FixedParts.run(weightParts, cores: cores) { part in
                let (q0, q1) = (v * part / weightParts, v * (part + 1) / weightParts)
                if q1 > q0 {
                    // Tied: W -= step [Z; X~]^T [H; dH] (depth 2n); untied: W -= step X~^T dH.
                    let (a, bMatrix, depth) = tied ? (UnsafePointer(Z), UnsafePointer(HB), 2 * n) : (UnsafePointer(XT), UnsafePointer(DH), n)
                    BLAS.gemm(m: q1 - q0, n: h, k: depth, a + q0, lda: v, transposeA: true, bMatrix, ldb: h, transposeB: false,
                              W + q0 * h, ldc: h, alpha: -step, beta: 1)
                    for r in 0 ..< n { addScaledDifference(B + q0, UnsafePointer(Z) + r * v + q0, nil, scale: -step, count: q1 - q0) }
                }
                let (p0, p1) = (h * part / weightParts, h * (part + 1) / weightParts)
                if !tied, p1 > p0 {
                    BLAS.gemm(m: p1 - p0, n: v, k: n, UnsafePointer(HB) + p0, lda: h, transposeA: true, UnsafePointer(Z), ldb: v, transposeB: false,
                              D + p0 * v, ldc: v, alpha: -step, beta: 1)
                }
                if p1 > p0 {
                    for r in 0 ..< n { addScaledDifference(C + p0, UnsafePointer(DH) + r * h + p0, nil, scale: -step, count: p1 - p0) }
                }
            }
        } } } } } } } } } }
        return Double(elementLoss.withUnsafeBufferPointer { vectorSum($0) }) / Double(n)
    }
}
