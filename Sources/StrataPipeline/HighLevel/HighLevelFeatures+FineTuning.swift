import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures

extension HighLevelFeatures {
    /// The keys of `fine_tune`: fine-tuning's, less teachers, augmentation
    /// and `model_parallel` (the stages fine-tune split as they trained), with the dense hidden
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

    /// The stages fine-tuned with a softmax layer on the labeled training
    /// images (the last held-out ones choose the epoch), as Le et al. fine-tune
    /// their network for ImageNet: the network's test accuracy, and its
    /// classifier (`fine_tune/classifier.safetensors`, the fine-tuned stages
    /// as its extractor) with its test evaluation, as every softmax run saves them.
    /// `stages` are whole on every rank; with `split` each part fine-tunes
    /// its rows of them (the layers above whole on every part), one
    /// process's bits. Collective under `mpirun` (the replicas average their gradients).
    static func fineTune(_ stages: [LocalFeatureStage], _ configuration: FineTuningConfiguration, data: Prepared, _ s: Settings,
                         split: ModelParallel?, contract: InputContract, log: StageLog) throws -> Double {
        let folder = s.folder + "/fine_tune"
        let held = try HeldOut.count(s.validation, trainingExamples: data.train.rows, log: log)
        let front = try LocalFront(stages: stages)
        let dense = try SoftmaxNetwork.randomlyInitialized(inputCount: front.outputCount, hiddenSizes: s.fineTuneHidden.sizes, activation: s.fineTuneHidden.activation,
                                                           pieces: s.fineTuneHidden.pieces, classes: data.classNames.count, seed: configuration.seed)
        var network = try SoftmaxNetwork(front: front, hidden: dense.hidden, classes: data.classNames.count, seed: configuration.seed)
        log("fine-tuning \(network.sizes) through the stages: \(counted(configuration.maxEpochs, "epoch")) at most, batch \(configuration.batchSize), lr \(configuration.learningRate), "
            + "\(configuration.optimizer.description); the epoch chosen on \(held) held-out images")
        if let split {
            log("each of the \(split.parts) parts fine-tunes its rows of every stage (the stages split as they trained); the softmax layer\(s.fineTuneHidden.sizes.isEmpty ? " is" : " and the layers below it are") whole on every part")
        }
        if let line = configuration.sgd.ranksLine(in: split?.replicas ?? MPIWorld.current) { log(line) }
        var tuner = FineTuner(configuration: configuration, folder: folder)
        tuner.modelSplit = split
        (tuner.showProgress, tuner.resume) = (s.showProgress, s.resume && FileManager.default.fileExists(atPath: tuner.checkpointPath))
        // Fine-tuning's own train-save-evaluate: the classifier (the stages as its extractor) judged on the raw test images.
        let test = try Dataset(name: "test", examples: data.originalTest, labels: data.testLabels, classNames: data.classNames, geometry: data.originalGeometry)
        let (report, result) = try tuner.trainAndEvaluate(&network, x: data.train, labels: data.trainLabels, validation: held, test: test,
                                                          preprocessing: imagePreprocessing(data.originalGeometry), classNames: data.classNames,
                                                          metadata: contract.metadata)
        SoftmaxFineTuning.logOutcome(report, result, log: log)
        log("classifier: \(folder)/classifier.safetensors (strata evaluate, predict and export read it)")
        return result.confusion.accuracy
    }
}
