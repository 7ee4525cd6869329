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

/// Fine-tuning resumes exactly from `finetune.safetensors`, and refuses to
/// continue with other settings or other data, saying what differs.
@Suite struct FineTuningResumeTests {
    static let data = blobs(classes: 3, perClass: 80, dimensions: 6, spread: 0.7, seed: 9)
    var x: Tensor { Self.data.0 }
    var labels: [Int] { Self.data.1 }

    func tuner(_ folder: TemporaryFolder, epochs: Int, learningRate: Float = 0.3, resume: Bool = false, optimizer: Optimizer = .momentum) -> FineTuner {
        var configuration = FineTuningConfiguration()
        (configuration.maxEpochs, configuration.batchSize, configuration.learningRate, configuration.hiddenDropout) = (epochs, 16, learningRate, 0.2)
        configuration.optimizer = optimizer
        configuration.patience = 50
        var tuner = FineTuner(configuration: configuration, folder: folder.path)
        (tuner.showProgress, tuner.resume) = (false, resume)
        return tuner
    }

    func train(_ tuner: FineTuner, rows: Int = 200) throws -> (SoftmaxNetwork, FineTuner.Report) {
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 6, hiddenSizes: [10], classes: 3, seed: 4)
        let report = try tuner.train(&network, x: x.rows(0 ..< rows), labels: Array(labels[..<rows]),
                                     validationX: x.rows(200 ..< 240), validationLabels: Array(labels[200...]))
        return (network, report)
    }

    /// With each optimizer: Adam's moments and step count are in `finetune.safetensors`.
    @Test(arguments: [Optimizer.momentum, .nesterov, .adamDefaults])
    func twoEpochsThenTwoMoreEqualFourAtOnce(_ optimizer: Optimizer) throws {
        let rate: Float = optimizer == .adamDefaults ? 0.01 : 0.3
        let (whole, wholeReport) = try train(tuner(TemporaryFolder(), epochs: 4, learningRate: rate, optimizer: optimizer))
        let folder = TemporaryFolder()
        _ = try train(tuner(folder, epochs: 2, learningRate: rate, optimizer: optimizer))
        let (resumed, report) = try train(tuner(folder, epochs: 4, learningRate: rate, resume: true, optimizer: optimizer))
        #expect(resumed.output.weights == whole.output.weights && resumed.hidden[0].weights == whole.hidden[0].weights)
        #expect(report.bestEpoch == wholeReport.bestEpoch && report.epochs == 4)
        #expect(try MonitorLog.read(folder.file("monitor.jsonl")).rows.count == 5)
    }

    @Test func otherSettingsOrDataAreRefusedListingTheDifference() throws {
        let folder = TemporaryFolder()
        _ = try train(tuner(folder, epochs: 1))
        let settings = strataError { _ = try train(tuner(folder, epochs: 2, learningRate: 0.5, resume: true)) }
        #expect(settings?.description.contains("learningRate: 0.3 -> 0.5") == true, "\(String(describing: settings))")
        let data = strataError { _ = try train(tuner(folder, epochs: 2, resume: true), rows: 150) }
        #expect(data?.description.contains("other data") == true, "\(String(describing: data))")
    }

    @Test func aStopRequestWritesTheCheckpointAndResumeIsExact() throws {
        let (whole, _) = try train(tuner(TemporaryFolder(), epochs: 3))
        let folder = TemporaryFolder()
        var stopping = tuner(folder, epochs: 3)
        let batches = Counter()
        stopping.shouldStop = { batches.increment() == 17 } // inside epoch 2 (13 batches an epoch)
        let error = strataError { _ = try train(stopping) }
        guard case .interrupted(_, let checkpoint, let epoch, let position)? = error else { Issue.record("not interrupted: \(String(describing: error))"); return }
        #expect(checkpoint == folder.file("finetune.safetensors") && epoch == 2 && position == 64)
        let (resumed, _) = try train(tuner(folder, epochs: 3, resume: true))
        #expect(resumed.output.weights == whole.output.weights)
    }

    /// Stopped after an epoch's last batch (before its end was recorded): the
    /// resumed epoch's mean loss is the whole epoch's, as in a run never stopped.
    @Test func aStopAfterTheLastBatchOfAnEpochResumesWithTheWholeEpochsLoss() throws {
        let wholeFolder = TemporaryFolder()
        _ = try train(tuner(wholeFolder, epochs: 2))
        let folder = TemporaryFolder()
        var stopping = tuner(folder, epochs: 2)
        let batches = Counter()
        stopping.shouldStop = { batches.increment() == 13 } // the last batch of epoch 1 (13 batches an epoch)
        let error = strataError { _ = try train(stopping) }
        guard case .interrupted(_, _, 1, 200)? = error else { Issue.record("not interrupted at 200: \(String(describing: error))"); return }
        _ = try train(tuner(folder, epochs: 2, resume: true))
        let expected = try MonitorLog.read(wholeFolder.file("monitor.jsonl")).rows.map { $0["train_y_nll"] }
        let resumed = try MonitorLog.read(folder.file("monitor.jsonl")).rows.map { $0["train_y_nll"] }
        #expect(resumed == expected && expected.count == 3, "\(resumed) against \(expected)")
    }
}

