import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataPictures
@testable import StrataPipeline
@testable import StrataCommands
import Testing

/// What a new user ran into, each mended: the messages name what is wrong,
/// the header names what runs, the defaults follow the data, a run that fell
/// to chance says so and stops, and a trial of the depth study measures its
/// target or says why there is no chart.
@Suite struct NewUserTests {
    /// Ten classes of 20 features: class k lights feature 2k and 2k+1, plus noise.
    static func tenClasses(_ count: Int, seed: UInt64) -> (x: Tensor, labels: [Int]) {
        var random = RandomSource(seed: seed)
        var x = Tensor.uniform(shape: [count, 20], low: 0, high: 0.3, using: &random)
        let labels = (0 ..< count).map { $0 % 10 }
        for (i, k) in labels.enumerated() { x[i, 2 * k] += 1; x[i, 2 * k + 1] += 1 }
        return (x, labels)
    }

    @Test func aNegativeSizeIsJudgedByItsReaderNotTakenForAFlag() throws {
        #expect(joiningNegativeValues(["finetune", "softmax", "--hidden", "-5", "--epochs", "2"])
                == ["finetune", "softmax", "--hidden=-5", "--epochs", "2"])
        #expect(joiningNegativeValues(["pretrain", "--init-hidden-bias", "-2", "-h"]) == ["pretrain", "--init-hidden-bias=-2", "-h"])
        #expect { _ = try StrataCommand.parseAsRoot(joiningNegativeValues(["finetune", "softmax", "--hidden", "-5"])) } throws: { error in
            let message = StrataCommand.fullMessage(for: error)
            return message.contains("--hidden") && message.contains("'-5'") && message.contains("positive")
        }
    }

    @Test func aPNGOfAnotherSizeIsRefusedNamingTheFileAndBothSizes() throws {
        let folder = TemporaryFolder()
        let network = try SoftmaxNetwork.randomlyInitialized(inputCount: 784, hiddenSizes: [4], classes: 3)
        let contract = InputContract(dataset: "fashion-mnist", image: ImageGeometry(height: 28, width: 28))
        let classifier = Classifier(head: .softmax(network), classNames: ["a", "b", "c"], extra: contract.metadata)
        let photo = folder.file("photo.png")
        try PNGImage(width: 30, height: 20, channels: 3, pixels: [UInt8](repeating: 90, count: 30 * 20 * 3)).write(to: photo)
        #expect { _ = try classifier.classify(pngs: [photo]) } throws: { error in
            let text = "\(error)"
            return text.contains("photo.png") && text.contains("30x20 pixels, RGB") && text.contains("28x28 pixels, gray")
        }
        let fits = folder.file("fits.png")
        try PNGImage(width: 28, height: 28, channels: 1, pixels: [UInt8](repeating: 90, count: 784)).write(to: fits)
        #expect(try classifier.classify(pngs: [fits]).count == 1)
        // Among files that fit, the one that does not is named against the classifier's size, not the first file's.
        #expect { _ = try classifier.classify(pngs: [fits, photo]) } throws: { error in
            let text = "\(error)"
            return text.contains("photo.png is 30x20 pixels, RGB") && text.contains("28x28 pixels, gray") && !text.contains("must match")
        }
    }

    /// The same file given as training and test features (by another spelling or a link) is said to measure nothing unseen.
    @Test func testFeaturesThatAreTheTrainingFeaturesAreNoted() throws {
        let folder = TemporaryFolder()
        let train = folder.file("train.npy")
        try NPY.write(Tensor(zeros: [2, 3]), to: train)
        try FileManager.default.createSymbolicLink(atPath: folder.file("link.npy"), withDestinationPath: train)
        let same = SoftmaxFineTuning.FeatureFiles(train: train, test: folder.file("./link.npy")).sameFileNote
        #expect(same?.contains("not measured on unseen examples") == true, "\(same ?? "no note")")
        try NPY.write(Tensor(zeros: [2, 3]), to: folder.file("test.npy"))
        #expect(SoftmaxFineTuning.FeatureFiles(train: train, test: folder.file("test.npy")).sameFileNote == nil)
    }

    @Test func theDefaultHoldOutFollowsASmallerTrainingSetAndSaysSo() throws {
        var said: [String] = []
        #expect(try HeldOut.count(nil, trainingExamples: 60_000, log: { said.append($0) }) == 10_000)
        #expect(try HeldOut.count(nil, trainingExamples: 50_000, log: { said.append($0) }) == 10_000, "CIFAR-10's split is unchanged")
        #expect(said.isEmpty)
        #expect(try HeldOut.count(nil, trainingExamples: 3_000, log: { said.append($0) }) == 600)
        #expect(said.count == 1 && said[0].contains("600 of 3000"), "\(said)")
        #expect(throws: StrataError.self) { try HeldOut.count(3_000, trainingExamples: 3_000, log: { _ in }) }
    }

    @Test func theHeaderNamesEveryTechniqueInForce() throws {
        let folder = TemporaryFolder()
        let images = ImageSettings(dataset: try writeTinyImageFolder(folder), pixelScale: 255)
        var s = SoftmaxFineTuning.Settings(network: .random(hidden: [6], activation: .relu), images: images)
        (s.folder, s.training.maxEpochs, s.training.batchSize) = (folder.file("run"), 1, 10)
        (s.training.batchNorm, s.training.optimizer, s.training.learningRate) = (true, .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), 0.01)
        (s.training.augmentation, s.training.hiddenDropout) = (Augmentation(flip: true, shift: 1), 0.2)
        var lines: [String] = []
        _ = try SoftmaxFineTuning.run(s, compute: Compute(cores: 1), showProgress: false, log: { lines.append($0) })
        let header = try #require(lines.first { $0.hasPrefix("techniques: ") }, "\(lines)")
        for technique in ["Adam", "learning rate 0.01", "batch norm", "dropout hidden 0.2", "augmentation: flips and shifts of up to 1 px"] {
            #expect(header.contains(technique), "\(header)")
        }
        #expect(lines.contains { $0.contains("held out (the default") }, "60 images: the hold-out scaled and said: \(lines)")
        #expect(DistributedMode.downpour(fetchEvery: 5, pushEvery: 5).describe(ranks: 3).contains("Downpour SGD over 3 ranks"))
        // L-BFGS takes no learning rate: its header names the line search and the gradient's chunks instead.
        var lbfgs = FineTuningConfiguration()
        (lbfgs.optimizer, lbfgs.batchSize) = (.lbfgs(memory: 10), 500)
        #expect(lbfgs.techniques.prefix(3) == ["L-BFGS (full batch, 10 pairs)", "a line search instead of a learning rate", "the gradient summed in chunks of 500"],
                "\(lbfgs.techniques)")
    }

    @Test func aRunThatFellToChanceIsNamedAndStopped() throws {
        let folder = TemporaryFolder()
        let (x, labels) = Self.tenClasses(400, seed: 3)
        let (vx, vlabels) = Self.tenClasses(100, seed: 4)
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 20, hiddenSizes: [16], classes: 10)
        var c = FineTuningConfiguration()
        (c.learningRate, c.maxEpochs, c.batchSize) = (1e6, 3, 20)
        var tuner = FineTuner(configuration: c, folder: folder.path)
        tuner.showProgress = false
        #expect { _ = try tuner.train(&network, x: x, labels: labels, validationX: vx, validationLabels: vlabels) } throws: { error in
            "\(error)".contains("diverged in epoch 1") && "\(error)".contains("chance level")
        }
        // The same data at a sane rate learns: the stop is not a false alarm.
        var sane = try SoftmaxNetwork.randomlyInitialized(inputCount: 20, hiddenSizes: [16], classes: 10)
        c.learningRate = 0.5
        tuner = FineTuner(configuration: c, folder: folder.file("sane"))
        tuner.showProgress = false
        #expect(try tuner.train(&sane, x: x, labels: labels, validationX: vx, validationLabels: vlabels).bestValidationError < 0.5)
        // A trial's single overshooting step is not a fall: the rule waits for some updates.
        #expect(DivergenceGuard.chanceLevel(trainError: 0.9, trainLoss: 5, classes: 10, updates: 1) == nil)
        #expect(DivergenceGuard.chanceLevel(trainError: 0.9, trainLoss: 5, classes: 10, updates: DivergenceGuard.chanceLevelMinimumUpdates) != nil)
        #expect(LearningCurves.regime(train: 0.9, valid: 0.899, classes: 10) == .chance(train: 0.9, valid: 0.899, classes: 10))
        #expect(LearningCurves.regime(train: 0.3, valid: 0.32, classes: 10) == .highBias(train: 0.3, valid: 0.32))
    }

    @Test func distillationSaysItsHardLabelLossBesideItsObjective() {
        #expect(FineTuner.epochLine(objective: 0.3, hardLabelLoss: nil, validError: 0.1) == "nll 0.3000, valid error 10.00%")
        let line = FineTuner.epochLine(objective: 5.25, hardLabelLoss: 0.41, validError: 0.1)
        #expect(line.hasPrefix("objective 5.2500") && line.contains("hard-label nll 0.4100"), "\(line)")
    }

    @Test func theDepthStudysTrialMeasuresItsTargetOrSaysWhyThereIsNoChart() throws {
        let tutorial = try Experiment.read(repositoryRoot + "/Tutorials/deep_networks/experiment.yaml")
        let (trial, changes) = ExperimentRun.trial(tutorial, limit: 5000, maxEpochs: 1)
        guard case .depthStudy(let study)? = trial.finetune else { Issue.record("deep_networks is a depth study"); return }
        #expect(study.evaluateEvery <= 10, "5000 images make about 40 updates an epoch: \(study.evaluateEvery)")
        #expect(changes.contains { $0.contains("the target measured every") }, "\(changes)")
        let row = DepthStudy.Row(variant: "sigmoid", depth: 1, sizes: "784-10-10", updatesToTarget: nil, secondsToTarget: nil,
                                 bestValidationError: 0.2, testAccuracy: 0.79, seconds: 1, pretrainingSeconds: nil)
        let why = try #require(DepthStudy.noChartReason([row], targetAccuracy: 0.97, evaluateEvery: 10))
        #expect(why.contains("no depth_study.png") && why.contains("80.00%"), "\(why)")
        #expect(DepthStudy.noChartReason([{ var r = row; r.updatesToTarget = 5; return r }()], targetAccuracy: 0.97, evaluateEvery: 10) == nil)
    }
}

