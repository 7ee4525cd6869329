import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// The fine-tuning objective over the whole training set and its gradient,
/// for full-batch L-BFGS (``LBFGS``): the mean cross-entropy (with the
/// teacher's term when distilling) plus `decay / 2` times the squared
/// weights (biases are not decayed, as in the minibatch updates).
///
/// The gradient is assembled from chunks of `chunkRows` consecutive
/// examples, each chunk's gradient weighted by its rows, as DistBelief's
/// Sandblaster assembles it: across MPI ranks the chunks are handed out by a
/// ``ChunkQueue`` as ranks finish, and one allreduce sums the ranks'
/// partial sums (with the loss, the stop flag and each rank's chunk count
/// riding on a second, small one), so every rank holds the same objective
/// and gradient and takes the same L-BFGS step. In one process the chunks
/// are summed in order, so a run is reproducible bit for bit; across ranks
/// the summation order follows who took which chunk, so runs agree to
/// rounding (about 1e-7 relative), and the ranks always agree exactly.
struct FullBatchObjective {
    let examples: TrainingExamples
    let labels: [Int]
    /// Per-example teacher probabilities (``Distillation``), row for row with the examples.
    let softTargets: Tensor?
    let temperature: Float
    let softWeight: Float
    let weightDecay: Float
    let chunkRows: Int
    let queue: ChunkQueue
    private let gatherer: MinibatchGatherer
    private var batch = Tensor(zeros: [0, 0])
    /// The rows of the chunk in progress (reused: no allocation per chunk).
    private var indices: [Int] = []
    private var scalars: [Double]
    /// The chunks each rank took in the last evaluation.
    private(set) var chunksByRank: [Int]

    init(examples: TrainingExamples, labels: [Int], configuration: FineTuningConfiguration, softTargets: Tensor?, world: MPIWorld?) throws {
        (self.examples, self.labels, self.softTargets) = (examples, labels, softTargets)
        (temperature, softWeight, weightDecay) = (configuration.temperature, configuration.softWeight, configuration.weightDecay)
        chunkRows = configuration.batchSize
        queue = ChunkQueue(world: world)
        gatherer = try examples.minibatches()
        let ranks = queue.world?.size ?? 1
        scalars = [Double](repeating: 0, count: 2 + ranks)
        chunksByRank = [Int](repeating: 0, count: ranks)
    }

    var chunkCount: Int { (examples.rows + chunkRows - 1) / chunkRows }

    /// Sets `network` to `point` (``SoftmaxNetwork/parameterVector()``'s
    /// layout) and returns the objective there, its gradient (same layout),
    /// and whether any rank asked to stop (`stop` is this rank's wish). Collective across ranks.
    mutating func evaluate(_ network: inout SoftmaxNetwork, at point: [Float], stop: Bool,
                           progress: ((Int) -> Void)? = nil) throws -> (objective: Double, gradient: [Float], stop: Bool) {
        network.setParameters(point)
        var gradient = [Float](repeating: 0, count: point.count)
        var lossSum = 0.0, taken = 0
        var unused = RandomSource(seed: 0) // no dropout: nothing is drawn
        let (n, size) = (examples.rows, chunkRows)
        try queue.forEachChunk(chunkCount) { chunk in
            let rows = chunk * size ..< min(chunk * size + size, n)
            indices.removeAll(keepingCapacity: true)
            indices.append(contentsOf: rows)
            try gatherer.gather(indices[...], into: &batch)
            let distillation = softTargets.map { Distillation(softTargets: $0.rows(rows), temperature: temperature, softWeight: softWeight) }
            let (loss, grads) = network.gradients(batch, labels: labels[rows], distillation: distillation, random: &unused)
            let weight = Float(rows.count)
            lossSum += loss * Double(rows.count)
            taken += 1
            gradient.withUnsafeMutableBufferPointer { total in
                var offset = 0
                for layer in grads {
                    for part in [layer.weights, layer.bias] {
                        part.withUnsafeBufferPointer { g in
                            let out = total.baseAddress! + offset
                            for i in g.indices { out[i] += weight * g[i] }
                        }
                        offset += part.count
                    }
                }
            }
            progress?(rows.upperBound)
        }
        if let world = queue.world {
            gradient.withUnsafeMutableBufferPointer { world.sum($0) }
            for i in scalars.indices { scalars[i] = 0 }
            (scalars[0], scalars[1], scalars[2 + world.rank]) = (lossSum, stop ? 1 : 0, Double(taken))
            world.sum(&scalars)
            (lossSum, chunksByRank) = (scalars[0], scalars[2...].map { Int($0) })
        } else {
            chunksByRank = [taken]
        }
        let inverse = 1 / Float(n)
        for i in gradient.indices { gradient[i] *= inverse }
        var objective = lossSum / Double(n)
        if weightDecay > 0 {
            // d/dW (decay/2 |W|^2) = decay W, on the weights only.
            var offset = 0
            for layer in network.hidden + [network.output] {
                layer.weights.withUnsafeBufferPointer { w in
                    var squares = 0.0
                    for i in w.indices {
                        squares += Double(w[i] * w[i])
                        gradient[offset + i] += weightDecay * w[i]
                    }
                    objective += Double(weightDecay) / 2 * squares
                }
                offset += layer.weights.count + layer.bias.count
            }
        }
        return (objective, gradient, queue.world == nil ? stop : scalars[1] > 0)
    }
}

extension SoftmaxNetwork {
    /// Every layer's weights then bias, bottom layer first, as one vector
    /// (the order of ``forEachParameterBuffer(_:)`` and of ``gradients(_:labels:inputDropout:hiddenDropout:distillation:examples:random:)``).
    mutating func parameterVector() -> [Float] {
        var vector: [Float] = []
        forEachParameterBuffer { vector.append(contentsOf: $0) }
        return vector
    }

    /// Sets every weight and bias from a ``parameterVector()``.
    mutating func setParameters(_ vector: [Float]) {
        var offset = 0
        forEachParameterBuffer { buffer in
            vector.withUnsafeBufferPointer { buffer.baseAddress!.update(from: $0.baseAddress! + offset, count: buffer.count) }
            offset += buffer.count
        }
    }
}
