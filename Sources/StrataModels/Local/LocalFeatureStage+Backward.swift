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
    /// the last ``output(_:)`` of this whole stage read, from what it left in
    /// the scratch (nothing is computed again): the encoder's into
    /// `encoderGradient`, the input's into `inputGradient` unless it is nil
    /// (the bottom stage of a network needs none). Parts of examples or of
    /// positions share the cores; no result depends on the cut.
    mutating func backwardAfterOutput(_ gradient: Tensor, encoderGradient: inout Tensor, inputGradient: inout Tensor?) {
        let g = geometry, n = gradient.rows, (f, k, row) = (g.fieldSize, g.maps, g.filterSize), pooling = self.pooling, size = g.outputSize
        scratch.pooledGradient.reserve(n * size)
        let (h, gh, pooled, gradientOfPooled) = (scratch.h.pointer, scratch.gh.pointer, scratch.pooled.pointer, scratch.pooledGradient.pointer)
        gradient.withUnsafeBufferPointer { upstream in
            let lcn = LocalContrastNormalization(size: g.normalizationSize, rows: g.poolRows, columns: g.poolColumns, maps: g.maps)
            inParts(n, minimum: 8) { examples in
                let (first, count) = (examples.lowerBound, examples.count)
                if g.normalizationSize > 0 {
                    lcn.backward(pooled + first * size, gradient: upstream.baseAddress! + first * size, examples: count, into: gradientOfPooled + first * size)
                } else {
                    (gradientOfPooled + first * size).update(from: upstream.baseAddress! + first * size, count: count * size)
                }
                (gh + first * row).update(repeating: 0, count: count * row)
                pooling.backward(h + first * row, .init(0 ..< g.filterRows), pooled: pooled + first * size, .init(0 ..< g.poolRows), gradient: gradientOfPooled + first * size,
                                 examples: count, pools: 0 ..< g.poolRows, targetRows: 0 ..< g.filterRows, into: gh + first * row)
            }
        }
        let (fields, gradientOfFields, tied) = (scratch.fields.pointer, scratch.residualFields.pointer, configuration.tied)
        let wantsInput = inputGradient != nil
        encoderGradient.withUnsafeMutableBufferPointer { gw in
            encoder.withUnsafeBufferPointer { w in
                func products(_ positions: Range<Int>) {
                    for j in positions {
                        let offset = tied ? 0 : j * f * k
                        BLAS.gemm(m: f, n: k, k: n, fields + j * n * f, lda: f, transposeA: true, gh + j * k, ldb: row,
                                  transposeB: false, gw.baseAddress! + offset, ldc: k, beta: tied && j > 0 ? 1 : 0)
                        guard wantsInput else { continue }
                        BLAS.gemm(m: n, n: f, k: k, gh + j * k, lda: row, transposeA: false, w.baseAddress! + offset, ldb: k,
                                  transposeB: true, gradientOfFields + j * n * f, ldc: f)
                    }
                }
                if tied { products(0 ..< g.positions) } else { inParts(g.positions, minimum: 4, products) }
            }
        }
        guard inputGradient != nil else { return }
        inputGradient!.withUnsafeMutableBufferPointer { gx in
            inParts(n, minimum: 8) { examples in
                let image = gx.baseAddress! + examples.lowerBound * g.inputSize
                image.update(repeating: 0, count: examples.count * g.inputSize)
                // Each pixel's sum over the fields that hold it, position after position, as one process's.
                for position in 0 ..< g.positions {
                    g.addField(gradientOfFields + (position * n + examples.lowerBound) * f, examples: examples.count,
                               y: position / g.filterColumns, x: position % g.filterColumns, into: image)
                }
            }
        }
    }
}
