import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Training throughput of Strata's learners on the shapes of the peer
/// benchmarks (scikit-learn's BernoulliRBM and hand-written PyTorch scripts):
/// one epoch of minibatch SGD over the data in order, timed from the first
/// batch to the last, then quality figures computed untimed on test data.
public enum TrainingBenchmark {
    /// The three configurations of the peer benchmarks, and the stacked
    /// autoencoder's second layer (the scaling benchmark's other shape).
    public enum Model: String, CaseIterable, Sendable {
        /// Binary RBM 784-500, CD-1 with visible probabilities, lr 0.01.
        case rbm = "rbm784x500"
        /// Tied sigmoid denoising autoencoder 784-500, masking 0.3, cross-entropy, lr 0.1.
        case dae = "dae784x500"
        /// Gaussian-Bernoulli RBM 192-400, CD-1, lr 0.001.
        case grbm = "gbrbm192x400"
        /// The `stacked_autoencoders` tutorial's second layer: tied sigmoid DAE
        /// 1000-1000, masking 0.3, cross-entropy, lr 0.1, momentum 0.5, on
        /// 1,000 uniform [0, 1) values per example (a first layer's hidden means).
        case sdae = "sdae1000x1000"
        /// The `stacked_autoencoders` tutorial's fine-tuning network, 784-1000-1000-10
        /// (sigmoid hidden units, softmax output, hidden dropout 0.2), one
        /// backpropagation step with momentum 0.5 and lr 0.5 per batch, from
        /// Glorot's random start, on Fashion-MNIST with its labels.
        case network = "mlp784x1000x1000"

        /// The first layer's inputs and units.
        public var shape: (visible: Int, hidden: Int) {
            switch self {
            case .rbm, .dae: return (784, 500)
            case .grbm: return (192, 400)
            case .sdae: return (1000, 1000)
            case .network: return (784, 1000)
            }
        }

        /// The step's learning rate and momentum.
        var rates: (learningRate: Float, momentum: Float) {
            switch self {
            case .rbm: return (0.01, 0)
            case .dae: return (0.1, 0)
            case .grbm: return (0.001, 0)
            case .sdae: return (0.1, 0.5)
            case .network: return (0.5, 0.5)
            }
        }

        /// FLOPs of one example's training step: for the unsupervised learners
        /// five GEMMs of `2 V H` each (up, down, up or backprop, and two
        /// weight-gradient products); for the network, `2 V H` per layer forward,
        /// again for its weight gradient, and again for the gradient passed down
        /// to every layer but the first (9.20 MFLOP).
        public var flopsPerExample: Double {
            guard self == .network else { return 5 * 2 * Double(shape.visible * shape.hidden) }
            let products = zip(TrainingBenchmark.networkSizes, TrainingBenchmark.networkSizes.dropFirst()).map { Double($0 * $1) }
            return 2 * (2 * products.reduce(0, +) + products.dropFirst().reduce(0, +))
        }

        public var variant: String {
            switch self {
            case .rbm, .grbm: return "cd1"
            case .dae: return "manual"
            case .sdae: return "momentum"
            case .network: return "backprop"
            }
        }
    }

    /// One model's throughput and quality at one thread count.
    public struct Result: Sendable {
        public var model: Model
        public var threads: Int
        /// MPI ranks (``DataParallel``): each steps on 100 examples of a global batch of `100 · ranks`.
        public var ranks = 1
        /// Of `seconds`, the time spent combining the ranks' steps (copying the
        /// parameters, the allreduce, applying the sum), on rank 0.
        public var communicationSeconds = 0.0
        public var examples: Int
        public var seconds: Double
        public var examplesPerSecond: Double { Double(examples) / seconds }
        public var gflops: Double { examplesPerSecond * model.flopsPerExample * 1e-9 }
        /// Quality on the test data: pseudo-likelihood and reconstruction error
        /// (RBMs), cross-entropy (autoencoder).
        public var quality: [String: Double]

