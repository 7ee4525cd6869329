import Foundation
import StrataCore
import StrataData

/// Batch normalization of a hidden layer's pre-activations (Ioffe and Szegedy
/// 2015), between the affine map and the nonlinearity:
///
/// ```
/// training:   zhat = (z - mean_B) / sqrt(var_B + eps),  y = gamma zhat + beta
///             running = momentum running + (1 - momentum) batch statistic
/// inference:  y = gamma (z - running mean) / sqrt(running variance + eps) + beta
/// ```
///
/// The batch variance is the biased one (divided by the batch size), as in the
/// paper's training transform; the running variance keeps the unbiased
/// estimate (`m / (m - 1)` times it), as the paper's inference step does. At
/// inference the transform is affine, so ``folded(into:)`` merges it into the
/// layer's weights and bias: a saved classifier holds plain layers.
public struct BatchNormalization: Sendable, Equatable {
    /// Learned scale, one per unit.
    public var gamma: Tensor
    /// Learned shift, one per unit.
    public var beta: Tensor
    /// The population statistics for inference, tracked during training.
    public var runningMean: Tensor
    public var runningVariance: Tensor
    /// Added to the variance before its square root.
    public var epsilon: Float
    /// The weight of the old running value in each update (0.9: mostly the past).
    public var momentum: Float

    /// Identity scale and zero shift for `units` units; running statistics 0 and 1.
    public init(units: Int, epsilon: Float = 1e-5, momentum: Float = 0.9) {
        gamma = Tensor(shape: [units], repeating: 1)
        beta = Tensor(zeros: [units])
        runningMean = Tensor(zeros: [units])
        runningVariance = Tensor(shape: [units], repeating: 1)
        (self.epsilon, self.momentum) = (epsilon, momentum)
    }

    public var units: Int { gamma.count }

    /// What the backward pass needs from the forward one.
    struct Cache: Sendable {
        var normalized = Tensor(zeros: [0, 0])
        var inverseDeviation = Tensor(zeros: [0])
    }

    /// Training mode: normalizes `z` `(n, units)` in place with the batch's
    /// statistics and applies gamma and beta; updates the running statistics
    /// when `track` is set. Keeps `zhat` and `1 / sqrt(var + eps)` in `cache`.
    mutating func forwardTraining(_ z: inout Tensor, cache: inout Cache, track: Bool = true) {
        let (n, h) = (z.rows, z.columns)
        let mean = z.meanOverRows()
        var variance = Tensor(zeros: [h])
        z.withUnsafeBufferPointer { zp in
            for i in 0 ..< n { for j in 0 ..< h { let d = zp[i * h + j] - mean.scalars[j]; variance.scalars[j] += d * d } }
        }
        variance.scale(by: 1 / Float(n))
        cache.inverseDeviation = Tensor(shape: [h], scalars: variance.scalars.map { 1 / ($0 + epsilon).squareRoot() })
        z.addToEachRow(mean, alpha: -1)
        z.multiplyEachRow(by: cache.inverseDeviation)
        cache.normalized = z
        z.multiplyEachRow(by: gamma)
        z.addToEachRow(beta)
        guard track else { return }
        let unbiased = n > 1 ? Float(n) / Float(n - 1) : 1
        for j in 0 ..< h {
            runningMean.scalars[j] = momentum * runningMean.scalars[j] + (1 - momentum) * mean.scalars[j]
            runningVariance.scalars[j] = momentum * runningVariance.scalars[j] + (1 - momentum) * unbiased * variance.scalars[j]
        }
    }

    /// The full backward pass of the training transform: from `dy` (the
    /// gradient at `y`), the gradient at `z` and those of gamma and beta:
    /// `dz = gamma / sqrt(var + eps) * (dy - mean(dy) - zhat mean(dy zhat))`.
    func backward(_ dy: Tensor, cache: Cache) -> (dz: Tensor, gamma: Tensor, beta: Tensor) {
        let (n, h) = (dy.rows, dy.columns)
        let dBeta = dy.sumOverRows()
        var product = dy
        product.multiply(by: cache.normalized)
        let dGamma = product.sumOverRows()
        var dz = Tensor(zeros: [n, h])
        let inverseN = 1 / Float(n)
        dz.withUnsafeMutableBufferPointer { out in
            dy.withUnsafeBufferPointer { g in
                cache.normalized.withUnsafeBufferPointer { zhat in
                    for j in 0 ..< h {
                        let scale = gamma.scalars[j] * cache.inverseDeviation.scalars[j]
                        let meanDy = dBeta.scalars[j] * inverseN, meanDyZhat = dGamma.scalars[j] * inverseN
                        for i in 0 ..< n {
                            let k = i * h + j
                            out[k] = scale * (g[k] - meanDy - zhat[k] * meanDyZhat)
                        }
                    }
                }
            }
        }
        return (dz, dGamma, dBeta)
    }

    /// Inference mode on `z` in place: the population statistics.
    func forwardInference(_ z: inout Tensor) {
        let (scale, shift) = affine
        z.multiplyEachRow(by: scale)
        z.addToEachRow(shift)
    }

    /// Inference as `z * scale + shift`: `scale = gamma / sqrt(running var + eps)`,
    /// `shift = beta - running mean * scale`.
    var affine: (scale: Tensor, shift: Tensor) {
        let scale = Tensor(shape: [units], scalars: (0 ..< units).map { gamma.scalars[$0] / (runningVariance.scalars[$0] + epsilon).squareRoot() })
        let shift = Tensor(shape: [units], scalars: (0 ..< units).map { beta.scalars[$0] - runningMean.scalars[$0] * scale.scalars[$0] })
        return (scale, shift)
    }

    /// `layer` with the inference transform merged into it:
    /// `W' = W diag(scale)`, `b' = b * scale + shift`, the same activation.
    public func folded(into layer: DenseLayer) -> DenseLayer {
        let (scale, shift) = affine
        var w = layer.weights
        w.multiplyEachRow(by: scale)
        var b = layer.bias
        b.multiply(by: scale)
        b.add(shift)
        return DenseLayer(weights: w, bias: b, activation: layer.activation, pieces: layer.pieces)
    }
}
