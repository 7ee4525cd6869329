import Foundation
import StrataCore
import StrataData
import StrataModels

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
    /// The loss and the stop flag, summed over the ranks.
    private var scalars: [Double] = [0, 0]

    public init(world: MPIWorld) { self.world = world }

    /// Replaces `gradients` and the network's batch-normalization gradients
    /// by their average over the ranks, each rank's weighted by `localRows /
    /// globalRows` (scaled, then summed in place by one allreduce per
    /// buffer: no packing pass); the same for `loss`; and whether any rank asked to stop.
    package mutating func combine(_ gradients: inout [(weights: Tensor, bias: Tensor)], network: inout SoftmaxNetwork, localRows: Int, globalRows: Int,
                          loss: Double, stop: Bool) -> (loss: Double, stop: Bool) {
        let weight = Float(localRows) / Float(max(globalRows, 1))
        let world = self.world
        visit(&gradients, &network) { values in
            for i in values.indices { values[i] *= weight }
            world.sum(values)
        }
        (scalars[0], scalars[1]) = (loss * Double(weight), stop ? 1 : 0)
        world.sum(&scalars)
        return (scalars[0], scalars[1] > 0)
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
    /// Each layer's weights and bias, bottom first, then batch
    /// normalization's gamma and beta where a layer has it, then the local
    /// front's encoders, in place: the parameters Downpour's server holds.
    package mutating func forEachParameterBuffer(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        for l in hidden.indices {
            hidden[l].weights.withUnsafeMutableBufferPointer { body($0) }
            hidden[l].bias.withUnsafeMutableBufferPointer { body($0) }
        }
        output.weights.withUnsafeMutableBufferPointer { body($0) }
        output.bias.withUnsafeMutableBufferPointer { body($0) }
        for l in normalizations.indices where normalizations[l] != nil {
            normalizations[l]!.gamma.withUnsafeMutableBufferPointer { body($0) }
            normalizations[l]!.beta.withUnsafeMutableBufferPointer { body($0) }
        }
        front?.forEachEncoder(body)
    }

    /// Replaces each batch normalization's running mean and variance by
    /// their average over the ranks: Downpour's replicas and synchronous ranks
    /// (each normalizing its own share of a batch) keep their own while they
    /// train and agree at each epoch's end and before each checkpoint, so
    /// every rank saves the same file. Collective.
    package mutating func averageRunningStatistics(over world: MPIWorld) {
        let share = 1 / Float(world.size)
        for l in normalizations.indices where normalizations[l] != nil {
            for path in [\BatchNormalization.runningMean, \BatchNormalization.runningVariance] {
                normalizations[l]![keyPath: path].withUnsafeMutableBufferPointer { values in
                    world.sum(values)
                    for i in values.indices { values[i] *= share }
                }
            }
        }
    }

    /// Zero gradients of this network's shapes (bottom layer first), with
    /// zero batch-normalization gradients where it normalizes: what a rank
    /// whose share of a short last batch is empty adds to the average.
    package mutating func zeroGradients() -> [(weights: Tensor, bias: Tensor)] {
        normalizationGradients = normalizations.map { normalization in
            normalization.map { (Tensor(zeros: $0.gamma.shape), Tensor(zeros: $0.beta.shape)) }
        }
        return (hidden + [output]).map { (Tensor(zeros: $0.weights.shape), Tensor(zeros: $0.bias.shape)) }
            + (front?.zeroGradients ?? []).map { ($0, Tensor(zeros: [0])) }
    }
}
