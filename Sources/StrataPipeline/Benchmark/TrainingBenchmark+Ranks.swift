import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension TrainingBenchmark {
    /// One epoch of `kind` across the ranks of `world`: every global batch of
    /// `100 · ranks` rows in order, rank r stepping on its 100 with per-example
    /// random numbers, the steps combined by ``DataParallel`` (the time spent
    /// there measured apart). The quality is measured on rank 0's model, which
    /// every rank holds.
    static func runAcrossRanks(_ kind: Model, train: Tensor, test: Tensor, threads: Int, seed: UInt64, world: MPIWorld) throws -> Result {
        Compute(cores: threads).apply()
        var learner = try makeLearner(kind, seed: seed)
        var hyper = StepHyperparameters(learningRate: kind.rates.learningRate, momentum: kind.rates.momentum, cores: threads)
        var parallel = DataParallel(world: world, velocities: kind.rates.momentum != 0)
        var random = RandomSource(seed: seed)
        let global = 100 * world.size
        func step(_ learner: inout any UnsupervisedLearner, rows: Range<Int>, batch: inout Tensor, globalRows: Int, first: Int) throws -> Double {
            train.gatherRows(rows, into: &batch)
            hyper.firstExample = first
            var compute = 0.0
            let start = DispatchTime.now().uptimeNanoseconds
            if !rows.isEmpty { _ = try learner.trainStep(batch, hyper: hyper, random: &random) } else { _ = ExampleStreams(firstExample: 0, random: &random) }
            compute = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            _ = try parallel.combine(&learner, localRows: rows.count, globalRows: globalRows, objective: 0, stop: false)
            return compute
        }
        var batch = Tensor(zeros: [100, train.columns])
        // Warm-up: a few whole global batches on a throwaway copy (allocations, BLAS buffers, MPI's connections);
        // every rank has the same rows, so all take the same number of steps.
        var warm = learner
        for i in 0 ..< min(5, train.rows / global) {
            let share = DataParallel.share(of: global, rank: world.rank, size: world.size)
            _ = try step(&warm, rows: (i * global + share.lowerBound) ..< (i * global + share.upperBound), batch: &batch, globalRows: global, first: share.lowerBound)
        }
        world.barrier()
        let start = DispatchTime.now().uptimeNanoseconds
        var (offset, computeSeconds) = (0, 0.0)
        while offset < train.rows {
            let count = min(global, train.rows - offset)
            let share = DataParallel.share(of: count, rank: world.rank, size: world.size)
            computeSeconds += try step(&learner, rows: (offset + share.lowerBound) ..< (offset + share.upperBound), batch: &batch,
                                       globalRows: count, first: share.lowerBound)
            offset += count
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        var result = try measure(kind, learner: learner, test: test, threads: threads, examples: train.rows, seconds: seconds, seed: seed)
        (result.ranks, result.communicationSeconds) = (world.size, seconds - computeSeconds)
        return result
    }
}
