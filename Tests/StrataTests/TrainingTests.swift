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

@Suite struct TrainingTests {
    /// Small binary-ish data with structure: noisy copies of 4 prototypes.
    func prototypes(_ n: Int, dimension: Int = 16, seed: UInt64 = 3) -> Tensor {
        var random = RandomSource(seed: seed)
        let protos = Tensor.uniform(shape: [4, dimension], using: &random)
        var x = Tensor(zeros: [n, dimension])
        for i in 0 ..< n {
            let p = Int(random.next() % 4)
            for j in 0 ..< dimension { x[i, j] = protos[p, j] > 0.5 ? (random.nextUnitFloat() < 0.9 ? 1 : 0) : (random.nextUnitFloat() < 0.1 ? 1 : 0) }
        }
        return x
    }

    func trainer(_ folder: TemporaryFolder, epochs: Int, learningRate: Float = 0.1, batch: Int = 10) -> Trainer {
        var config = TrainingConfiguration()
        config.maxEpochs = epochs
        config.batchSize = batch
        config.learningRate = learningRate
        config.initialMomentum = 0.5
        config.finalMomentum = 0.9
        config.momentumStartEpoch = 1
        config.momentumSaturateEpoch = 3
        config.seed = 9
        var t = Trainer(configuration: config, folder: folder.path)
        t.showProgress = false
        return t
    }

    @Test func autoencoderObjectiveFalls() throws {
        var config = Autoencoder.Configuration(visibleCount: 16, hiddenCount: 8)
        config.corruption = .masking(probability: 0.3)
        var ae = try Autoencoder(config)
        let folder = TemporaryFolder()
        let report = try trainer(folder, epochs: 5).train(&ae, data: prototypes(400))
        let objective = report.log.values("train_objective").compactMap { $0 }
        #expect(report.log.rows.count == 6)
        #expect(objective.last! < 0.8 * objective.first!, "objective \(objective)")
        #expect(FileManager.default.fileExists(atPath: folder.file("model.safetensors")))
        #expect(try MonitorLog.read(folder.file("monitor.jsonl")).rows.count == 6)
    }

