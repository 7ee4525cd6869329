import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

/// L-BFGS (``LBFGS``): the solver on functions with known minima, the
/// full-batch objective it minimizes for fine-tuning (chunked = whole, and
/// consistent with its own value), and fine-tuning with `optimizer: lbfgs`.
@Suite struct LBFGSTests {
    /// Rosenbrock's valley from the classic start (-1.2, 1): the minimum (1, 1), every iteration lowering the value.
    @Test func findsRosenbrocksMinimumMonotonically() {
        func rosenbrock(_ p: [Float]) -> (objective: Double, gradient: [Float]) {
            let (x, y) = (Double(p[0]), Double(p[1]))
            let f = 100 * (y - x * x) * (y - x * x) + (1 - x) * (1 - x)
            return (f, [Float(-400 * x * (y - x * x) - 2 * (1 - x)), Float(200 * (y - x * x))])
        }
        var point: [Float] = [-1.2, 1]
        var solver = LBFGS(memory: 5)
        let first = rosenbrock(point)
        solver.start(objective: first.objective, gradient: first.gradient)
        var previous = first.objective
        for _ in 0 ..< 200 where solver.objective! > 1e-9 {
            let step = solver.iterate(&point, evaluate: rosenbrock)
            guard !step.stalled else { break }
            #expect(step.objective < previous, "each accepted step satisfies the sufficient decrease condition")
            previous = step.objective
        }
        #expect(solver.objective! < 1e-7 && abs(point[0] - 1) < 1e-3 && abs(point[1] - 1) < 2e-3, "ended at \(point), f \(solver.objective!)")
        #expect(solver.evaluations < 200)
    }

    /// An ill-conditioned quadratic (condition number 1000) in 40 dimensions:
    /// L-BFGS's curvature pairs bring the gradient down by 1e5 in about 120
    /// iterations, where steepest descent, even with exact steps, would need
    /// about (1000 / 2) ln 1e5 = 5,800.
    @Test func solvesAnIllConditionedQuadratic() {
        let n = 40
        let scales = (0 ..< n).map { Float(pow(1000.0, Double($0) / Double(n - 1))) }
        func quadratic(_ p: [Float]) -> (objective: Double, gradient: [Float]) {
            var f = 0.0, g = [Float](repeating: 0, count: n)
            for i in 0 ..< n {
                let d = p[i] - 1
                f += 0.5 * Double(scales[i] * d * d)
                g[i] = scales[i] * d
            }
            return (f, g)
        }
        var point = [Float](repeating: 0, count: n)
        var solver = LBFGS(memory: 10)
        let first = quadratic(point)
        solver.start(objective: first.objective, gradient: first.gradient)
        // Float32 resolves the gradient near x = 1 to about 1000 x 1.2e-7: ask for 1e-2.
        var iterations = 0
        while iterations < 200 && solver.gradient.map(abs).max()! > 1e-2 {
            _ = solver.iterate(&point, evaluate: quadratic)
            iterations += 1
        }
        #expect(solver.gradient.map(abs).max()! <= 1e-2 && iterations <= 160, "largest gradient entry \(solver.gradient.map(abs).max()!) after \(iterations) iterations")
        #expect(point.allSatisfy { abs($0 - 1) < 1e-2 })
        #expect(solver.steps.count <= 10 && zip(solver.steps, solver.changes).allSatisfy { LBFGS.dot($0, $1) > 0 }, "kept pairs have positive curvature")
    }

    static func problem() throws -> (network: SoftmaxNetwork, x: Tensor, labels: [Int]) {
        let (x, labels) = blobs(classes: 3, perClass: 30, dimensions: 6, spread: 0.8, seed: 11)
        return (try SoftmaxNetwork.randomlyInitialized(inputCount: 6, hiddenSizes: [7], activation: .tanh, classes: 3, seed: 4), x, labels)
    }

    /// The gradient summed from uneven chunks equals the one-chunk gradient,
    /// and (with weight decay and a teacher's soft targets) both are the
    /// derivative of the objective the solver compares (finite differences).
    @Test func theChunkedObjectiveIsTheWholeBatchsAndItsGradientIsItsDerivative() throws {
        var (network, x, labels) = try Self.problem()
        var configuration = FineTuningConfiguration()
        (configuration.optimizer, configuration.weightDecay, configuration.softWeight) = (.lbfgsDefaults, 0.01, 0.5)
        var random = RandomSource(seed: 2)
        var teacher = Tensor.uniform(shape: [x.rows, 3], low: 0.1, high: 1, using: &random)
        softmaxRows(&teacher)
        func objective(chunk: Int) throws -> FullBatchObjective {
            var c = configuration
            c.batchSize = chunk
            return try FullBatchObjective(examples: .memory(x), labels: labels, configuration: c, softTargets: teacher, world: nil)
        }
        var whole = try objective(chunk: x.rows), chunked = try objective(chunk: 7)
        let point = network.parameterVector()
        let a = try whole.evaluate(&network, at: point, stop: false), b = try chunked.evaluate(&network, at: point, stop: false)
        #expect(abs(a.objective - b.objective) < 1e-6 * abs(a.objective))
        let scale = a.gradient.map(abs).max()!
        #expect(zip(a.gradient, b.gradient).allSatisfy { abs($0 - $1) <= 1e-5 * scale })
        #expect(chunked.chunksByRank == [13])
        for index in [0, 5, 40, point.count - 1] {
            let h: Float = 1e-2
            var plus = point, minus = point
            plus[index] += h
            minus[index] -= h
            let numeric = (try whole.evaluate(&network, at: plus, stop: false).objective - whole.evaluate(&network, at: minus, stop: false).objective) / Double(2 * h)
            #expect(abs(numeric - Double(a.gradient[index])) < 2e-3 * max(1, abs(numeric)), "parameter \(index): \(numeric) against \(a.gradient[index])")
        }
    }