/// What a pretraining layer trains on is decided by one library reader, for
/// flags and files alike, refusing a setting that would not act.
@Suite struct PretrainingInputTests {
    @Test func flagsAndAFileAreReadByTheSameRules() throws {
        guard case .matrixOnDisk(let path, let rows) = try Pretraining.Input.read(from: FlagSettings(["input": "x.npy", "block_rows": "500"])) else {
            Issue.record("a matrix left on disk"); return
        }
        #expect(path == "x.npy" && rows == 500)
        guard case .images(_, let patches?) = try Pretraining.Input.read(from: FlagSettings(["dataset": "mnist", "window": "6", "random": "1000"])) else {
            Issue.record("random patches of images"); return
        }
        #expect(patches.count == 1000 && patches.window.height == 6)
        #expect { _ = try Pretraining.Input.read(from: FlagSettings(["input": "x.npy", "dataset": "mnist"])) } throws: {
            "\($0)" == "--dataset does not apply with --input, which trains on the matrix as it is"
        }
        let file = try YAMLSettings(YAMLField.parse("input: x.npy\ndataset: mnist\n", file: "layer.yaml"), allowed: ["input", "dataset"])
        #expect { _ = try Pretraining.Input.read(from: file) } throws: { "\($0)" == "dataset does not apply with input, which trains on the matrix as it is" }
    }
}
