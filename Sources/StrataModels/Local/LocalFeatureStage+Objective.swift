import Foundation
import StrataCore

/// The buffers of a local stage's step, made for a batch size and reused
/// while it stays: nothing is allocated per step. A stage copied and trained
/// elsewhere gets its own (``LocalFeatureStage/prepareScratch(examples:)``).
final class LocalStageScratch: @unchecked Sendable {
    var examples = -1, partition: LocalStagePartition?
    var fields = Buffer(), residualFields = Buffer(), h = Buffer(), gh = Buffer(), pooled = Buffer(), reconstruction = Buffer(), pooledGradient = Buffer(), wholePooled = Buffer(), pooledBands = Buffer()
    var toPrevious = Buffer(), fromPrevious = Buffer(), toNext = Buffer(), fromNext = Buffer()
    var gradEncoder = Tensor(zeros: [0]), gradDecoder = Tensor(zeros: [0])
    /// Held while a ``LocalFeatureStage/transform(_:)`` uses these buffers.
    let taken = NSLock()
    private var lcn: LocalContrastNormalization?

    /// The stage's local contrast normalization (nil without one), its
    /// window and normalizer made on first use, not per batch.
    func normalization(_ g: LocalStageGeometry) -> LocalContrastNormalization? {
        guard g.normalizationSize > 0 else { return nil }
        if let lcn, lcn.size == g.normalizationSize, lcn.rows == g.poolRows, lcn.columns == g.poolColumns, lcn.maps == g.maps { return lcn }
        lcn = LocalContrastNormalization(size: g.normalizationSize, rows: g.poolRows, columns: g.poolColumns, maps: g.maps)
        return lcn
    }

    /// A growable raw buffer of Float32.
    struct Buffer {
        private(set) var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var capacity = 1
        mutating func reserve(_ count: Int) {
            guard count > capacity else { return }
            pointer.deallocate()
            (pointer, capacity) = (.allocate(capacity: count), count)
        }
        func free() { pointer.deallocate() }
    }

    deinit { for b in [fields, residualFields, h, gh, pooled, reconstruction, pooledGradient, wholePooled, pooledBands, toPrevious, fromPrevious, toNext, fromNext] { b.free() } }
}

extension LocalFeatureStage {
    /// Values per example in the filter-response buffer: the filter rows read, all columns and maps.
    var readRowValues: Int { partition.readRows.count * geometry.filterColumns * geometry.maps }

    mutating func prepareScratch(examples n: Int) {
        if !scratchBorrowed, !isKnownUniquelyReferenced(&scratch) { scratch = LocalStageScratch() }
        guard scratch.examples != n || scratch.partition != partition else { return } // (copies of one stage's parts may share a transform's buffers)
        let g = geometry, p = partition, owned = p.positions(g).count
        let unitRow = g.filterColumns * g.maps
        (scratch.examples, scratch.partition) = (n, partition)
        for keyPath in [\LocalStageScratch.fields, \.residualFields] { scratch[keyPath: keyPath].reserve(owned * n * g.fieldSize) }
        for keyPath in [\LocalStageScratch.h, \.gh] { scratch[keyPath: keyPath].reserve(n * readRowValues) }
        scratch.pooled.reserve(n * max(1, p.pooledRows.count * g.poolColumns * g.maps))
        scratch.reconstruction.reserve(n * g.inputSize)
        let border = n * max(p.rowsToPrevious * unitRow, (p.readRows.count - p.filterRows.count) * unitRow, p.pooledRows.count * g.poolColumns * g.maps,
                             p.sharedWithPrevious.count * g.inputRowSize, p.sharedWithNext.count * g.inputRowSize, 1)
        for keyPath in [\LocalStageScratch.toPrevious, \.fromPrevious, \.toNext, \.fromNext] { scratch[keyPath: keyPath].reserve(border) }
        scratch.gradEncoder = Tensor(zeros: encoder.shape)
        scratch.gradDecoder = Tensor(zeros: decoder.shape)
    }