/// A thread-safe counter for a `@Sendable` stop rule.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    /// Adds one and returns the new value.
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}

/// Divergence beyond NaN: an objective far above its lowest value counts, a noisy one does not.
@Suite struct DivergenceGuardTests {
    @Test func anExplodingObjectiveIsDivergenceAndNoiseIsNot() {
        let guardian = DivergenceGuard(factor: 1000)
        var lowest: Double?, first: Double?
        #expect(!guardian.diverged(4e16, lowest: lowest, first: first)) // nothing recorded yet: nothing to compare with
        (lowest, first) = guardian.recorded(3.0, lowest: lowest, first: first)
        (lowest, first) = guardian.recorded(4.5, lowest: lowest, first: first)
        #expect(lowest == 3 && first == 3)
        #expect(!guardian.diverged(9.0, lowest: lowest, first: first) && !guardian.diverged(2990, lowest: lowest, first: first))
        #expect(guardian.diverged(3010, lowest: lowest, first: first) && guardian.diverged(4e16, lowest: lowest, first: first))
        #expect(guardian.diverged(.nan, lowest: lowest, first: first) && guardian.diverged(.infinity, lowest: lowest, first: first))
        #expect(guardian.reason(4e16, lowest: lowest, first: first).contains("divergence_factor"))
        let negative = DivergenceGuard(factor: 10)
        var negativeLowest: Double?, negativeFirst: Double?
        (negativeLowest, negativeFirst) = negative.recorded(-2, lowest: negativeLowest, first: negativeFirst)
        #expect(!negative.diverged(15, lowest: negativeLowest, first: negativeFirst) && negative.diverged(19, lowest: negativeLowest, first: negativeFirst))
    }

    /// A classifier's loss that falls to 0 on easy data: one hard minibatch
    /// afterwards is measured against the first epoch's scale, not against 0.
    @Test func anObjectiveNearZeroStillTakesOrdinaryBatches() {
        let guardian = DivergenceGuard(factor: 1000)
        var lowest: Double?, first: Double?
        for objective in [0.69, 0.02, 0.0] { (lowest, first) = guardian.recorded(objective, lowest: lowest, first: first) }
        #expect(!guardian.diverged(0.5, lowest: lowest, first: first) && !guardian.diverged(600, lowest: lowest, first: first))
        #expect(guardian.diverged(700, lowest: lowest, first: first))
    }

    @Test func aFolderThatCannotBeMadeIsAClearError() throws {
        let folder = TemporaryFolder()
        let file = folder.write(Data([1]), "plain")
        let error = strataError { try AtomicFile.makeFolder(file + "/runs") }
        #expect(error?.description.contains("cannot create the folder") == true, "\(String(describing: error))")
    }
}

