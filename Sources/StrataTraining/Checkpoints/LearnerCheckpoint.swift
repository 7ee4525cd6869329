import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// A learner saved with everything needed to use it or to resume training:
/// its parameters (tensors named as the learner names them, so Python sees
/// `weights`, `hidden_bias`, ...), its training state (`training.*`), the
/// fitted preprocessing (`preprocessing.*`), and in the metadata the learner
/// kind, its configuration and the trainer's configuration and state as JSON.
public struct LearnerCheckpoint: Sendable {
    public var learner: any UnsupervisedLearner
    public var preprocessing: PreprocessingPipeline
    public var training: TrainingConfiguration?
    public var trainerState: TrainerState?
    /// Free-form extra metadata (for example the patch shape).
    public var extra: [String: String]
    /// Downpour's AdaGrad accumulators of an asynchronous run (`downpour.adagrad`), so a resume keeps each parameter's rate.
    public var downpourAccumulators: Tensor?
    /// A split learner's tensors made from its parts while the file is written (``WholeLearner``), by the learner's names for them.
    public var streamedParameters: [String: StreamedTensor] = [:], streamedTrainingState: [String: StreamedTensor] = [:]

    public init(learner: any UnsupervisedLearner, preprocessing: PreprocessingPipeline = PreprocessingPipeline(),
                training: TrainingConfiguration? = nil, trainerState: TrainerState? = nil, extra: [String: String] = [:],
                downpourAccumulators: Tensor? = nil) {
        self.learner = learner
        self.downpourAccumulators = downpourAccumulators
        self.preprocessing = preprocessing
        self.training = training
        self.trainerState = trainerState
        self.extra = extra
    }

    /// The learner kinds a checkpoint can hold.
    public static let registry: [String: any UnsupervisedLearner.Type] = [RBM.kind: RBM.self, Autoencoder.kind: Autoencoder.self, KMeans.kind: KMeans.self,
                                                                        LocalFeatureStage.kind: LocalFeatureStage.self]

    /// The checkpoint of a whole learner, or of a split one written from its parts.
    public init(_ whole: WholeLearner, preprocessing: PreprocessingPipeline = PreprocessingPipeline(),
                training: TrainingConfiguration? = nil, trainerState: TrainerState? = nil, extra: [String: String] = [:],
                downpourAccumulators: Tensor? = nil) {
        self.init(learner: whole.learner, preprocessing: preprocessing, training: training, trainerState: trainerState, extra: extra,
                  downpourAccumulators: downpourAccumulators)
        (streamedParameters, streamedTrainingState) = (whole.parameters, whole.trainingState)
    }

    public func safeTensors() throws -> SafeTensors {
        var file = SafeTensors(tensors: learner.parameters, metadata: extra)
        for (name, tensor) in learner.trainingState { file.tensors["training." + name] = tensor }
        for (name, stream) in streamedParameters { (file.tensors[name], file.streamed[name]) = (nil, stream) }
        for (name, stream) in streamedTrainingState { (file.tensors["training." + name], file.streamed["training." + name]) = (nil, stream) }
        try preprocessing.save(into: &file)
        if let downpourAccumulators { file.tensors["downpour.adagrad"] = downpourAccumulators }
        file.metadata["format"] = "strata-checkpoint-1"
        file.metadata["learner"] = type(of: learner).kind
        file.metadata["learner_configuration"] = learner.configurationJSON
        if let training { file.metadata["training_configuration"] = encodeJSON(training) }
        if let trainerState { file.metadata["trainer_state"] = encodeJSON(trainerState) }
        return file
    }

    /// Writes the checkpoint atomically.
    public func write(to path: String) throws {
        try safeTensors().write(to: path)
    }

    /// Reads a checkpoint, naming the file in any error.
    public static func read(_ path: String) throws -> LearnerCheckpoint {
        try read(safeTensors: SafeTensors.read(path), path: path)
    }

    /// The checkpoint held in `file` (read from `path`, named in errors): the
    /// metadata is decoded and range-checked, then matched against the
    /// tensors, before a learner of the configured size is built.
    public static func read(safeTensors file: SafeTensors, path: String) throws -> LearnerCheckpoint {
        _ = try InputContract(metadata: file.metadata, path: path)
        guard let kind = file.metadata["learner"], let type = registry[kind] else {
            throw StrataError.badKey(path: path, key: "__metadata__.learner",
                                     reason: "missing or unknown (\(file.metadata["learner"] ?? "none")); is this a Strata checkpoint?")
        }
        guard let configuration = file.metadata["learner_configuration"] else {
            throw StrataError.badKey(path: path, key: "__metadata__.learner_configuration", reason: "missing")
        }
        var parameters: [String: Tensor] = [:], state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where !name.hasPrefix("preprocessing.") && name != "downpour.adagrad" {
            if name.hasPrefix("training.") { state[String(name.dropFirst(9))] = tensor } else { parameters[name] = tensor }
        }
        do {
            let learner = try type.init(configurationJSON: configuration, parameters: parameters, trainingState: state)
            let training = try file.metadata["training_configuration"].map { text in
                let saved = try decodeJSON(TrainingConfiguration.self, text, what: "__metadata__.training_configuration")
                try SavedState.checked("__metadata__.training_configuration") { try saved.validate() }
                return saved
            }
            let trainerState = try file.metadata["trainer_state"].map { try decodeJSON(TrainerState.self, $0, what: "trainer_state").checked("__metadata__.trainer_state") }
            let known: Set = ["format", "learner", "learner_configuration", "training_configuration", "trainer_state", "preprocessing"]
            var checkpoint = LearnerCheckpoint(learner: learner, preprocessing: try PreprocessingPipeline(checkpoint: file, path: path),
                                               training: training, trainerState: trainerState, extra: file.metadata.filter { !known.contains($0.key) })
            checkpoint.downpourAccumulators = file.tensors["downpour.adagrad"]
            return checkpoint
        } catch StrataError.badKey(_, let key, let reason) {
            throw StrataError.badKey(path: path, key: key, reason: reason)
        } catch StrataError.shapeMismatch(let context, let expected, let found) {
            throw StrataError.shapeMismatch(context: "\(path): \(context)", expected: expected, found: found)
        } catch StrataError.invalidArgument(let name, let reason) {
            throw StrataError.badKey(path: path, key: "__metadata__.learner_configuration", reason: "\(name): \(reason)")
        }
    }
}
