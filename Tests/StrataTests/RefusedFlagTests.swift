import ArgumentParser
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
@testable import StrataCommands
import Testing

/// The sentence `strata` prints for `arguments`, or nil when they parse, validate and build their settings.
func refusal(_ arguments: [String]) -> String? {
    do {
        let command = try StrataCommand.parseAsRoot(joiningNegativeValues(arguments)) // as the tool reads them
        switch command {
        case let c as SoftmaxFinetune: _ = try c.settings()
        case let c as SVMFinetune: _ = try c.settings()
        case let c as ExportCommand: _ = try c.settings()
        default: break
        }
        return nil
    } catch {
        return StrataCommand.message(for: error)
    }
}

/// A flag that is accepted must act: each combination where one would not is refused, saying why.
@Suite struct RefusedFlagTests {
    static let stackFolder = TemporaryFolder()
    static let stack: String = {
        let path = stackFolder.file("stack.safetensors")
        let contract = InputContract(dataset: "mnist", image: ImageGeometry(height: 2, width: 2))
        try! LayerStack(layers: [try! Autoencoder(.init(visibleCount: 4, hiddenCount: 3))], extra: contract.metadata).write(to: path)
        return path
    }()

    @Test(arguments: [
        (["pretrain", "--input", "x.npy", "--dataset", "mnist"], "--dataset does not apply with --input"),
        (["pretrain", "--input", "x.npy", "--window", "8"], "--window does not apply with --input"),
        (["pretrain", "--input", "x.npy", "--binarize"], "--binarize does not apply with --input"),
        (["pretrain", "--on", "s.safetensors", "--preprocess", "gcn"], "--preprocess does not apply with --on"),
        (["pretrain", "--on", "s.safetensors", "--pixel-scale", "255"], "--pixel-scale does not apply with --on"),
        (["pretrain", "--on", "s.safetensors", "--binarize"], "--binarize does not apply with --on"),
        (["pretrain", "--random", "100"], "--random does not apply without --window"),
        (["export", "c.safetensors", "--format", "tflite"], "invalid --format: 'tflite' is not an export format (onnx or torch)"),
        (["export", "c.safetensors", "--reference=-1"], "must be 0 (none) or a number of test images, not -1"),
        (["export", "c.safetensors", "--reference", "many"], "invalid --reference: expected a whole number"),
        (["pretrain", "--objective", "cd", "--sigma-lr-scale", "0.01"], "sigma is learned only by score matching"),
        (["pretrain", "--learner", "rbm", "--init-sigma", "0.5"], "a binary RBM has none"),
        (["pretrain", "--learner", "autoencoder", "--objective", "cd"], "is an RBM setting"),
        (["pretrain", "--learner", "rbm", "--corruption", "masking:0.1"], "is an autoencoder setting"),
        (["pretrain", "--learner", "autoencoder", "--sparsity-target", "0.1"], "acts only with a positive sparsity_weight"),
        (["pretrain", "--prop-decrease", "0.1"], "acts only with early_stopping"),
        (["pretrain", "--momentum-saturate", "5"], "give final_momentum too"),
        (["pretrain", "--sqrt-bias", "5"], "is a setting of the gcn step"),
        (["pretrain", "--pca-components", "5", "--preprocess", "zca"], "is a setting of the pca step"),
        (["pretrain", "--lr-schedule", "exponential:nan"], "--lr-schedule"),
        (["pretrain", "--prop-decrease", "nan", "--early-stopping", "train_objective"], "expected a number, found 'nan'"),
        (["pretrain", "--learner", "autoencoder", "--sparsity-weight", "1", "--sparsity-target", "nan"], "expected a number, found 'nan'"),
        (["pretrain", "--loss", "hinge", "--learner", "autoencoder"], "expected cross_entropy or squared_error"),
        (["pretrain", "--limit", "-1"], "--limit"),
        (["pretrain", "--input", "x.npy", "--block-rows", "0"], "--block-rows: must be at least 1"),
        (["pretrain", "--block-rows", "1000"], "--block-rows does not apply without --input"),
        (["pretrain", "--pool", "6x6", "--window", "2"], "apply with --on a patch-trained stack and --window"),
        (["pretrain", "--on", "s.safetensors", "--encoding", "triangle"], "apply with --on a patch-trained stack and --window"),
        (["pretrain", "--on", "s.safetensors", "--window", "2", "--pixel-scale", "255"], "--pixel-scale does not apply with --on and --window"),
        (["finetune", "softmax", "--block-rows", "1000"], "--block-rows does not apply without --train-features"),
        (["finetune", "softmax", "--train-features", "x.npy"], "--train-features: needs --test-features"),
        (["finetune", "softmax", "--train-features", "x.npy", "--test-features", "y.npy", "--stack", "s.safetensors"], "--stack does not apply with --train-features"),
        (["pretrain", "--input", "x.npy", "--block-rows", "1000", "--preprocess", "gcn"], "--preprocess does not apply with --block-rows"),
        (["pretrain", "--seed=-1"], "a seed is a whole number"),
        (["pretrain", "--threads", "0"], "threads"),
        (["pretrain", "--threads", "100000"], "threads"),
        (["pretrain", "--threads", "256"], "threads"),
        (["finetune", "softmax", "--stack", stack, "--hidden", "10"], "--hidden does not apply with --stack"),
        (["finetune", "softmax", "--stack", stack, "--binarize"], "--binarize does not apply with --stack"),
        (["finetune", "softmax", "--stack", stack, "--dataset", "fashion-mnist"], "was trained on mnist, not fashion-mnist"),
        (["finetune", "softmax", "--activation", "softplus"], "is not one of sigmoid, tanh, relu, linear"),
        (["finetune", "softmax", "--learning-rate-decay", "0.9", "--lr-schedule", "linear:0.1:10"], "give it or lr_schedule, not both"),
        (["finetune", "svm", "--stack", stack, "--c", "1", "--c-grid", "0.1,1"], "c is given"),
        (["finetune", "svm", "--train-features", "a.npy", "--test-features", "b.npy", "--stack", stack], "--stack does not apply with --train-features"),
        (["finetune", "svm", "--stack", stack, "--test-features", "b.npy"], "--test-features does not apply without --train-features"),
        (["patches", "--random", "10", "--stride", "2"], "--stride does not apply with --random"),
        (["patches", "--random", "10", "--fit-count", "20"], "--fit-count does not apply with --random"),
        (["preprocess", "x.npy", "-o", "y.npy", "--load", "p.safetensors", "--preprocess", "gcn"], "--preprocess does not apply with --load"),
        (["preprocess", "x.npy", "-o", "y.npy", "--load", "p.safetensors", "--sqrt-bias", "3"], "--sqrt-bias does not apply with --load"),
        (["finetune", "svm", "--train-features", "a.npy", "--test-features", "b.npy", "--pool", "3x3"], "--pool does not apply with --train-features"),
        (["finetune", "svm", "--dataset", "mnist"], "give --stack (features computed here) or --train-features"),
        (["finetune", "softmax", "--train-features", "a.npy", "--test-features", "b.npy", "--pixel-scale", "255"], "--pixel-scale does not apply with --train-features"),
        (["patches", "--random", "0"], "--random: must be positive"),
        (["evaluate", "c.safetensors", "--limit", "0"], "--limit must be at least 1"),
        (["train", "e.yaml", "--max-epochs", "0"], "--max-epochs: must be at least 1"),
        (["show-weights", "s.safetensors", "--count", "0"], "--count must be at least 1"),
        (["finetune", "softmax", "--divergence-factor", "0"], "--divergence-factor: must be positive"),
        (["sweep", "s.yaml", "--limit", "-3"], "--limit: must be at least 1"),
    ])
    func isRefused(_ arguments: [String], _ reason: String) {
        let message = refusal(arguments)
        #expect(message?.contains(reason) == true, "strata \(arguments.joined(separator: " ")): \(message ?? "accepted")")
    }

