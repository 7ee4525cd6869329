import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataExport

/// The `resume` and `export` paths driven by damaged files, for the fuzzer
/// (``ReaderSurface``): a checkpoint whose metadata the fuzzer wrote is
/// resumed for real on a few examples, and a classifier's is exported in
/// memory. Either may throw; neither may trap, hang or overflow.
enum ResumeSurface {
    /// The largest model a damaged checkpoint may ask for here (the fuzzer's
    /// time goes to the values, not to training a large layer).
    static let largestSide = 1024

    /// Resumes `file` (a learner's or a fine-tuning checkpoint) in `folder`:
    /// on examples made here, with the saved data identity rewritten to theirs
    /// so that damaged values get past that check and are used.
    static func resume(_ file: SafeTensors, in folder: String) throws {
        switch file.metadata["format"] {
        case "strata-checkpoint-1": try resumeLearner(file, in: folder)
        case "strata-finetune-1": try resumeFineTuning(file, in: folder)
        default: return
        }
    }

    /// `count` rows of `width` values in [0, 1], a fixed pattern.
    static func examples(_ count: Int, _ width: Int) -> Tensor {
        Tensor(shape: [count, width], scalars: (0 ..< count * width).map { Float(($0 * 7919) % 13) / 12 })
    }

    /// `key`'s JSON object in `metadata` with `data` set to `identity` (unchanged when it is not an object).
    static func withIdentity(_ metadata: [String: String], key: String, _ identity: String) -> [String: String] {
        guard let text = metadata[key], var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return metadata }
        object["data"] = identity
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { return metadata }
        var result = metadata
        result[key] = String(decoding: data, as: UTF8.self)
        return result
    }

    static func resumeLearner(_ file: SafeTensors, in folder: String) throws {
        let checkpoint = try LearnerCheckpoint.read(safeTensors: file, path: "input.safetensors")
        let learner = checkpoint.learner
        guard learner.visibleCount <= largestSide, learner.hiddenCount <= largestSide else { return }
        let x = examples(16, learner.visibleCount)
        var saved = file
        saved.metadata = withIdentity(file.metadata, key: "trainer_state", x.fingerprint)
        try saved.write(to: folder + "/model.safetensors")
        var configuration = checkpoint.training ?? TrainingConfiguration()
        (configuration.maxEpochs, configuration.cores, configuration.checkpointEvery) = (2, 1, 1)
        configuration.batchSize = min(configuration.batchSize, 16)
        try train(learner, on: x, configuration, in: folder)
    }

    static func train<L: UnsupervisedLearner>(_ learner: L, on x: Tensor, _ configuration: TrainingConfiguration, in folder: String) throws {
        var trainer = Trainer(configuration: configuration, folder: folder)
        (trainer.showProgress, trainer.world) = (false, nil)
        var resumed = learner
        try trainer.train(&resumed, data: x, resume: true)
    }

    static func resumeFineTuning(_ file: SafeTensors, in folder: String) throws {
        // The network asked for: the saved layers' shapes, read from the tensors (not the damaged metadata).
        var sizes: [Int] = []
        while let w = file.tensors["layer\(sizes.count).weights"], w.rank == 2, w.rows <= largestSide, w.columns <= largestSide {
            if sizes.isEmpty { sizes.append(w.rows) }
            sizes.append(w.columns)
        }
        guard sizes.count >= 3, let classes = sizes.last, classes >= 2 else { return }
        let network = try SoftmaxNetwork.randomlyInitialized(inputCount: sizes[0], hiddenSizes: Array(sizes.dropFirst().dropLast()), classes: classes, seed: 1)
        let (x, validation) = (examples(24, sizes[0]), examples(8, sizes[0]))
        let (labels, validationLabels) = ((0 ..< 24).map { $0 % classes }, (0 ..< 8).map { $0 % classes })
        let identity = [x.fingerprint, validation.fingerprint, Tensor.fingerprint(labels: labels)].joined(separator: ",")
        var saved = file
        saved.metadata = withIdentity(file.metadata, key: "state", identity)
        try saved.write(to: folder + "/finetune.safetensors")
        guard let text = saved.metadata["configuration"],
              var configuration = try? JSONDecoder().decode(FineTuningConfiguration.self, from: Data(text.utf8)) else { return }
        configuration.maxEpochs = 2
        var tuner = FineTuner(configuration: configuration, folder: folder)
        (tuner.showProgress, tuner.resume, tuner.world) = (false, true, nil)
        var trained = network
        _ = try tuner.train(&trained, x: x, labels: labels, validationX: validation, validationLabels: validationLabels)
    }

    /// The classifier `file` holds, exported to ONNX and to PyTorch's files in memory.
    static func export(_ file: SafeTensors) throws {
        let classifier = try Classifier.read(safeTensors: file, path: "input.safetensors")
        let plan = try InferencePlan(classifier: classifier)
        _ = try ONNXExport.model(plan, producerVersion: "fuzz")
        _ = TorchExport.files(plan, weightsFile: "model.safetensors")
    }
}
