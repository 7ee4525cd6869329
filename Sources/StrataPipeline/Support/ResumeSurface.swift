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
    /// A fine-tuning checkpoint over local stages is resumed through the
    /// one of `fronts` (``localFronts(in:)``) whose description it names.
    static func resume(_ file: SafeTensors, in folder: String, fronts: [LocalFront] = []) throws {
        switch file.metadata["format"] {
        case "strata-checkpoint-1": try resumeLearner(file, in: folder)
        case "strata-finetune-1": try resumeFineTuning(file, in: folder, fronts: fronts)
        default: return
        }
    }

    /// The local fronts of the stacks among `bases` (stacks of local stages only).
    static func localFronts(in bases: [SafeTensors]) -> [LocalFront] {
        bases.compactMap { base in
            guard base.metadata["format"] == "strata-stack-1", let stack = try? LayerStack.read(safeTensors: base, path: "base.safetensors"),
                  !stack.layers.isEmpty else { return nil }
            let stages = stack.layers.compactMap { $0 as? LocalFeatureStage }
            return stages.count == stack.layers.count ? try? LocalFront(stages: stages) : nil
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

    /// One epoch past the epoch saved in `key`'s JSON object (2 when it has
    /// none), so a resume trains on even from a finished run's checkpoint.
    static func epochsToResume(_ metadata: [String: String], key: String) -> Int {
        guard let text = metadata[key], let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let epoch = object["epoch"] as? Int, (0 ..< 1_000_000).contains(epoch) else { return 2 }
        return max(2, epoch + 1)
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
        (configuration.maxEpochs, configuration.cores, configuration.checkpointEvery) = (epochsToResume(file.metadata, key: "trainer_state"), 1, 1)
        configuration.batchSize = min(configuration.batchSize, 16)
        try train(learner, on: x, configuration, in: folder)
    }

    static func train<L: UnsupervisedLearner>(_ learner: L, on x: Tensor, _ configuration: TrainingConfiguration, in folder: String) throws {
        var trainer = Trainer(configuration: configuration, folder: folder)
        (trainer.showProgress, trainer.world) = (false, nil)
        var resumed = learner
        try trainer.train(&resumed, data: x, resume: true)
    }

    static func resumeFineTuning(_ file: SafeTensors, in folder: String, fronts: [LocalFront]) throws {
        // The network asked for: the saved layers' shapes, read from the tensors (not the damaged metadata).
        var sizes: [Int] = []
        // Layer l's weights are `(sizes[l], sizes[l + 1])`.
        while let w = file.tensors["layer\(max(sizes.count - 1, 0)).weights"], w.rank == 2, w.rows <= largestSide, w.columns <= largestSide,
              sizes.isEmpty || w.rows == sizes.last {
            if sizes.isEmpty { sizes.append(w.rows) }
            sizes.append(w.columns)
        }
        let front = fronts.first { $0.description == file.metadata["front"] && $0.outputCount == sizes.first }
        guard sizes.count >= (front == nil ? 3 : 2), let classes = sizes.last, classes >= 2 else { return }
        let dense = try SoftmaxNetwork.randomlyInitialized(inputCount: sizes[0], hiddenSizes: Array(sizes.dropFirst().dropLast()), classes: classes, seed: 1)
        let network = try front.map { try SoftmaxNetwork(front: $0, hidden: dense.hidden, classes: classes, seed: 1) } ?? dense
        let width = front?.inputCount ?? sizes[0]
        let (x, validation) = (examples(24, width), examples(8, width))
        let (labels, validationLabels) = ((0 ..< 24).map { $0 % classes }, (0 ..< 8).map { $0 % classes })
        let identity = [x.fingerprint, validation.fingerprint, Tensor.fingerprint(labels: labels)].joined(separator: ",")
        var saved = file
        saved.metadata = withIdentity(file.metadata, key: "state", identity)
        try saved.write(to: folder + "/finetune.safetensors")
        guard let text = saved.metadata["configuration"],
              var configuration = try? JSONDecoder().decode(FineTuningConfiguration.self, from: Data(text.utf8)) else { return }
        configuration.maxEpochs = epochsToResume(saved.metadata, key: "state")
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