    /// The flag's reader and the library's check agree: any positive factor is a rise the guard can measure.
    @Test func aDivergenceFactorBelowOneIsAccepted() throws {
        #expect(refusal(["finetune", "softmax", "--divergence-factor", "0.5"]) == nil)
        var sgd = MinibatchSGD(initialMomentum: 0.5, finalMomentum: 0.5, maxEpochs: 1)
        try sgd.read(from: FlagSettings(["divergence_factor": "0.5"]), allowsNoEpochs: false)
        try sgd.validate(allowsNoEpochs: false)
        #expect(sgd.divergenceFactor == 0.5)
    }

    @Test func theQuickStartCommandIsAccepted() {
        #expect(refusal(["pretrain", "--pixel-scale", "255", "--window", "8", "--random", "150000", "--preprocess", "gcn,zca", "--learner", "grbm",
                         "--hidden", "400", "--objective", "smd:0.4", "--init-sigma", "0.4", "--init-hidden-bias", "-2", "--batch-size", "5",
                         "--learning-rate", "0.1", "--lr-schedule", "monitor", "--early-stopping", "train_objective", "--run", "runs/x"]) == nil)
    }

    @Test func yamlRefusesTheSameAsFlags() {
        let sigma = strataError { _ = try Experiment.parse("name: a\nlayers:\n  - learner: grbm\n    hidden: 4\n    objective: cd\n    sigma_lr_scale: 0.1\n", file: "s.yaml") }
        #expect(sigma?.description.contains("s.yaml:6:21") == true && sigma?.description.contains("sigma is learned only by score matching") == true, "\(sigma?.description ?? "")")
        let seed = strataError { _ = try Experiment.parse("name: a\nseed: -1\nlayers:\n  - learner: rbm\n    hidden: 4\n", file: "s.yaml") }
        #expect(seed?.description.contains("a seed is a whole number") == true)
        let linear = try? Experiment.parse("name: a\nlayers:\n  - learner: rbm\n    hidden: 4\n    training: {lr_schedule: {linear: {final_fraction: 0.2, saturate: 7}}}\n")
        #expect(linear?.layers[0].training.schedule == .linearDecay(finalFraction: 0.2, saturateEpoch: 7))
    }
}

