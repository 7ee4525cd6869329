import Dispatch

extension Autoencoder {
    /// A plain-SGD step spread over `cores` with single-threaded GEMMs and no
    /// reduction: phase 1 splits the batch's rows (corrupt, encode, decode,
    /// loss, backpropagate to the hidden layer), phase 2 splits the weight
    /// matrices' rows (each core adds its band of `-step * gradient`).
    /// Used without sparsity and contractive penalties, which couple rows.
    mutating func splitPlainStep(_ batch: Tensor, random: inout RandomSource, step: Float, cores: Int) -> Double {
        let (n, v, h) = (batch.rows, visibleCount, hiddenCount)
        ensureShape(&corrupted, n, v); ensureShape(&hidden, n, h); ensureShape(&output, n, v)
        ensureShape(&elementLoss, n, v); ensureShape(&deltaHidden, n, h)
        var streams = (0 ..< cores).map { _ in random.split() }
        let inverseN = 1 / Float(n)
        let configuration = self.configuration
        let tied = configuration.tied
        let previousThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = previousThreads }
        // A tied model has no decoder matrix; give the pointer something to point at.
        var decoder = tied ? Tensor(zeros: [1]) : decoderWeights
        if !tied { decoderWeights = Tensor(zeros: [0, v]) }   // hand its storage to `decoder` without a copy
        defer { if !tied { decoderWeights = decoder } }
        batch.withUnsafeBufferPointer { x in
        corrupted.withUnsafeMutableBufferPointer { xt in
        weights.withUnsafeMutableBufferPointer { w in
        decoder.withUnsafeMutableBufferPointer { d in
        visibleBias.withUnsafeMutableBufferPointer { b in
        hiddenBias.withUnsafeMutableBufferPointer { c in
        hidden.withUnsafeMutableBufferPointer { hb in
        output.withUnsafeMutableBufferPointer { zb in
        elementLoss.withUnsafeMutableBufferPointer { lb in
        deltaHidden.withUnsafeMutableBufferPointer { db in
        streams.withUnsafeMutableBufferPointer { rngs in
            let (X, XT, W, D, B, C) = (x.baseAddress!, xt.baseAddress!, w.baseAddress!, d.baseAddress!, b.baseAddress!, c.baseAddress!)
            let (HB, Z, L, DH) = (hb.baseAddress!, zb.baseAddress!, lb.baseAddress!, db.baseAddress!)
            // Phase 1: rows of the batch.
            DispatchQueue.concurrentPerform(iterations: cores) { core in
                let r0 = n * core / cores, m = n * (core + 1) / cores - r0
                guard m > 0 else { return }
                let (xs, xts, hs, zs, ls, ds) = (X + r0 * v, XT + r0 * v, HB + r0 * h, Z + r0 * v, L + r0 * v, DH + r0 * h)
                xts.update(from: xs, count: m * v)
                Self.corruptInPlace(UnsafeMutableBufferPointer(start: xts, count: m * v), configuration.corruption, random: &rngs[core])
                BLAS.gemm(m: m, n: h, k: v, UnsafePointer(xts), transposeA: false, UnsafePointer(W), transposeB: false, hs)
                for r in 0 ..< m { for j in 0 ..< h { hs[r * h + j] += C[j] } }
                configuration.encoder.apply(UnsafeMutableBufferPointer(start: hs, count: m * h))
                BLAS.gemm(m: m, n: v, k: h, UnsafePointer(hs), transposeA: false, UnsafePointer(tied ? W : D), transposeB: tied, zs)
                for r in 0 ..< m { for j in 0 ..< v { zs[r * v + j] += B[j] } }
                Self.lossAndDelta(configuration, UnsafeMutableBufferPointer(start: zs, count: m * v),
                                  target: UnsafeBufferPointer(start: xs, count: m * v),
                                  loss: UnsafeMutableBufferPointer(start: ls, count: m * v), inverseN: inverseN)
                BLAS.gemm(m: m, n: h, k: v, UnsafePointer(zs), transposeA: false, UnsafePointer(tied ? W : D), transposeB: !tied, ds)
                configuration.encoder.multiplyByDerivative(UnsafeMutableBufferPointer(start: ds, count: m * h),
                                                           output: UnsafeBufferPointer(start: hs, count: m * h))
            }
            // Phase 2: rows of the weight matrices, entries of the biases.
            DispatchQueue.concurrentPerform(iterations: cores) { core in
                let q0 = v * core / cores, q1 = v * (core + 1) / cores
                if q1 > q0 {
                    if tied {
                        BLAS.gemm(m: q1 - q0, n: h, k: n, UnsafePointer(Z) + q0, lda: v, transposeA: true, UnsafePointer(HB), ldb: h, transposeB: false,
                                  W + q0 * h, ldc: h, alpha: -step, beta: 1)
                    }
                    BLAS.gemm(m: q1 - q0, n: h, k: n, UnsafePointer(XT) + q0, lda: v, transposeA: true, UnsafePointer(DH), ldb: h, transposeB: false,
                              W + q0 * h, ldc: h, alpha: -step, beta: 1)
                    for j in q0 ..< q1 {
                        var total: Float = 0
                        for r in 0 ..< n { total += Z[r * v + j] }
                        B[j] -= step * total
                    }
                }
                let p0 = h * core / cores, p1 = h * (core + 1) / cores
                if !tied, p1 > p0 {
                    BLAS.gemm(m: p1 - p0, n: v, k: n, UnsafePointer(HB) + p0, lda: h, transposeA: true, UnsafePointer(Z), ldb: v, transposeB: false,
                              D + p0 * v, ldc: v, alpha: -step, beta: 1)
                }
                for j in p0 ..< p1 {
                    var total: Float = 0
                    for r in 0 ..< n { total += DH[r * h + j] }
                    C[j] -= step * total
                }
            }
        } } } } } } } } } } }
        return Double(elementLoss.withUnsafeBufferPointer { vectorSum($0) }) / Double(n)
    }
}
