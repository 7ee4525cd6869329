import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures

extension HighLevelFeatures {
    /// The keys of `fine_tune`: fine-tuning's, less teachers, augmentation
    /// and `model_parallel` (the stages fine-tune whole), with the dense hidden
    /// layers that may lie between the stages and the softmax layer (`hidden`,
    /// `activation`, `maxout_pieces`: ``SoftmaxFineTuning/Network/randomKeys``).
    public static let fineTuneKeys = FineTuningConfiguration.keys.filter {
        !["teacher", "temperature", "soft_weight", "augment_flip", "augment_shift", "augment_padding", "model_parallel"].contains($0)
    } + SoftmaxFineTuning.Network.randomKeys

    /// `fine_tune`'s settings from `s`: the training, and the hidden layers'
    /// sizes, activation and maxout pieces (none: the softmax layer reads the stages).
    public static func readFineTune(from s: SettingSource) throws -> (FineTuningConfiguration, hidden: [Int], activation: Activation, pieces: Int) {
        let configuration = try FineTuningConfiguration.read(from: s)
        var (hidden, activation, pieces) = ([Int](), SoftmaxFineTuning.Network.defaultActivation, 1)
        if case .random(let h, let a, let p) = try SoftmaxFineTuning.Network.random(reading: s) { (hidden, activation, pieces) = (h, a, p) }
        if hidden.isEmpty {
            try s.refuse(["activation", "maxout_pieces", "hidden_dropout", "batch_norm"], "applies to hidden layers between the stages and the softmax layer (fine_tune.hidden)")
        }
        return (configuration, hidden, activation, pieces)
    }

    /// Why `fine_tune` is left out of this run, or nil: split stages
    /// (`model_parallel` above 1) are gathered whole on one part only, for
    /// the pictures and the SVM, and fine-tuning takes whole stages on every rank.
    public static func fineTuneSkipped(_ s: Settings) -> String? {
        guard s.fineTune != nil, s.modelParallel > 1 else { return nil }
        return "fine_tune is left out: it trains whole stages on every rank, and here each stage is split over \(s.modelParallel) parts (run with model_parallel 1 to fine-tune)"
    }

    /// The stages fine-tuned with a softmax layer on the labeled training
    /// images (the last held-out ones choose the epoch), as Le et al. fine-tune
    /// their network for ImageNet: the network's test accuracy, and on the
    /// first rank its classifier (`fine_tune/classifier.safetensors`, the
    /// fine-tuned stages as its extractor) with its test evaluation.
    /// Collective under `mpirun` (the replicas average their gradients).
    static func fineTune(_ stages: [LocalFeatureStage], _ configuration: FineTuningConfiguration, data: Prepared, _ s: Settings,
                         contract: InputContract, writes: Bool, log: StageLog) throws -> Double {
        let folder = s.folder + "/fine_tune"
        let held = try HeldOut.count(s.validation, trainingExamples: data.train.rows, log: log)
        let split = data.train.rows - held
        let front = try LocalFront(stages: stages)
        let dense = try SoftmaxNetwork.randomlyInitialized(inputCount: front.outputCount, hiddenSizes: s.fineTuneHidden.sizes, activation: s.fineTuneHidden.activation,
                                                           pieces: s.fineTuneHidden.pieces, classes: data.classNames.count, seed: configuration.seed)
        var network = try SoftmaxNetwork(front: front, hidden: dense.hidden, classes: data.classNames.count, seed: configuration.seed)
        log("fine-tuning \(network.sizes) through the stages: \(counted(configuration.maxEpochs, "epoch")) at most, batch \(configuration.batchSize), lr \(configuration.learningRate), "
            + "\(configuration.optimizer.description); the epoch chosen on \(held) held-out images")
        if let line = configuration.sgd.ranksLine(in: MPIWorld.current) { log(line) }
        var tuner = FineTuner(configuration: configuration, folder: folder)
        (tuner.showProgress, tuner.resume) = (s.showProgress, s.resume && FileManager.default.fileExists(atPath: tuner.checkpointPath))
        let report = try tuner.train(&network, x: data.train.rows(0 ..< split), labels: Array(data.trainLabels[..<split]),
                                     validationX: data.train.rows(split ..< data.train.rows), validationLabels: Array(data.trainLabels[split...]))
        let predicted = try Classifier(head: .softmax(network), classNames: data.classNames).predict(data.test)
        let accuracy = try ConfusionMatrix(truth: data.testLabels, predictions: predicted, classNames: data.classNames).accuracy
        log("fine-tuned through the stages: \(counted(report.epochs, "epoch"))" + String(format: " in %.1f s, best validation error %.2f%% at epoch %d; test accuracy %.2f%%",
                   report.seconds, 100 * report.bestValidationError, report.bestEpoch, 100 * accuracy))
        guard writes else { return accuracy }
        let saved = try Classifier(fineTunedThrough: network, imagePreprocessing: imagePreprocessing(data.originalGeometry),
                                   classNames: data.classNames, extra: contract.metadata)
        _ = try EvaluatedClassifier.save(saved, predictions: predicted, testLabels: data.testLabels, folder: folder, numbers: [:])
        log("classifier: \(folder)/classifier.safetensors (strata evaluate, predict and export read it)")
        return accuracy
    }
}
