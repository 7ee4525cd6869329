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
        let g = geometry, n = x.rows, layer = filterLayer, pooling = self.pooling
        let h = layer.forward(x)
        var pooled = Tensor(zeros: [n, g.outputSize])
        pooled.withUnsafeMutableBufferPointer { p in
            h.withUnsafeBufferPointer { pooling.forward($0.baseAddress!, .init(0 ..< g.filterRows), examples: n, pools: 0 ..< g.poolRows, into: p.baseAddress!, .init(0 ..< g.poolRows)) }
        }
        var gradientOfPooled = gradient
        if g.normalizationSize > 0 {
            let lcn = LocalContrastNormalization(size: g.normalizationSize, rows: g.poolRows, columns: g.poolColumns, maps: g.maps)
            gradientOfPooled = Tensor(shape: [n, g.outputSize], unsafeUninitialized: { out in
                pooled.withUnsafeBufferPointer { p in
                    gradient.withUnsafeBufferPointer { lcn.backward(p.baseAddress!, gradient: $0.baseAddress!, examples: n, into: out.baseAddress!) }
                }
            })
        }
        var gradientOfH = Tensor(zeros: h.shape)
        gradientOfH.withUnsafeMutableBufferPointer { out in
            h.withUnsafeBufferPointer { hv in
                pooled.withUnsafeBufferPointer { p in
                    gradientOfPooled.withUnsafeBufferPointer { gp in
                        pooling.backward(hv.baseAddress!, .init(0 ..< g.filterRows), pooled: p.baseAddress!, .init(0 ..< g.poolRows), gradient: gp.baseAddress!,
                                         examples: n, pools: 0 ..< g.poolRows, targetRows: 0 ..< g.filterRows, into: out.baseAddress!)
                    }
                }
            }
        }
        let (weights, input) = layer.backward(x, gradient: gradientOfH)
        return (weights, input)
    }
}
