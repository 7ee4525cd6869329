import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// The trainer across MPI ranks (``DataParallel``): each global minibatch of
/// `batch_size · ranks` rows is shared out, each rank steps on its share with
/// per-example random numbers, and the ranks' changes are combined.
extension Trainer {
    /// The data parallelism of this run: nil in one process (or a job of one
    /// rank, which trains exactly as one process). Refuses what cannot be
    /// combined exactly: Adam, whose step is not linear in the gradient.
    func dataParallel<L: UnsupervisedLearner>(for learner: L) throws -> DataParallel? {
        guard let world, world.size > 1, configuration.distributed == .synchronous else { return nil }
        guard !configuration.optimizer.needsSecondMoments else {
            throw StrataError.invalidArgument(name: "optimizer", reason: "Adam's step is not linear in the gradient, so \(world.size) ranks cannot combine their steps into the step of the whole batch; use momentum or nesterov across ranks")
        }
        let plainSGD = configuration.optimizer == .momentum && configuration.initialMomentum == 0 && configuration.finalMomentum == 0
            && configuration.weightDecay == 0
        // Velocities written by a step are combined too, so every rank saves the same ones.
        return DataParallel(world: world, velocities: learner.writesVelocities(plainSGD: plainSGD))
    }

    /// One step on this rank's `rows` of a global batch of `globalRows`
    /// (the rank's batch starts at `firstExample` in it), combined with the
    /// other ranks' steps: the global batch's objective, and whether any rank must stop.
    func parallelStep<L: UnsupervisedLearner>(_ learner: inout L, _ batch: Tensor, rows: Int, globalRows: Int, firstExample: Int,
                                              hyper: StepHyperparameters, random: inout RandomSource,
                                              parallel: inout DataParallel) throws -> (objective: Double, stop: Bool) {
        let objective = try localStep(&learner, batch, rows: rows, firstExample: firstExample, hyper: hyper, random: &random)
        return try parallel.combine(&learner, localRows: rows, globalRows: globalRows, objective: objective, stop: shouldStop())
    }

    /// Calls `body` with the learner as a checkpoint holds it: across ranks,
    /// with every rank's per-example state (PCD's chains) gathered in rank
    /// order, so the file is the same on every rank and resumes with any
    /// number of them. A learner split across processes
    /// (``PartitionedLearner``) is written whole by its first part, its split
    /// tensors streamed from the parts; `body` is not called on the others. Collective.
    func withWholeJob<L: UnsupervisedLearner>(_ learner: L, _ body: (WholeLearner) throws -> Void) throws {
        func gathered(_ job: WholeLearner) throws {
            var job = job
            if let world, world.size > 1 { job.learner.withRankState { $0.gatherRankState(in: world) } }
            try body(job)
        }
        guard let partitioned = learner as? any PartitionedLearner, partitioned.isPartial else { return try gathered(WholeLearner(learner)) }
        try partitioned.withWhole(gathered)
    }

    /// The parameter server of an asynchronous run (``Downpour``, `distributed: async`), made from rank 0's parameters
    /// and a resumed run's AdaGrad `accumulators`. Collective.
    func downpourServer<L: UnsupervisedLearner>(_ learner: inout L, accumulators: Tensor?) throws -> Downpour? {
        guard let world, case .downpour(let fetchEvery, let pushEvery) = configuration.distributed else { return nil }
        guard !(learner is KMeans) else {
            throw StrataError.invalidArgument(name: "distributed", reason: "K-means moves its centroids once per epoch from sums over all the data: train it with distributed: sync")
        }
        return try Downpour(world: world, fetchEvery: fetchEvery, pushEvery: pushEvery, shards: configuration.serverShards,
                            maxStaleness: configuration.maxStaleness, accumulators: accumulators, split: modelSplit) { try learner.forEachTrainedBuffer(velocities: false, $0) }
    }

    /// One replica's step of Downpour SGD on this rank's `rows` (its own
    /// objective), then the pushes and fetches due; and whether to stop.
    func downpourStep<L: UnsupervisedLearner>(_ learner: inout L, _ batch: Tensor, rows: Int, firstExample: Int, hyper: StepHyperparameters,
                                              random: inout RandomSource, downpour: inout Downpour) throws -> (objective: Double, stop: Bool) {
        let objective = try localStep(&learner, batch, rows: rows, firstExample: firstExample, hyper: hyper, random: &random)
        let stop = try downpour.afterStep(learningRate: hyper.learningRate, stop: shouldStop()) { try learner.forEachTrainedBuffer(velocities: false, $0) }
        return (objective, stop)
    }

    /// This rank's step on its `rows` with per-example random numbers (its
    /// own objective; 0 with no rows, when it still draws the step's key, as
    /// the other ranks draw it, so that every rank's generator stays alike).
    private func localStep<L: UnsupervisedLearner>(_ learner: inout L, _ batch: Tensor, rows: Int, firstExample: Int, hyper: StepHyperparameters,
                                                   random: inout RandomSource) throws -> Double {
        guard rows > 0 else {
            _ = ExampleStreams(firstExample: 0, random: &random)
            return 0
        }
        var step = hyper
        step.firstExample = firstExample
        return try learner.trainStep(batch, hyper: step, random: &random)
    }
}