        /// One line in the peer benchmarks' key=value form; `isa=` names the
        /// CPU's widest vector set, `blas=` OpenBLAS's kernels (``BLAS/kernels``)
        /// and `loops=` the width of Strata's own loops (``VectorKernels``).
        public var line: String {
            var fields = ["peer=strata", "model=\(model.rawValue)", "impl=\(model.variant)\(ranks > 1 ? "-sync\(ranks)" : "")", "dtype=float32",
                          "batch=100", "threads=\(threads)", "epochs=1", "n=\(examples)", "isa=\(CPUFeatures.current.widest)", "blas=\(BLAS.kernels)", "loops=\(VectorKernels.width)"]
            if ranks > 1 { fields += ["ranks=\(ranks)", String(format: "comm_seconds=%.3f", communicationSeconds)] }
            fields += [
                          String(format: "seconds=%.3f", seconds), String(format: "samples_per_s=%.1f", examplesPerSecond),
                          String(format: "gflops=%.1f", gflops)]
            for key in quality.keys.sorted() { fields.append(String(format: "\(key)=%.2f", quality[key]!)) }
            return fields.joined(separator: " ")
        }
    }

    /// One model's data: training and test rows, with their labels for the network.
    public struct Examples: Sendable {
        /// Training rows `(n, inputs)`, trained on in order.
        public var train: Tensor
        /// Test rows, for the quality figures computed after the timed epoch.
        public var test: Tensor
        /// Class of each training row (the network only; empty for the unsupervised models).
        public var trainLabels: [Int] = []
        /// Class of each test row (the network only).
        public var testLabels: [Int] = []
    }

    /// The training (at most `examples` rows) and test data of each model in
    /// `kinds`: Fashion-MNIST for the 784-wide models (with its labels),
    /// 192-wide N(0, 1) vectors for the GRBM, 1000-wide uniform [0, 1) values
    /// (a first layer's hidden means) for the SDAE layer, each made only when asked for.
    public static func data(for kinds: [Model], examples: Int, catalog: DataCatalog = DataCatalog()) throws -> [Model: Examples] {
        var data: [Model: Examples] = [:]
        var random = RandomSource(seed: 7)
        let rows = min(examples, 60000)
        if kinds.contains(where: { $0 == .rbm || $0 == .dae || $0 == .network }) {
            let (train, test) = (try catalog.load("fashion-mnist", split: .train).prefix(examples), try catalog.load("fashion-mnist", split: .test))
            let fashion = Examples(train: train.examples, test: test.examples, trainLabels: train.labels ?? [], testLabels: test.labels ?? [])
            (data[.rbm], data[.dae], data[.network]) = (fashion, fashion, fashion)
        }
        if kinds.contains(.grbm) { data[.grbm] = Examples(train: Tensor.normal(shape: [rows, 192], using: &random), test: Tensor.normal(shape: [10000, 192], using: &random)) }
        if kinds.contains(.sdae) {
            data[.sdae] = Examples(train: Tensor.uniform(shape: [rows, 1000], low: 0, high: 1, using: &random),
                                   test: Tensor.uniform(shape: [10000, 1000], low: 0, high: 1, using: &random))
        }
        return data
    }