    @Test func binaryRBMReconstructionAndPseudoLikelihoodImprove() throws {
        var rbm = try RBM(RBM.Configuration(visibleCount: 16, hiddenCount: 8, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1)))
        let folder = TemporaryFolder()
        let report = try trainer(folder, epochs: 5).train(&rbm, data: prototypes(400))
        let recon = report.log.values("train_reconstruction_error").compactMap { $0 }
        let pl = report.log.values("train_pseudo_likelihood").compactMap { $0 }
        #expect(recon.last! < 0.7 * recon.first!, "reconstruction \(recon)")
        #expect(pl.last! > pl.first!, "pseudo-likelihood \(pl)")
        var pcd = try RBM(RBM.Configuration(visibleCount: 16, hiddenCount: 8, visibleUnits: .binary, objective: .persistentCD(steps: 1)))
        let pcdReport = try trainer(TemporaryFolder(), epochs: 5).train(&pcd, data: prototypes(400))
        let pcdPL = pcdReport.log.values("train_pseudo_likelihood").compactMap { $0 }
        #expect(pcdPL.last! > pcdPL.first!, "PCD pseudo-likelihood \(pcdPL)")
    }

    @Test func gaussianRBMScoreMatchingFalls() throws {
        var random = RandomSource(seed: 4)
        let x = Tensor.normal(shape: [300, 8], using: &random).matmul(Tensor.uniform(shape: [8, 8], low: -1, high: 1, using: &random))
        var config = RBM.Configuration.quickStartGRBM(visibleCount: 8, hiddenCount: 12)
        config.seed = 2
        var grbm = try RBM(config)
        let report = try trainer(TemporaryFolder(), epochs: 6, learningRate: 0.05, batch: 5).train(&grbm, data: x)
        let objective = report.log.values("train_objective").compactMap { $0 }
        #expect(objective.last! < objective.first!, "SMD objective \(objective)")
        #expect(report.log.rows.last!["train_sigma"] != nil)
    }

    @Test func resumeGivesTheSameWeightsAsAnUninterruptedRun() throws {
        let data = prototypes(200)
        var config = Autoencoder.Configuration(visibleCount: 16, hiddenCount: 6)
        config.corruption = .masking(probability: 0.2)
        // Uninterrupted: 4 epochs.
        var whole = try Autoencoder(config)
        try trainer(TemporaryFolder(), epochs: 4).train(&whole, data: data)
        // Interrupted after 2 epochs, then resumed from the checkpoint to 4.
        let folder = TemporaryFolder()
        var first = try Autoencoder(config)
        try trainer(folder, epochs: 2).train(&first, data: data)
        var resumed = try Autoencoder(config)   // fresh weights: resume must replace them
        let report = try trainer(folder, epochs: 4).train(&resumed, data: data, resume: true)
        #expect(report.epochs == 4)
        #expect(resumed.weights == whole.weights)
        #expect(resumed.hiddenBias == whole.hiddenBias)
        #expect(report.log.rows.count == 5)
        // The same holds for a PCD RBM, whose persistent chains are part of the state.
        let rbmConfig = RBM.Configuration(visibleCount: 16, hiddenCount: 6, visibleUnits: .binary, objective: .persistentCD(steps: 1))
        var rbmWhole = try RBM(rbmConfig)
        try trainer(TemporaryFolder(), epochs: 3).train(&rbmWhole, data: data)
        let rbmFolder = TemporaryFolder()
        var rbmFirst = try RBM(rbmConfig)
        try trainer(rbmFolder, epochs: 1).train(&rbmFirst, data: data)
        var rbmResumed = try RBM(rbmConfig)
        try trainer(rbmFolder, epochs: 3).train(&rbmResumed, data: data, resume: true)
        #expect(rbmResumed.weights == rbmWhole.weights)
    }

    @Test func divergenceStopsWithAClearErrorAndKeepsTheLastCheckpoint() throws {
        let folder = TemporaryFolder()
        var random = RandomSource(seed: 1)
        let x = Tensor.normal(shape: [100, 8], standardDeviation: 5, using: &random)
        var config = Autoencoder.Configuration(visibleCount: 8, hiddenCount: 4)
        (config.loss, config.decoder, config.encoder) = (.squaredError, .linear, .linear)
        var ae = try Autoencoder(config)
        let t = trainer(folder, epochs: 1, learningRate: 0.0001)
        try t.train(&ae, data: x)
        let good = try Data(contentsOf: URL(fileURLWithPath: t.checkpointPath))
        var exploding = trainer(folder, epochs: 5, learningRate: 10)
        exploding.configuration.checkpointEvery = 1
        let error = strataError { try exploding.train(&ae, data: x, resume: true) }
        guard case .diverged(let epoch, _, let kept, _)? = error else { Issue.record("no divergence error: \(String(describing: error))"); return }
        #expect(epoch == 2 && kept == t.checkpointPath)
        #expect(error!.description.contains("Lower the learning rate"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: t.checkpointPath)) == good)
    }

    @Test func earlyStoppingAndSchedules() throws {
        var config = TrainingConfiguration()
        (config.initialMomentum, config.finalMomentum, config.momentumStartEpoch, config.momentumSaturateEpoch) = (0.5, 0.9, 2, 6)
        #expect(config.momentum(atEpoch: 1) == 0.5 && config.momentum(atEpoch: 4) == 0.7 && config.momentum(atEpoch: 9) == 0.9)
        var ae = try Autoencoder(Autoencoder.Configuration(visibleCount: 16, hiddenCount: 4))
        var t = trainer(TemporaryFolder(), epochs: 50, learningRate: 0.01)
        t.configuration.earlyStopping = EarlyStopping(channel: "train_objective", proportionalDecrease: 0.5, patience: 2)
        t.configuration.schedule = .exponentialDecay(factor: 0.5, minimum: 0.001)
        let report = try t.train(&ae, data: prototypes(100))
        #expect(report.stoppedEarly && report.epochs < 50)
        let rates = report.log.values("learning_rate").compactMap { $0 }
        #expect(abs(rates[2] - 0.005) < 1e-9)
    }

    @Test func checkpointRoundTripKeepsTheLearner() throws {
        var config = Autoencoder.Configuration(visibleCount: 5, hiddenCount: 3)
        config.tied = false
        let ae = try Autoencoder(config)
        let folder = TemporaryFolder()
        try LearnerCheckpoint(learner: ae, preprocessing: PreprocessingPipeline([GlobalContrastNormalization()])).write(to: folder.file("m.safetensors"))
        let loaded = try LearnerCheckpoint.read(folder.file("m.safetensors"))
        let back = try #require(loaded.learner as? Autoencoder)
        #expect(back.weights == ae.weights && back.decoderWeights == ae.decoderWeights)
        #expect(loaded.preprocessing.summary == "gcn")
        try SafeTensors(tensors: ["x": Tensor(zeros: [1])]).write(to: folder.file("plain.safetensors"))
        guard case .badKey(_, "__metadata__.learner", _)? = strataError({ _ = try LearnerCheckpoint.read(folder.file("plain.safetensors")) }) else {
            Issue.record("a plain safetensors file was taken for a checkpoint"); return
        }
    }
}

