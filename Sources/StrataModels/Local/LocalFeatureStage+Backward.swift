import StrataCore

extension LocalFeatureStage {
    /// The filter layer of this whole stage as a ``LocallyConnected`` layer.
    public var filterLayer: LocallyConnected {
        LocallyConnected(trusted: geometry, weights: encoder, tied: configuration.tied)
    }

    /// The encoder with one `(fieldSize, maps)` block per position, tied or not: `(positions, fieldSize, maps)`.
    public var encoderPerPosition: Tensor {
        guard configuration.tied else { return encoder }
        let g = geometry
        return Tensor(shape: [g.positions, g.fieldSize, g.maps], scalars: Array([[Float]](repeating: encoder.scalars, count: g.positions).joined()))
    }

    /// The gradient with respect to the input `x` (`(n, visible)`) of
    /// `sum(gradient * transform(x))`: back through local contrast
    /// normalization, the L2 pooling and the filters. What finding a unit's
    /// optimal stimulus (Le et al. 2012, section 4.3) climbs; whole stages only.
    public func inputGradient(_ x: Tensor, outputGradient gradient: Tensor) throws -> Tensor {
        try backward(x, outputGradient: gradient).input
    }

    /// The gradients of `sum(gradient * transform(x))` with respect to the
    /// encoder (shaped as ``encoder``; summed over positions when tied) and
    /// to the input `x` (`(n, visible)`): back through local contrast
    /// normalization, the L2 pooling and the filters. What fine-tuning a
    /// network through its local stages takes (``LocalFront``); whole stages only.
    public func backward(_ x: Tensor, outputGradient gradient: Tensor) throws -> (encoder: Tensor, input: Tensor) {
        guard !isPartial else {
            throw StrataError.invalidArgument(name: "stage", reason: "gradients are taken through a whole stage; gather the parts first")
        }
        return wholeBackward(x, outputGradient: gradient)
    }

    /// ``backward(_:outputGradient:)`` of a stage known to be whole.
    func wholeBackward(_ x: Tensor, outputGradient gradient: Tensor) -> (encoder: Tensor, input: Tensor) {
        var stage = self
        _ = stage.output(x)
        var encoder = Tensor(zeros: self.encoder.shape), input: Tensor? = Tensor(zeros: [x.rows, visibleCount])
        stage.backwardAfterOutput(gradient, encoderGradient: &encoder, inputGradient: &input)
        return (encoder, input!)
    }

    /// The gradients of ``backward(_:outputGradient:)`` for the input that
    /// the last ``output(_:)`` of this stage read, from what it left in the
    /// scratch (nothing is computed again): the encoder's (this part's
    /// positions) into `encoderGradient`, the input's (whole, on every part)
    /// into `inputGradient` unless it is nil (the bottom stage of a network
    /// needs none). `gradient` is the whole output's, alike on every part.
    /// Each part takes LCN's gradient for its share of the examples (the
    /// parts gather them), its own units' from every pool
    /// that reads them, and its positions' products; the input rows that
    /// neighbours share are summed in one process's order, so any split
    /// gives one process's bits (a tied stage's encoder sum over the parts
    /// aside). Parts of examples or positions share the cores. Collective when split.
    mutating func backwardAfterOutput(_ gradient: Tensor, encoderGradient: inout Tensor, inputGradient: inout Tensor?) {
        let g = geometry, p = partition, n = gradient.rows, (f, k, row) = (g.fieldSize, g.maps, readRowValues), pooling = self.pooling, size = g.outputSize
        let poolRow = g.poolColumns * g.maps, band = p.pooledRows, bandSize = band.count * poolRow, split = exchange != nil
        scratch.pooledGradient.reserve(n * (size + (split ? bandSize : 0)))
        let (h, gh, pooled) = (scratch.h.pointer, scratch.gh.pointer, scratch.pooled.pointer)
        let (gradientOfPooled, wholePooled) = (scratch.pooledGradient.pointer, split ? scratch.wholePooled.pointer : pooled)
        let bandGradient = split ? gradientOfPooled + n * size : gradientOfPooled
        gradient.withUnsafeBufferPointer { upstream in
            let lcn = scratch.normalization(g)
            // LCN's gradient, each part its share of the examples, gathered.
            forEachExampleShare(n, values: size, in: UnsafeMutableBufferPointer(start: gradientOfPooled, count: n * size)) { share, shareCount in
                inParts(shareCount, minimum: 8) { part in
                    let first = share + part.lowerBound
                    if let lcn {
                        lcn.backward(wholePooled + first * size, gradient: upstream.baseAddress! + first * size, examples: part.count, into: gradientOfPooled + first * size)
                    } else {
                        (gradientOfPooled + first * size).update(from: upstream.baseAddress! + first * size, count: part.count * size)
                    }
                }
            }
            inParts(n, minimum: 8) { examples in
                let (first, count) = (examples.lowerBound, examples.count)
                if split { // this part's pooling rows, as its pooled values lie
                    for e in examples { (bandGradient + e * bandSize).update(from: gradientOfPooled + e * size + band.lowerBound * poolRow, count: bandSize) }
                }
                (gh + first * row).update(repeating: 0, count: count * row)
                pooling.backward(h + first * row, .init(p.readRows), pooled: pooled + first * bandSize, .init(band), gradient: bandGradient + first * bandSize,
                                 examples: count, pools: band, targetRows: p.filterRows, into: gh + first * row)
            }
        }
        positionProducts(examples: n, encoderGradient: &encoderGradient, fieldGradients: inputGradient != nil)
        guard inputGradient != nil else { return }
        inputGradient!.withUnsafeMutableBufferPointer { gx in
            sumFieldsInOrder(scratch.residualFields.pointer, examples: n, into: gx.baseAddress!)
            if split { gatherCountedRows(gx.baseAddress!, examples: n) }
        }
    }

