import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// `strata bench scale`: one data-parallel step's parts, measured on this
/// machine, and the ``ScalingModel`` they give for 4 to 64 machines. The two
/// layers of the distributed issue: the RBM 784-500 (plain SGD: its
/// parameters are combined) and a stacked autoencoder's second layer,
/// 1000-1000 (momentum: parameters and velocities are combined).
public enum ScalingBenchmark {
    public enum Layer: String, CaseIterable, Sendable {
        case rbm = "rbm784x500"
        case sdae = "sdae1000x1000"
    }

    /// The measured parts of one step of 100 examples.
    public struct Measurement: Sendable {
        public var layer: Layer
        public var threads: Int
        /// One step's computation (the learner's `trainStep`), seconds.
        public var computeSeconds: Double
        /// What every rank combines per step (``DataParallel``), bytes.
        public var bytes: Int
        /// The combining's time among this job's ranks on this machine
        /// (shared memory), seconds; nil in a single process.
        public var localCombineSeconds: Double?
        public var ranks: Int

        public var line: String {
            var fields = ["layer=\(layer.rawValue)", "threads=\(threads)", "ranks=\(ranks)", "batch=100",
                          String(format: "compute_ms=%.3f", computeSeconds * 1e3), "bytes=\(bytes)"]
            if let localCombineSeconds { fields.append(String(format: "combine_ms=%.3f", localCombineSeconds * 1e3)) }
            return fields.joined(separator: " ")
        }
    }

    static func makeLearner(_ layer: Layer) throws -> any UnsupervisedLearner {
        switch layer {
        case .rbm: return try TrainingBenchmark.makeLearner(.rbm, seed: 1)
        case .sdae:
            var c = Autoencoder.Configuration(visibleCount: 1000, hiddenCount: 1000)
            (c.corruption, c.loss) = (.masking(probability: 0.3), .crossEntropy)
            return try Autoencoder(c)
        }
    }

    /// Times `steps` steps of `layer` on 100-row batches of values in [0, 1]
    /// (after five untimed), and, across `world`'s ranks, as many combines.
    public static func measure(_ layer: Layer, threads: Int, steps: Int = 60, world: MPIWorld? = nil) throws -> Measurement {
        guard threads >= 1 else { throw StrataError.invalidArgument(name: "threads", reason: "\(threads) must be at least 1") }
        Compute(cores: threads).apply()
        var learner = try makeLearner(layer)
        let momentum = layer == .sdae
        let hyper = StepHyperparameters(learningRate: layer == .rbm ? 0.01 : 0.1, momentum: momentum ? 0.9 : 0, cores: threads)
        var random = RandomSource(seed: 3)
        let batch = Tensor.uniform(shape: [100, learner.visibleCount], using: &random)
        for _ in 0 ..< 5 { _ = try learner.trainStep(batch, hyper: hyper, random: &random) }
        var start = DispatchTime.now().uptimeNanoseconds
        for _ in 0 ..< steps { _ = try learner.trainStep(batch, hyper: hyper, random: &random) }
        let compute = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 / Double(steps)
        var bytes = 0
        try learner.forEachTrainedBuffer(velocities: momentum) { bytes += $0.count * MemoryLayout<Float>.size }
        var combine: Double?
        if let world, world.size > 1 {
            var parallel = DataParallel(world: world, velocities: momentum)
            for _ in 0 ..< 5 { _ = try parallel.combine(&learner, localRows: 100, globalRows: 100 * world.size, objective: 0, stop: false) }
            world.barrier()
            start = DispatchTime.now().uptimeNanoseconds
            for _ in 0 ..< steps { _ = try parallel.combine(&learner, localRows: 100, globalRows: 100 * world.size, objective: 0, stop: false) }
            combine = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 / Double(steps)
        }
        return Measurement(layer: layer, threads: threads, computeSeconds: compute, bytes: bytes, localCombineSeconds: combine, ranks: world?.size ?? 1)
    }
}