@Suite struct SplitStepTests {
    /// Plain-SGD CD-1 split over two cores (batch rows, then weight rows) learns
    /// like the single-core step: the same data, the same improvement.
    @Test(arguments: [RBM.VisibleUnits.binary, .gaussian])
    func twoCoreContrastiveDivergenceLearns(units: RBM.VisibleUnits) throws {
        let data = TrainingTests().prototypes(400)
        var config = RBM.Configuration(visibleCount: 16, hiddenCount: 8, visibleUnits: units, objective: .contrastiveDivergence(steps: 1))
        config.meanVisible = units == .gaussian
        var errors: [Double] = []
        for cores in [1, 2] {
            var rbm = try RBM(config)
            var random = RandomSource(seed: 3)
            let hyper = StepHyperparameters(learningRate: units == .binary ? 0.5 : 0.01, cores: cores)
            var monitorRandom = RandomSource(seed: 4)
            let before = rbm.monitor(data, random: &monitorRandom)["reconstruction_error"]!
            for epoch in 0 ..< 5 {
                for start in stride(from: 0, to: 400, by: 40) { _ = try rbm.trainStep(data.rows(start ..< start + 40), hyper: hyper, random: &random) }
                _ = epoch
            }
            var after = RandomSource(seed: 4)
            let error = rbm.monitor(data, random: &after)["reconstruction_error"]!
            #expect(error < 0.9 * before, "\(units), \(cores) cores: \(before) -> \(error)")
            errors.append(error)
        }
        #expect(abs(errors[0] - errors[1]) < 0.25 * errors[0], "1 core \(errors[0]), 2 cores \(errors[1])")
    }
}

@Suite struct AutoencoderSplitStepTests {
    /// Without corruption a plain-SGD step is deterministic, so the split step
    /// (batch rows, then weight rows; on one core and on two) must give the
    /// result of the general path (whole-batch gradient, then the update).
    @Test(arguments: [true, false])
    func splitStepEqualsWholeBatchStep(tied: Bool) throws {
        var config = Autoencoder.Configuration(visibleCount: 20, hiddenCount: 12)
        config.tied = tied
        let one = try Autoencoder(config)
        var random = RandomSource(seed: 2)
        let batch = Tensor.uniform(shape: [40, 20], using: &random)
        var serial = one
        let c1 = serial.costAndGradient(clean: batch, corrupted: batch, directStep: 0.3)
        #expect(serial.weights != one.weights)
        for cores in [1, 2] {
            var split = one
            var random = RandomSource(seed: 5)
            let c2 = try split.trainStep(batch, hyper: StepHyperparameters(learningRate: 0.3, cores: cores), random: &random)
            #expect(abs(c1 - c2) < 1e-4 * abs(c1))
            #expect(maxDifference(serial.weights, split.weights) < 1e-5)
            #expect(maxDifference(serial.hiddenBias, split.hiddenBias) < 1e-5)
            #expect(maxDifference(serial.visibleBias, split.visibleBias) < 1e-5)
            if !tied { #expect(maxDifference(serial.decoderWeights, split.decoderWeights) < 1e-5) }
        }
    }
}
