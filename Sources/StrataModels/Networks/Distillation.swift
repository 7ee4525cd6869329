import Foundation
import StrataCore
import StrataData

/// Knowledge distillation (Hinton, Vinyals and Dean 2015): a student network
/// learns from a teacher's softened outputs as well as the hard labels. With
/// teacher logits `v`, student logits `z`, temperature `T` and soft weight `a`:
///
/// ```
/// q = softmax(v / T),  p_T = softmax(z / T),  p = softmax(z)
/// loss = (1 - a) CE(y, p) + a T^2 CE(q, p_T)
/// dloss/dz = (1 - a) (p - y) + a T (p_T - q)
/// ```
///
/// The soft term is scaled by `T^2` as in the paper, so its gradient keeps its
/// size when the temperature changes. Any saved classifier can teach: a
/// softmax network's logits are the logarithms of its probabilities (up to a
/// constant per example, which the softmax ignores), an SVM's are its decision values.
public struct Distillation: Sendable {
    /// The teacher's probabilities at `temperature`, `(examples, classes)`.
    public var softTargets: Tensor
    public var temperature: Float
    /// The weight `a` of the soft term (the hard labels get `1 - a`).
    public var softWeight: Float

    public init(softTargets: Tensor, temperature: Float, softWeight: Float) {
        (self.softTargets, self.temperature, self.softWeight) = (softTargets, temperature, softWeight)
    }

    /// The soft targets of a teacher's scores `(n, classes)`: probabilities
    /// (turned into logits by their logarithm) or decision values (logits as they are).
    public static func softTargets(teacherScores scores: Tensor, areProbabilities: Bool, temperature: Float) -> Tensor {
        var z = scores
        if areProbabilities { z.apply { log(max($0, 1e-30)) } }
        z.scale(by: 1 / temperature)
        softmaxRows(&z)
        return z
    }

    /// The rows `rows` of the soft targets, for one minibatch, into `batch`.
    func batch(_ rows: ArraySlice<Int>, into batch: inout Tensor) {
        softTargets.gatherRows(rows, into: &batch)
    }
}

extension SoftmaxNetwork {
    /// The mean loss of a batch's `logits` and its gradient at them (divided
    /// by the batch size): cross-entropy on `labels`, mixed with the soft
    /// term when `distillation` (its targets for this batch's rows) is given.
    static func outputLoss(logits: Tensor, labels: ArraySlice<Int>, distillation: Distillation?) -> (loss: Double, delta: Tensor) {
        let (n, classes) = (logits.rows, logits.columns)
        var delta = logits
        softmaxRows(&delta)
        let hardWeight = 1 - (distillation?.softWeight ?? 0)
        var loss = 0.0
        delta.withUnsafeMutableBufferPointer { d in
            for i in 0 ..< n {
                let y = labels[labels.startIndex + i]
                loss -= Double(hardWeight) * Double(fastLog(max(d[i * classes + y], 1e-30)))
                d[i * classes + y] -= 1
            }
            if hardWeight != 1 { for k in d.indices { d[k] *= hardWeight } }
        }
        if let distillation {
            let (t, a) = (distillation.temperature, distillation.softWeight)
            var soft = logits
            soft.scale(by: 1 / t)
            softmaxRows(&soft)
            delta.withUnsafeMutableBufferPointer { d in
                soft.withUnsafeBufferPointer { p in
                    distillation.softTargets.withUnsafeBufferPointer { q in
                        var cross = 0.0
                        for k in d.indices {
                            cross -= Double(q[k]) * Double(fastLog(max(p[k], 1e-30)))
                            d[k] += a * t * (p[k] - q[k])
                        }
                        loss += Double(a * t * t) * cross
                    }
                }
            }
        }
        let inverse = 1 / Float(n)
        delta.scale(by: inverse)
        return (loss / Double(n), delta)
    }
}