    /// The objective's two terms summed over the examples of `x` (`(n, visible)`)
    /// and over every part: `sum_i ||W2 W1^T x_i - x_i||^2` and
    /// `sum_i sum_j pooled_ij`. With `gradients`, the gradient of
    /// `J = (reconstruction + lambda sparsity) / n` with respect to this part's
    /// weights is left in the scratch's `gradEncoder` and `gradDecoder`. Collective when split.
    mutating func evaluate(_ x: Tensor, gradients: Bool) -> (reconstruction: Double, sparsity: Double) {
        let n = x.rows
        prepareScratch(examples: n)
        var terms = x.withUnsafeBufferPointer { input -> [Double] in
            let x = input.baseAddress!
            filterForward(x, examples: n)
            let sparsity = poolForward(examples: n)
            let reconstruction = reconstruct(x, examples: n)
            if gradients { backward(examples: n) }
            return [reconstruction, sparsity]
        }
        exchange?.sum(&terms)
        return (terms[0], terms[1])
    }

    /// Runs `body` over parts of `0 ..< extent` on the active cores. Each
    /// index's work (a position's product, an example's sums) depends on no
    /// other's, so neither the cut nor the core count changes a result.
    func inParts(_ extent: Int, minimum: Int, _ body: (Range<Int>) -> Void) {
        let parts = FixedParts.count(extent, minimum: minimum)
        FixedParts.run(parts) { body(FixedParts.range($0, of: parts, extent: extent)) }
    }

