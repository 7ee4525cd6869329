import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Fine-tuning's step in one process or across MPI ranks (``GradientAverage``).
extension FineTuner {
    /// The gradient averaging of this run: nil in one process (or a job of
    /// one rank, which trains exactly as one process).
    func gradientAverage() throws -> GradientAverage? {
        // L-BFGS sums its full-batch gradient across the ranks itself (FullBatchObjective).
        guard let world, world.size > 1, !configuration.optimizer.isLBFGS else { return nil }
        return configuration.distributed == .synchronous ? GradientAverage(world: world) : nil
    }

    /// The parameter server of an asynchronous run (``Downpour``), made from
    /// rank 0's network (batch normalization's gamma and beta included) and a
    /// resumed run's AdaGrad `accumulators`. Collective.
    func downpourServer(_ network: inout SoftmaxNetwork, accumulators: Tensor?) throws -> Downpour? {
        guard let world, case .downpour(let fetchEvery, let pushEvery) = configuration.distributed else { return nil }
        return try Downpour(world: world, fetchEvery: fetchEvery, pushEvery: pushEvery, shards: configuration.serverShards,
                            maxStaleness: configuration.maxStaleness, accumulators: accumulators, split: modelSplit) { network.forEachParameterBuffer($0) }
    }

    /// Whether this run draws its random numbers per example (``ExampleStreams``): across ranks, or when asked.
    func drawsPerExample(averaging: GradientAverage?, downpour: Downpour?) -> Bool {
        averaging != nil || downpour != nil || configuration.randomPerExample
    }

    /// One step on this rank's rows (`labels`; `x` is stale when there are
    /// none) of a global batch of `globalRows`: the global batch's mean loss,
    /// and whether any rank must stop. `examples` (the step's per-example
    /// streams, drawn before the batch's augmentation) is nil exactly when
    /// ``drawsPerExample(averaging:downpour:)`` is false: then the plain step.
    func step(_ network: inout SoftmaxNetwork, _ x: Tensor, labels: ArraySlice<Int>, globalRows: Int, examples: ExampleStreams?,
              settings: SoftmaxNetwork.StepSettings, distillation: Distillation?, averaging: inout GradientAverage?,
              downpour: inout Downpour?, random: inout RandomSource) throws -> (loss: Double, stop: Bool) {
        guard let examples else {
            let loss = network.trainStep(x, labels: labels, settings: settings, distillation: distillation, random: &random)
            return (loss, shouldStop())
        }
        // A rank with no rows adds zero gradients to the average; a Downpour replica with none makes no step.
        guard !labels.isEmpty || averaging != nil else {
            return (0, try downpour?.afterStep(learningRate: settings.learningRate, stop: shouldStop()) { network.forEachParameterBuffer($0) } ?? shouldStop())
        }
        var (loss, gradients) = labels.isEmpty
            ? (0, network.zeroGradients())
            : network.gradients(x, labels: labels, inputDropout: settings.inputDropout, hiddenDropout: settings.hiddenDropout,
                                distillation: distillation, examples: examples, random: &random)
        var stop = shouldStop()
        if averaging != nil {
            (loss, stop) = averaging!.combine(&gradients, network: &network, localRows: labels.count, globalRows: globalRows, loss: loss, stop: stop)
        }
        network.apply(gradients, settings: settings)
        if downpour != nil {
            stop = try downpour!.afterStep(learningRate: settings.learningRate, stop: stop) { network.forEachParameterBuffer($0) }
        }
        return (loss, stop)
    }
}