    func tuner(_ folder: TemporaryFolder, epochs: Int, resume: Bool = false) -> FineTuner {
        var configuration = FineTuningConfiguration()
        (configuration.optimizer, configuration.maxEpochs, configuration.batchSize, configuration.patience) = (.lbfgs(memory: 4), epochs, 16, 100)
        var tuner = FineTuner(configuration: configuration, folder: folder.path)
        (tuner.showProgress, tuner.resume) = (false, resume)
        return tuner
    }

    func train(_ tuner: FineTuner) throws -> SoftmaxNetwork {
        var (network, x, labels) = try Self.problem()
        try tuner.train(&network, x: x.rows(0 ..< 70), labels: Array(labels[..<70]), validationX: x.rows(70 ..< 90), validationLabels: Array(labels[70...]))
        return network
    }

    /// Fine-tuning by L-BFGS lowers the full-batch objective every epoch and
    /// records its evaluations; stopped mid-run and resumed, it takes exactly the uninterrupted run's steps.
    @Test func fineTuningLowersTheObjectiveEveryEpochAndResumesExactly() throws {
        let wholeFolder = TemporaryFolder()
        _ = try train(tuner(wholeFolder, epochs: 6))
        let rows = try MonitorLog.read(wholeFolder.file("monitor.jsonl")).rows
        let objectives = rows.compactMap { $0["train_objective"] }
        #expect(objectives.count == 6 && zip(objectives, objectives.dropFirst()).allSatisfy { $1 < $0 }, "\(objectives)")
        #expect(objectives.last! < 0.5 * objectives.first!)
        #expect(rows.last!["lbfgs_evaluations"]! >= 7 && rows.last!["examples_seen"]! == rows.last!["lbfgs_evaluations"]! * 70)

        let folder = TemporaryFolder()
        var stopping = tuner(folder, epochs: 6)
        let asked = Counter()
        stopping.shouldStop = { asked.increment() == 4 } // during epoch 2 or 3: the iteration completes, then the run stops
        let error = strataError { _ = try train(stopping) }
        guard case .interrupted(_, _, let next, 0)? = error, next < 6 else { Issue.record("not interrupted between epochs: \(String(describing: error))"); return }
        _ = try train(tuner(folder, epochs: 6, resume: true))
        let whole = try SafeTensors.read(wholeFolder.file("finetune.safetensors")), resumed = try SafeTensors.read(folder.file("finetune.safetensors"))
        for name in ["layer0.weights", "layer1.bias", "lbfgs.gradient", "lbfgs.s0", "lbfgs.y3"] {
            #expect(resumed.tensors[name] == whole.tensors[name] && whole.tensors[name] != nil, "\(name)")
        }
    }

    /// What a line search cannot use is refused with the reason, as is L-BFGS in pretraining.
    @Test func refusesRandomOrChunkDependentObjectivesAndPretraining() throws {
        var configuration = FineTuningConfiguration()
        configuration.optimizer = .lbfgsDefaults
        try configuration.validate()
        for change in [{ (c: inout FineTuningConfiguration) in c.hiddenDropout = 0.2 }, { $0.batchNorm = true }, { $0.maxColumnNorm = 2 },
                       { $0.distributed = .downpour(fetchEvery: 1, pushEvery: 1) }] {
            var c = configuration
            change(&c)
            #expect(strataError { try c.validate() }?.description.contains("lbfgs minimizes one deterministic full-batch objective") == true)
        }
        var pretraining = TrainingConfiguration()
        pretraining.optimizer = .lbfgsDefaults
        #expect(strataError { try pretraining.validate() }?.description.contains("lbfgs is for fine-tuning") == true)
        var fine = FineTuningConfiguration()
        #expect(throws: (any Error).self) { try fine.readMinibatchSGD(from: FlagSettings(["optimizer": "lbfgs", "learning_rate": "0.1"])) }
        try fine.readMinibatchSGD(from: FlagSettings(["optimizer": "lbfgs:5"]))
        #expect(fine.optimizer == .lbfgs(memory: 5))
        #expect(throws: (any Error).self) { try Optimizer(parsing: "lbfgs:0") }
    }
}