    /// Builds the model of `kind` as the peers initialize theirs.
    static func makeLearner(_ kind: Model, seed: UInt64) throws -> any UnsupervisedLearner {
        switch kind {
        case .rbm:
            var c = RBM.Configuration(visibleCount: 784, hiddenCount: 500, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1))
            (c.irange, c.meanVisible, c.seed) = (Float(0.01 * 3.0.squareRoot()), true, seed)   // the peers' N(0, 0.01^2) has this std
            return try RBM(c)
        case .grbm:
            var c = RBM.Configuration(visibleCount: 192, hiddenCount: 400, visibleUnits: .gaussian, objective: .contrastiveDivergence(steps: 1))
            (c.irange, c.meanVisible, c.seed) = (Float(0.01 * 3.0.squareRoot()), true, seed)
            return try RBM(c)
        case .network:
            throw StrataError.invalidArgument(name: "models", reason: "\(kind.rawValue) is a supervised network, not an unsupervised learner")
        case .dae, .sdae:
            let (v, h) = kind.shape
            var c = Autoencoder.Configuration(visibleCount: v, hiddenCount: h)
            (c.corruption, c.loss, c.irange, c.seed) = (.masking(probability: 0.3), .crossEntropy, Float(4 * (6.0 / Double(v + h)).squareRoot()), seed)
            return try Autoencoder(c)
        }
    }

    /// Runs one epoch of `kind` on `train` on `threads` cores; across the
    /// ranks of `world` when it has several (each takes 100 rows of every
    /// global batch, and the steps are combined by ``DataParallel``).
    public static func run(_ kind: Model, _ data: Examples, threads: Int, seed: UInt64 = 1, world: MPIWorld? = nil) throws -> Result {
        let (train, test) = (data.train, data.test)
        if kind == .network {
            guard (world?.size ?? 1) == 1 else {
                throw StrataError.invalidArgument(name: "models", reason: "\(kind.rawValue) runs on one rank; leave it out under mpirun")
            }
            return try runNetwork(data, threads: threads, seed: seed)
        }
        if let world, world.size > 1 { return try runAcrossRanks(kind, train: train, test: test, threads: threads, seed: seed, world: world) }
        Compute(cores: threads).apply()
        var learner = try makeLearner(kind, seed: seed)
        let hyper = StepHyperparameters(learningRate: kind.rates.learningRate, momentum: kind.rates.momentum, cores: threads)
        var random = RandomSource(seed: seed)
        var warm = learner
        let seconds = try timedEpoch(train, warmUp: { batch, _ in _ = try warm.trainStep(batch, hyper: hyper, random: &random) },
                                     step: { batch, _ in _ = try learner.trainStep(batch, hyper: hyper, random: &random) })
        return try measure(kind, learner: learner, test: test, threads: threads, examples: train.rows, seconds: seconds, seed: seed)
    }

    /// One epoch over `train`'s rows in order, in batches of 100 (the last
    /// shorter), timed from the first batch to the last: `step(batch, rows)`
    /// for each. Before it, untimed, `warmUp(batch, rows)` on the first five
    /// batches, for a throwaway copy of the model (allocations, BLAS buffers).
    /// Returns the seconds.
    static func timedEpoch(_ train: Tensor, warmUp: (Tensor, Range<Int>) throws -> Void,
                           step: (Tensor, Range<Int>) throws -> Void) rethrows -> Double {
        for first in stride(from: 0, to: min(500, train.rows), by: 100) {
            let rows = first ..< min(first + 100, train.rows)
            try warmUp(train.rows(rows), rows)
        }
        var batch = Tensor(zeros: [100, train.columns])
        let start = DispatchTime.now().uptimeNanoseconds
        for first in stride(from: 0, to: train.rows, by: 100) {
            let rows = first ..< min(first + 100, train.rows)
            train.gatherRows(rows, into: &batch)
            try step(batch, rows)
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// The result of a timed epoch: the quality figures, computed untimed on `test`.
    static func measure(_ kind: Model, learner: any UnsupervisedLearner, test: Tensor, threads: Int, examples: Int, seconds: Double,
                        seed: UInt64) throws -> Result {
        var quality: [String: Double] = [:]
        var monitorRandom = RandomSource(seed: seed &+ 1)
        let channels = learner.monitor(test, random: &monitorRandom)
        switch kind {
        case .rbm:
            quality["pl_test"] = channels["pseudo_likelihood"]
            quality["recon_mse"] = meanFieldReconstruction(learner as! RBM, test)
        case .grbm:
            quality["recon_mse"] = meanFieldReconstruction(learner as! RBM, test)
        case .dae, .sdae:
            quality["test_loss"] = channels["reconstruction_error"]
        case .network:
            break   // measured by runNetwork
        }
        return Result(model: kind, threads: threads, examples: examples, seconds: seconds, quality: quality)
    }

    /// `sum over units (x - E[v | P(h | x)])^2`, mean over examples: the peers' recon_mse.
    static func meanFieldReconstruction(_ rbm: RBM, _ x: Tensor) -> Double {
        var v = Tensor(zeros: [0, 0])
        rbm.visibleMeans(rbm.transform(x), into: &v)
        return rbm.squaredError(x, v)
    }
}
