import StrataCore

/// A locally connected layer: at each position of a grid over the input,
/// `maps` units with weights of their own over the position's receptive
/// field (weights not shared, as in Le et al. 2012 and Taigman et al.'s
/// DeepFace), or one set shared by every position (`tied`: a convolution
/// without padding). No bias: the stage that uses it (``LocalFeatureStage``)
/// has none. Shapes follow ``LocalStageGeometry``: `(n, inputSize)` in,
/// `(n, filterSize)` out, weights `(positions, fieldSize, maps)` (one
/// position when tied). One product per position, its fields gathered once.
public struct LocallyConnected: Sendable {
    public var geometry: LocalStageGeometry
    public var weights: Tensor
    public var tied: Bool

    public init(geometry: LocalStageGeometry, weights: Tensor, tied: Bool = false) throws {
        let expected = [tied ? 1 : geometry.positions, geometry.fieldSize, geometry.maps]
        guard weights.shape == expected else {
            throw StrataError.shapeMismatch(context: "locally connected weights", expected: expected, found: weights.shape)
        }
        (self.geometry, self.weights, self.tied) = (geometry, weights, tied)
    }

    /// A layer whose weights' shape the caller has made (a stage's own encoder).
    init(trusted geometry: LocalStageGeometry, weights: Tensor, tied: Bool) { (self.geometry, self.weights, self.tied) = (geometry, weights, tied) }

    /// Each position's fields, `(positions, n, fieldSize)`.
    private func fields(_ x: Tensor) -> Tensor {
        let g = geometry, n = x.rows
        return Tensor(shape: [g.positions, n, g.fieldSize], unsafeUninitialized: { out in
            x.withUnsafeBufferPointer { g.gatherFields($0.baseAddress!, examples: n, rows: 0 ..< g.filterRows, into: out.baseAddress!) }
        })
    }

    /// The responses `(n, filterSize)`: unit `k` at position `p` is column `p * maps + k`.
    public func forward(_ x: Tensor) -> Tensor {
        let g = geometry, n = x.rows, (f, k) = (g.fieldSize, g.maps), columns = fields(x)
        var out = Tensor(zeros: [n, g.filterSize])
        out.withUnsafeMutableBufferPointer { h in
            columns.withUnsafeBufferPointer { c in
                weights.withUnsafeBufferPointer { w in
                    for p in 0 ..< g.positions {
                        BLAS.gemm(m: n, n: k, k: f, c.baseAddress! + p * n * f, lda: f, transposeA: false,
                                  w.baseAddress! + (tied ? 0 : p * f * k), ldb: k, transposeB: false, h.baseAddress! + p * k, ldc: g.filterSize)
                    }
                }
            }
        }
        return out
    }

    /// The gradients of a loss with gradient `gradient` (`(n, filterSize)`)
    /// at the responses: for the weights (summed over positions when tied) and for the input.
    public func backward(_ x: Tensor, gradient: Tensor) -> (weights: Tensor, input: Tensor) {
        let g = geometry, n = x.rows, (f, k) = (g.fieldSize, g.maps), columns = fields(x)
        var gradWeights = Tensor(zeros: weights.shape), gradFields = Tensor(zeros: [g.positions, n, f])
        gradWeights.withUnsafeMutableBufferPointer { gw in
            gradFields.withUnsafeMutableBufferPointer { gc in
                columns.withUnsafeBufferPointer { c in
                    weights.withUnsafeBufferPointer { w in
                        gradient.withUnsafeBufferPointer { gh in
                            for p in 0 ..< g.positions {
                                let offset = tied ? 0 : p * f * k
                                BLAS.gemm(m: f, n: k, k: n, c.baseAddress! + p * n * f, lda: f, transposeA: true, gh.baseAddress! + p * k, ldb: g.filterSize,
                                          transposeB: false, gw.baseAddress! + offset, ldc: k, beta: tied && p > 0 ? 1 : 0)
                                BLAS.gemm(m: n, n: f, k: k, gh.baseAddress! + p * k, lda: g.filterSize, transposeA: false, w.baseAddress! + offset, ldb: k,
                                          transposeB: true, gc.baseAddress! + p * n * f, ldc: f)
                            }
                        }
                    }
                }
            }
        }
        var gradInput = Tensor(zeros: [n, g.inputSize])
        gradInput.withUnsafeMutableBufferPointer { gx in
            gradFields.withUnsafeBufferPointer { g.scatterFields($0.baseAddress!, examples: n, rows: 0 ..< g.filterRows, into: gx.baseAddress!) }
        }
        return (gradWeights, gradInput)
    }
}