    /// Each owned position's products with `gh`: its encoder gradient (a
    /// tied stage's summed over positions, then over the parts) and, with
    /// `fieldGradients`, its fields' gradient into the scratch's `residualFields`.
    private mutating func positionProducts(examples n: Int, encoderGradient: inout Tensor, fieldGradients: Bool) {
        let g = geometry, (f, k, row) = (g.fieldSize, g.maps, readRowValues), owned = partition.positions(g).count, tied = configuration.tied
        let (fields, gh, gradientOfFields) = (scratch.fields.pointer, scratch.gh.pointer, scratch.residualFields.pointer)
        encoderGradient.withUnsafeMutableBufferPointer { gw in
            encoder.withUnsafeBufferPointer { w in
                func products(_ positions: Range<Int>) {
                    for j in positions {
                        let offset = tied ? 0 : j * f * k
                        BLAS.gemm(m: f, n: k, k: n, fields + j * n * f, lda: f, transposeA: true, gh + j * k, ldb: row,
                                  transposeB: false, gw.baseAddress! + offset, ldc: k, beta: tied && j > 0 ? 1 : 0)
                        guard fieldGradients else { continue }
                        BLAS.gemm(m: n, n: f, k: k, gh + j * k, lda: row, transposeA: false, w.baseAddress! + offset, ldb: k,
                                  transposeB: true, gradientOfFields + j * n * f, ldc: f)
                    }
                }
                if tied { products(0 ..< owned) } else { inParts(owned, minimum: 4, products) }
            }
            if tied, let exchange { exchange.sum(gw) }
        }
    }

    /// Completes `image` (`(n, inputSize)`, this part's counted input rows
    /// exact) with every other part's counted rows: the whole input gradient on every part.
    private func gatherCountedRows(_ image: UnsafeMutablePointer<Float>, examples n: Int) {
        guard let exchange, let plan = try? LocalStagePartition.plan(geometry, parts: exchange.parts) else { return }
        let (rowSize, size) = (geometry.inputRowSize, geometry.inputSize), bands = scratch.reconstruction.pointer // n x inputSize, free after the forward pass
        let starts = plan.map { n * $0.countedInputRows.lowerBound * rowSize }
        func width(_ part: LocalStagePartition) -> Int { part.countedInputRows.count * rowSize }
        let mine = plan[partition.part]
        for e in 0 ..< n { (bands + starts[mine.part] + e * width(mine)).update(from: image + e * size + mine.countedInputRows.lowerBound * rowSize, count: width(mine)) }
        exchange.gatherBands(UnsafeMutableBufferPointer(start: bands, count: n * size), bands: plan.indices.map { starts[$0] ..< starts[$0] + n * width(plan[$0]) })
        for part in plan where part.part != mine.part {
            for e in 0 ..< n { (image + e * size + part.countedInputRows.lowerBound * rowSize).update(from: bands + starts[part.part] + e * width(part), count: width(part)) }
        }
    }
}