    /// The sum of `body` over parts of `0 ..< extent`, added in part order (the parts are fixed by the extent).
    func sumInParts(_ extent: Int, minimum: Int, _ body: (Range<Int>) -> Double) -> Double {
        let parts = FixedParts.count(extent, minimum: minimum)
        let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: parts)
        defer { sums.deallocate() }
        FixedParts.run(parts) { sums[$0] = body(FixedParts.range($0, of: parts, extent: extent)) }
        return sums.reduce(0, +)
    }

    /// The filter position of this part's `j`th position.
    func position(_ j: Int) -> (y: Int, x: Int) {
        let index = partition.filterRows.lowerBound * geometry.filterColumns + j
        return (index / geometry.filterColumns, index % geometry.filterColumns)
    }

    /// Filter responses of this part's rows into `h`, then the next part's first rows (the halo its pools read).
    func filterForward(_ x: UnsafePointer<Float>, examples n: Int) {
        let g = geometry, p = partition, (f, k) = (g.fieldSize, g.maps), row = readRowValues, tied = configuration.tied
        let (fields, h) = (scratch.fields.pointer, scratch.h.pointer)
        encoder.withUnsafeBufferPointer { w in
            inParts(p.positions(g).count, minimum: 4) { positions in
                for j in positions {
                    g.gatherField(x, examples: n, y: position(j).y, x: position(j).x, into: fields + j * n * f)
                    BLAS.gemm(m: n, n: k, k: f, fields + j * n * f, lda: f, transposeA: false,
                              w.baseAddress! + (tied ? 0 : j * f * k), ldb: k, transposeB: false, h + j * k, ldc: row)
                }
            }
        }
        let unitRow = g.filterColumns * k, halo = (p.readRows.count - p.filterRows.count) * unitRow
        swapBorders(examples: n, toPrevious: (0, p.rowsToPrevious * unitRow, row), toNext: nil,
                    fromNext: (p.filterRows.count * unitRow, halo, row), fromPrevious: nil, in: h, adding: false)
    }

    /// This part's pooling units (their sum returned), and the previous
    /// part's that read this part's rows, received from it.
    func poolForward(examples n: Int) -> Double {
        let g = geometry, p = partition, poolRow = g.poolColumns * g.maps, band = L2Pooling.Band(p.pooledRows), pooling = self.pooling
        let (h, pooled, row) = (scratch.h.pointer, scratch.pooled.pointer, readRowValues)
        let sum = sumInParts(n, minimum: 8) { examples in
            pooling.forward(h + examples.lowerBound * row, L2Pooling.Band(p.readRows), examples: examples.count, pools: p.pools,
                            into: pooled + examples.lowerBound * band.rows * poolRow, band)
        }
        swapBorders(examples: n, toPrevious: nil, toNext: ((p.poolsToNext.lowerBound - band.first) * poolRow, p.poolsToNext.count * poolRow, band.rows * poolRow),
                    fromNext: nil, fromPrevious: (0, p.poolsFromPrevious.count * poolRow, band.rows * poolRow), in: pooled, adding: false)
        return sum
    }

    /// `W2 W1^T x` over this part's input rows, then the residual
    /// (reconstruction - x) left in `reconstruction`; returns its squared sum
    /// over the rows this part counts.
    private func reconstruct(_ x: UnsafePointer<Float>, examples n: Int) -> Double {
        let g = geometry, p = partition, (f, k) = (g.fieldSize, g.maps), rowSize = g.inputRowSize, size = g.inputSize
        let touched = touchedInputRows
        let r = scratch.reconstruction.pointer, blocks = scratch.residualFields.pointer // free until the backward pass
        let (owned, h, row, tied) = (p.positions(g).count, scratch.h.pointer, readRowValues, configuration.tied)
        decoder.withUnsafeBufferPointer { w in
            inParts(owned, minimum: 4) { positions in
                for j in positions {
                    BLAS.gemm(m: n, n: f, k: k, h + j * k, lda: row, transposeA: false,
                              w.baseAddress! + (tied ? 0 : j * k * f), ldb: f, transposeB: false, blocks + j * n * f, ldc: f)
                }
            }
        }
        sumFieldsInOrder(blocks, examples: n, into: r)
        let counted = p.countedInputRows
        return sumInParts(n, minimum: 8) { examples in
            var squared = 0.0
            for e in examples {
                let out = r + e * size, image = x + e * size
                for y in touched {
                    var rowSum: Float = 0
                    for i in y * rowSize ..< (y + 1) * rowSize {
                        out[i] -= image[i]
                        rowSum += out[i] * out[i]
                    }
                    if counted.contains(y) { squared += Double(rowSum) }
                }
            }
            return squared
        }
    }

    /// The gradients of `J` for this part's weights, from the residual and
    /// the pooled values; position by position, each on one core (a tied
    /// stage sums its positions in order, on one core).
    private func backward(examples n: Int) {
        let g = geometry, p = partition, (f, k) = (g.fieldSize, g.maps), row = readRowValues, pooling = self.pooling
        let scale = 2 / Float(n), sparsityScale = configuration.sparsityWeight / Float(n), poolRow = g.poolColumns * g.maps
        let (h, gh, fields, residual) = (scratch.h.pointer, scratch.gh.pointer, scratch.fields.pointer, scratch.residualFields.pointer)
        let (pooled, reconstruction) = (scratch.pooled.pointer, scratch.reconstruction.pointer)
        gh.update(repeating: 0, count: n * row)
        // Each part takes its own units' gradient from every pool that reads them, its neighbour's included.
        inParts(n, minimum: 8) { examples in
            pooling.backward(h + examples.lowerBound * row, L2Pooling.Band(p.readRows), pooled: pooled + examples.lowerBound * p.pooledRows.count * poolRow,
                             L2Pooling.Band(p.pooledRows), gradient: nil, scale: sparsityScale, examples: examples.count, pools: p.pooledRows,
                             targetRows: p.filterRows, into: gh + examples.lowerBound * row)
        }
        let tied = configuration.tied, owned = p.positions(g).count
        scratch.gradEncoder.withUnsafeMutableBufferPointer { gEncoder in
            scratch.gradDecoder.withUnsafeMutableBufferPointer { gDecoder in
                decoder.withUnsafeBufferPointer { w2 in
                    func gradients(_ positions: Range<Int>) {
                        for j in positions {
                            let weights = tied ? 0 : j * f * k, accumulate: Float = tied && j > 0 ? 1 : 0
                            g.gatherField(reconstruction, examples: n, y: position(j).y, x: position(j).x, into: residual + j * n * f)
                            BLAS.gemm(m: k, n: f, k: n, h + j * k, lda: row, transposeA: true, residual + j * n * f, ldb: f, transposeB: false,
                                      gDecoder.baseAddress! + weights, ldc: f, alpha: scale, beta: accumulate)
                            BLAS.gemm(m: n, n: k, k: f, residual + j * n * f, lda: f, transposeA: false, w2.baseAddress! + weights, ldb: f, transposeB: true,
                                      gh + j * k, ldc: row, alpha: scale, beta: 1)
                            BLAS.gemm(m: f, n: k, k: n, fields + j * n * f, lda: f, transposeA: true, gh + j * k, ldb: row, transposeB: false,
                                      gEncoder.baseAddress! + weights, ldc: k, beta: accumulate)
                        }
                    }
                    if tied { gradients(0 ..< owned) } else { inParts(owned, minimum: 4, gradients) }
                }
                if tied, let exchange { exchange.sum(gEncoder); exchange.sum(gDecoder) }
            }
        }
    }

    /// The input rows this part writes: those its fields cover and those it counts.
    var touchedInputRows: Range<Int> {
        let p = partition
        return min(p.inputRows.lowerBound, p.countedInputRows.lowerBound) ..< max(p.inputRows.upperBound, p.countedInputRows.upperBound)
    }

    /// `r` (`(n, inputSize)`) on this part's touched input rows: zero, plus
    /// each owned position's block of `blocks` (`(owned, n, fieldSize)`) added
    /// where its field lies. Rows shared with a neighbour are summed in one
    /// process's order: the previous part's partial sum first, then this
    /// part's fields, position after position; the whole goes back. So every
    /// touched row holds one process's bits. Collective when split.
    func sumFieldsInOrder(_ blocks: UnsafePointer<Float>, examples n: Int, into r: UnsafeMutablePointer<Float>) {
        let g = geometry, p = partition, f = g.fieldSize, rowSize = g.inputRowSize, size = g.inputSize, touched = touchedInputRows
        let owned = p.positions(g).count
        for e in 0 ..< n { (r + e * size + touched.lowerBound * rowSize).update(repeating: 0, count: touched.count * rowSize) }
        func add(rows: Range<Int>) {
            guard !rows.isEmpty else { return }
            inParts(n, minimum: 8) { examples in
                for j in 0 ..< owned {
                    g.addField(blocks + j * n * f + examples.lowerBound * f, examples: examples.count, y: position(j).y, x: position(j).x,
                               rows: rows, into: r + examples.lowerBound * size)
                }
            }
        }
        func border(_ rows: Range<Int>) -> (Int, Int, Int) { (rows.lowerBound * rowSize, rows.count * rowSize, size) }
        add(rows: max(touched.lowerBound, p.sharedWithPrevious.upperBound) ..< touched.upperBound)
        swapBorders(examples: n, toPrevious: nil, toNext: border(p.sharedWithNext), fromNext: nil, fromPrevious: border(p.sharedWithPrevious), in: r, adding: false)
        add(rows: p.sharedWithPrevious)
        swapBorders(examples: n, toPrevious: border(p.sharedWithPrevious), toNext: nil, fromNext: border(p.sharedWithNext), fromPrevious: nil, in: r, adding: false)
    }

    /// Sends and receives border values with the neighbouring parts. Each
    /// border is `(offset, count, stride)`: `count` values at `offset` in each
    /// of the `n` examples' rows of `stride` values of `buffer`. Received
    /// values are written in place, or added (`adding`). Nothing in one process.
    private func swapBorders(examples n: Int, toPrevious: (Int, Int, Int)?, toNext: (Int, Int, Int)?,
                             fromNext: (Int, Int, Int)?, fromPrevious: (Int, Int, Int)?,
                             in buffer: UnsafeMutablePointer<Float>, adding: Bool) {
        guard let exchange else { return }
        let first = exchange.part == 0, last = exchange.part == exchange.parts - 1
        func pack(_ border: (Int, Int, Int)?, _ skip: Bool, _ into: ScratchBuffer) -> UnsafeBufferPointer<Float> {
            guard let (offset, count, stride) = border, !skip, count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
            for e in 0 ..< n { (into.pointer + e * count).update(from: buffer + e * stride + offset, count: count) }
            return UnsafeBufferPointer(start: into.pointer, count: n * count)
        }
        func space(_ border: (Int, Int, Int)?, _ skip: Bool, _ into: ScratchBuffer) -> UnsafeMutableBufferPointer<Float> {
            guard let (_, count, _) = border, !skip, count > 0 else { return UnsafeMutableBufferPointer(start: nil, count: 0) }
            return UnsafeMutableBufferPointer(start: into.pointer, count: n * count)
        }
        let fromPreviousValues = space(fromPrevious, first, scratch.fromPrevious), fromNextValues = space(fromNext, last, scratch.fromNext)
        exchange.exchange(toPrevious: pack(toPrevious, first, scratch.toPrevious), fromPrevious: fromPreviousValues,
                          toNext: pack(toNext, last, scratch.toNext), fromNext: fromNextValues)
        func place(_ border: (Int, Int, Int)?, _ values: UnsafeMutableBufferPointer<Float>) {
            guard let (offset, count, stride) = border, values.count > 0 else { return }
            for e in 0 ..< n {
                let target = buffer + e * stride + offset, source = values.baseAddress! + e * count
                if adding { for i in 0 ..< count { target[i] += source[i] } } else { target.update(from: source, count: count) }
            }
        }
        place(fromPrevious, fromPreviousValues)
        place(fromNext, fromNextValues)
    }
}

typealias ScratchBuffer = LocalStageScratch.Buffer
