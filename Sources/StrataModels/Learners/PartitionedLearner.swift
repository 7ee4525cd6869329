import StrataCore
import StrataData

/// A learner that may hold only its part of a model split across processes
/// (``LocalFeatureStage`` with a ``ModelPartExchange``, ``SplitAutoencoder``).
/// The training loop has it write the whole model into a checkpoint and cuts
/// a resumed whole model to its part, so a checkpoint is the one a single
/// process writes and resumes on any number of parts.
public protocol PartitionedLearner {
    /// Whether this learner holds only a part.
    var isPartial: Bool { get }
    /// Calls `body` on the first part with the whole learner as a checkpoint
    /// holds it, while the other parts send it their values; they do not call
    /// `body`. Collective. Itself, whole, when not split.
    func withWhole(_ body: (WholeLearner) throws -> Void) throws
    /// `whole` (a checkpoint's learner) cut to this learner's part.
    func part(of whole: any UnsupervisedLearner) throws -> any UnsupervisedLearner
}

/// The whole of a split learner, as the first part writes it: a learner
/// whose kind and configuration are the whole's, and, by the names the
/// learner gives them, the tensors that are split, each made from every
/// part's values while the file is written (so the first part never holds
/// them whole; ``StreamedTensor``). The learner's own tensors of those names
/// are its part's and are not written.
public struct WholeLearner {
    public var learner: any UnsupervisedLearner
    public var parameters: [String: StreamedTensor]
    public var trainingState: [String: StreamedTensor]

    public init(_ learner: any UnsupervisedLearner, parameters: [String: StreamedTensor] = [:], trainingState: [String: StreamedTensor] = [:]) {
        self.learner = learner
        self.parameters = parameters
        self.trainingState = trainingState
    }
}
