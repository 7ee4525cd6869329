import Foundation

/// Fine-tuning across the ranks of an ``MPIWorld``: each rank computes the
/// gradient of its share of the global minibatch, the gradients are averaged
/// (weighted by each share's rows, so the result is the gradient of the whole
/// global batch) with one allreduce, and every rank applies the same update
/// with its own copy of the optimizer. Unlike pretraining's combined steps
/// (``DataParallel``), this is exact for every optimizer, Adam included.
///
/// Batch normalization normalizes each rank's share with its own statistics
/// (as PyTorch's DistributedDataParallel does without SyncBatchNorm), so with
/// batch norm N ranks with batch b are not one process with batch N·b.
public struct GradientAverage {
    public let world: MPIWorld
    private var buffer: [Float] = []

    public init(world: MPIWorld) { self.world = world }

    /// Replaces `gradients` and the network's batch-normalization gradients
    /// by their average over the ranks, each rank's weighted by `localRows /
    /// globalRows`; the same for `loss`; and whether any rank asked to stop.
    mutating func combine(_ gradients: inout [(weights: Tensor, bias: Tensor)], network: inout SoftmaxNetwork, localRows: Int, globalRows: Int,
                          loss: Double, stop: Bool) -> (loss: Double, stop: Bool) {
        let weight = Float(localRows) / Float(max(globalRows, 1))
        var total = 2
        visit(&gradients, &network) { total += $0.count }
        if buffer.count != total { buffer = [Float](repeating: 0, count: total) }
        var packed = buffer
        buffer = [] // `packed` owns the storage alone: filled in place
        packed.withUnsafeMutableBufferPointer { all in
            var offset = 0
            visit(&gradients, &network) { values in
                for i in values.indices { all[offset + i] = weight * values[i] }
                offset += values.count
            }
            all[offset] = weight * Float(loss)
            all[offset + 1] = stop ? 1 : 0
            world.sum(all)
            offset = 0
            visit(&gradients, &network) { values in
                for i in values.indices { values[i] = all[offset + i] }
                offset += values.count
            }
        }
        buffer = packed
        return (Double(packed[total - 2]), packed[total - 1] > 0)
    }

    /// Each gradient buffer in a fixed order: the layers' weights and biases, then batch normalization's gamma and beta.
    private func visit(_ gradients: inout [(weights: Tensor, bias: Tensor)], _ network: inout SoftmaxNetwork,
                       _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        for l in gradients.indices {
            gradients[l].weights.withUnsafeMutableBufferPointer { body($0) }
            gradients[l].bias.withUnsafeMutableBufferPointer { body($0) }
        }
        for l in network.normalizationGradients.indices where network.normalizationGradients[l] != nil {
            network.normalizationGradients[l]!.gamma.withUnsafeMutableBufferPointer { body($0) }
            network.normalizationGradients[l]!.beta.withUnsafeMutableBufferPointer { body($0) }
        }
    }
}

extension SoftmaxNetwork {
    /// Zero gradients of this network's shapes (bottom layer first), with
    /// zero batch-normalization gradients where it normalizes: what a rank
    /// whose share of a short last batch is empty adds to the average.
    mutating func zeroGradients() -> [(weights: Tensor, bias: Tensor)] {
        normalizationGradients = normalizations.map { normalization in
            normalization.map { (Tensor(zeros: $0.gamma.shape), Tensor(zeros: $0.beta.shape)) }
        }
        return (hidden + [output]).map { (Tensor(zeros: $0.weights.shape), Tensor(zeros: $0.bias.shape)) }
    }
}