/// The SVM's search for C resumes: candidates the earlier run solved are
/// taken from `c_search.json`, not solved again; other features are refused.
@Suite struct CSearchResumeTests {
    @Test func solvedCandidatesAreReusedAndOtherFeaturesRefused() throws {
        let folder = TemporaryFolder()
        let (x, labels) = blobs(classes: 3, perClass: 60, dimensions: 5, spread: 0.8, seed: 12)
        try writeFeatureFiles(x, labels: labels, trainRows: 150, in: folder)
        func settings(resume: Bool) -> SVMFineTuning.Settings {
            var s = SVMFineTuning.Settings(features: .files(train: folder.file("train.npy"), test: folder.file("test.npy")), images: ImageSettings())
            (s.validation, s.cGrid, s.folder, s.resume) = (30, [0.01, 0.1, 1], folder.file("svm"), resume)
            return s
        }
        _ = try SVMFineTuning.run(settings(resume: false), compute: Compute(cores: 1), log: { _ in })
        let path = folder.file("svm/c_search.json")
        var search = try JSONDecoder().decode(CSearchLog.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        // The grid, then (its best C being its smallest) the extension below it.
        #expect(Array(search.results.map(\.c).prefix(3)) == [0.01, 0.1, 1] && search.results.count > 3 && search.results[3].c == 0.001, "\(search.results)")
        // Pretend the earlier run found C = 0.01 perfect: a resumed search must believe it rather than solve again.
        search.results[0].validationAccuracy = 2
        try AtomicFile.write(Data(encodeJSON(search).utf8), to: path)
        var lines: [String] = []
        let resumed = try SVMFineTuning.run(settings(resume: true), compute: Compute(cores: 1), log: { lines.append($0) })
        #expect(resumed.svm.settings.c == 0.01)
        #expect(lines.filter { $0.contains("solved by the earlier run") }.count == 3, "\(lines)")
        #expect(!lines.contains { $0.contains(": training on") }, "every candidate, the extension's too, was solved by the earlier run: \(lines)")
        try NPY.write(Tensor(shape: [150, 5], scalars: x.rows(0 ..< 150).scalars.map { $0 + 1 }), to: folder.file("train.npy"))
        let error = strataError { _ = try SVMFineTuning.run(settings(resume: true), compute: Compute(cores: 1), log: { _ in }) }
        #expect(error?.description.contains("other features") == true, "\(String(describing: error))")
    }
}

/// A solve that stops at `max_iterations` before its tolerance says so, as
/// LIBLINEAR does: the C search's line and a warning with the classes' count.
@Suite struct SVMIterationLimitTests {
    @Test func stoppingAtTheLimitIsReported() throws {
        let folder = TemporaryFolder()
        let (x, labels) = blobs(classes: 3, perClass: 60, dimensions: 5, spread: 0.8, seed: 12)
        try writeFeatureFiles(x, labels: labels, trainRows: 150, in: folder)
        func lines(maxIterations: Int, grid: [Float]?) throws -> [String] {
            var s = SVMFineTuning.Settings(features: .files(train: folder.file("train.npy"), test: folder.file("test.npy")), images: ImageSettings())
            (s.validation, s.cGrid, s.folder, s.svm.solver, s.svm.maxIterations) = (30, grid, folder.file("svm\(maxIterations)"), .dual, maxIterations)
            var lines: [String] = []
            _ = try SVMFineTuning.run(s, compute: Compute(cores: 1), log: { lines.append($0) })
            return lines
        }
        let capped = try lines(maxIterations: 2, grid: [1])
        #expect(capped.contains { $0.hasPrefix("C 1 ") && $0.contains("some classes stopped at the limit") }, "\(capped)")
        #expect(capped.contains { $0.hasPrefix("warning: 3 of 3 classes stopped at the limit of 2 passes") }, "\(capped)")
        let finished = try lines(maxIterations: 1000, grid: nil)   // C 1: 89-97 passes
        #expect(finished.contains { $0.hasPrefix("test accuracy") } && !finished.contains { $0.hasPrefix("warning:") }, "\(finished)")
    }
}

/// The same seed gives the same bytes on one core or two: products and
/// training steps are cut into parts fixed by their shapes (FixedParts), so
/// the thread count changes the speed, never the result.
@Suite struct ThreadCountTests {
    func checkpoint(_ learner: some UnsupervisedLearner, cores: Int, data: Tensor) throws -> Data {
        var learner = learner
        Compute(cores: cores).apply()
        defer { Compute(cores: 2).apply() }
        let folder = TemporaryFolder()
        var configuration = TrainingConfiguration()
        (configuration.maxEpochs, configuration.batchSize, configuration.cores, configuration.learningRate) = (2, 100, cores, 0.05)
        var trainer = Trainer(configuration: configuration, folder: folder.path)
        trainer.showProgress = false
        try trainer.train(&learner, data: data)
        return try Data(contentsOf: URL(fileURLWithPath: trainer.checkpointPath))
    }