@Suite struct PersistentChainTests {
    /// The chains are made once and survive an epoch's smaller last batch.
    @Test func chainsKeepTheirCountThroughAPartialBatch() throws {
        var random = RandomSource(seed: 5)
        var data = Tensor.uniform(shape: [20, 6], low: 0, high: 1, using: &random)
        data.apply { $0 > 0.5 ? 1 : 0 }
        var rbm = try RBM(.init(visibleCount: 6, hiddenCount: 4, visibleUnits: .binary, objective: .persistentCD(steps: 1)))
        _ = try rbm.trainStep(data.rows(0 ..< 7), hyper: .init(learningRate: 0.1), random: &random)
        let first = rbm.chain!
        _ = try rbm.trainStep(data.rows(14 ..< 20), hyper: .init(learningRate: 0.1), random: &random)
        #expect(rbm.chain!.shape == [7, 6], "a 6-row batch must not restart the 7 chains")
        #expect(rbm.chain! != first, "the chains moved on")
    }

    @Test func resumingWithOtherSettingsIsRefused() throws {
        let folder = TemporaryFolder()
        var random = RandomSource(seed: 2)
        let data = Tensor.uniform(shape: [30, 6], low: 0, high: 1, using: &random)
        var config = TrainingConfiguration()
        config.maxEpochs = 1
        var trainer = Trainer(configuration: config, folder: folder.path)
        trainer.showProgress = false
        var small = try Autoencoder(.init(visibleCount: 6, hiddenCount: 3))
        try trainer.train(&small, data: data)
        var larger = try Autoencoder(.init(visibleCount: 6, hiddenCount: 5))
        let error = strataError { try trainer.train(&larger, data: data, resume: true) }
        #expect(error?.description.contains("differs from the one asked for (6-5") == true, "\(error?.description ?? "")")
    }
}