    @Test func rbmAndDAECheckpointsAreBitIdenticalOnOneAndTwoCores() throws {
        var random = RandomSource(seed: 21)
        let data = Tensor(shape: [300, 256], scalars: (0 ..< 300 * 256).map { _ in random.nextUnitFloat() < 0.3 ? 1 : 0 })
        var rbm = RBM.Configuration(visibleCount: 256, hiddenCount: 128, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1))
        rbm.seed = 3
        #expect(try checkpoint(RBM(rbm), cores: 1, data: data) == checkpoint(RBM(rbm), cores: 2, data: data))
        var dae = Autoencoder.Configuration(visibleCount: 256, hiddenCount: 128)
        dae.corruption = .masking(probability: 0.3)
        #expect(try checkpoint(Autoencoder(dae), cores: 1, data: data) == checkpoint(Autoencoder(dae), cores: 2, data: data))
    }

    @Test func aRunStartedOnOneCoreResumesOnTwo() throws {
        var random = RandomSource(seed: 22)
        let data = Tensor(shape: [300, 256], scalars: (0 ..< 300 * 256).map { _ in random.nextUnitFloat() < 0.3 ? 1 : 0 })
        var rbm = RBM.Configuration(visibleCount: 256, hiddenCount: 128, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1))
        rbm.seed = 4
        let whole = try checkpoint(RBM(rbm), cores: 1, data: data)
        let folder = TemporaryFolder()
        func trainer(epochs: Int, cores: Int) -> Trainer {
            var configuration = TrainingConfiguration()
            (configuration.maxEpochs, configuration.batchSize, configuration.cores, configuration.learningRate) = (epochs, 100, cores, 0.05)
            var trainer = Trainer(configuration: configuration, folder: folder.path)
            trainer.showProgress = false
            return trainer
        }
        var first = try RBM(rbm)
        Compute(cores: 1).apply()
        try trainer(epochs: 1, cores: 1).train(&first, data: data)
        Compute(cores: 2).apply()
        var resumed = try RBM(rbm)
        try trainer(epochs: 2, cores: 2).train(&resumed, data: data, resume: true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("model.safetensors"))) == whole)
    }

    @Test func fineTuningIsBitIdenticalOnOneAndTwoCores() throws {
        let (x, labels) = blobs(classes: 4, perClass: 100, dimensions: 200, spread: 0.8, seed: 8)
        func run(cores: Int) throws -> Data {
            Compute(cores: cores).apply()
            defer { Compute(cores: 2).apply() }
            var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 200, hiddenSizes: [160], classes: 4, seed: 5)
            var configuration = FineTuningConfiguration()
            (configuration.maxEpochs, configuration.inputDropout, configuration.hiddenDropout) = (2, 0.2, 0.3)
            let folder = TemporaryFolder()
            var tuner = FineTuner(configuration: configuration, folder: folder.path)
            tuner.showProgress = false
            try tuner.train(&network, x: x.rows(0 ..< 350), labels: Array(labels[..<350]), validationX: x.rows(350 ..< 400), validationLabels: Array(labels[350...]))
            return try Data(contentsOf: URL(fileURLWithPath: tuner.checkpointPath))
        }
        #expect(try run(cores: 1) == run(cores: 2))
    }
}
