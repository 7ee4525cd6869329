import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Trains a ``SoftmaxNetwork`` by minibatch backpropagation, monitoring the
/// validation error each epoch (`monitor.jsonl` in the run folder) and keeping
/// the weights of the best epoch; stops early after `patience` epochs without
/// a better validation error, and with a clear error on NaN or an exploding
/// loss. After every epoch (and when a stop is requested, after the batch in
/// progress) `finetune.safetensors` records the run, from which `resume`
/// continues exactly.
public struct FineTuner: Sendable {
    public var configuration: FineTuningConfiguration
    /// The run folder (gets `monitor.jsonl` and `finetune.safetensors`).
    public var folder: String
    public var showProgress = true
    /// The progress line's label before the epoch number.
    public var progressLabel = "fine-tune"
    /// Plain progress lines instead of a bar redrawn in place, even on a
    /// terminal: runs side by side share it (``SoftmaxFineTuning/runSideBySide(_:loaded:compute:showProgress:log:)``).
    public var plainProgress = false
    /// Continue the run saved in the folder (same network, settings and data).
    public var resume = false
    /// Asked after every minibatch; true stops with a checkpoint of that point.
    public var shouldStop: @Sendable () -> Bool = { StopRequest.isRequested }
    /// The ranks this run trains across (``GradientAverage``): by default the
    /// job `mpirun` started this process in; nil or one rank: one process.
    public var world: MPIWorld? = MPIWorld.current
    /// The network split by hidden units over this job's parts (``NetworkSplit``;
    /// setting it makes ``world`` its replicas); nil: whole on every rank.
    public var modelSplit: ModelParallel? {
        didSet { if let modelSplit { world = modelSplit.replicas } } // the replicas of this process's part train together
    }

    public init(configuration: FineTuningConfiguration, folder: String) {
        (self.configuration, self.folder) = (configuration, folder)
    }

    public var monitorPath: String { folder + "/monitor.jsonl" }
    /// With a teacher: its probabilities at the configured temperature for each
    /// training example, `(examples, classes)`, row for row with the data
    /// ``train(_:x:labels:validationX:validationLabels:)`` is given (``Distillation/softTargets(teacherScores:areProbabilities:temperature:)``).
    public var softTargets: Tensor?
    /// For ``FineTuningConfiguration/augmentation``: the training images before
    /// preprocessing, row for row with the training data, their geometry, and
    /// the preprocessing each augmented batch then gets.
    public var augmentationSource: (images: Tensor, geometry: ImageGeometry, preprocessing: PreprocessingPipeline)?
    public var checkpointPath: String { folder + "/" + Self.checkpointFile }
    /// The checkpoint's name in a run folder.
    public static let checkpointFile = "finetune.safetensors"
    /// Time to accuracy (as DAWNBench measures it): every `every` updates the
    /// validation error is measured, untimed, until it first falls to `error`;
    /// the report gives the updates and training seconds it took. Fresh runs only.
    public var target: (error: Double, every: Int)?

    /// When the run first reached its ``target``: minibatch updates and training
    /// seconds (the steps only, without the measurements).
    public struct TargetReached: Sendable, Equatable {
        public var updates: Int
        public var seconds: Double
    }

    /// The outcome of a fine-tuning run: epochs, the best epoch and its validation error, time and monitor log.
    public struct Report: Sendable {
        public var epochs: Int
        public var bestEpoch: Int
        public var bestValidationError: Double
        public var seconds: Double
        public var log: MonitorLog
        /// With a ``FineTuner/target``: when it was reached (nil: not within the run).
        public var targetReached: TargetReached?
    }

    /// Trains `network` on `x` (`(n, inputs)`) with `labels`, choosing the
    /// epoch by the error on (`validationX`, `validationLabels`); `network`
    /// ends with the best epoch's weights.
    @discardableResult
    public func train(_ network: inout SoftmaxNetwork, x: Tensor, labels: [Int],
                      validationX: Tensor, validationLabels: [Int]) throws -> Report {
        try train(&network, examples: .memory(x), labels: labels, validationX: validationX, validationLabels: validationLabels)
    }

    /// ``train(_:x:labels:validationX:validationLabels:)`` on training examples
    /// in memory or read from disk block by block (``TrainingExamples``).
    @discardableResult
    public func train(_ network: inout SoftmaxNetwork, examples x: TrainingExamples, labels: [Int],
                      validationX: Tensor, validationLabels: [Int]) throws -> Report {
        try check(x, labels: labels, validationX: validationX, validationLabels: validationLabels, network: network)
        let dataIdentity = ([try x.validatedFingerprint(what: "training data", showProgress: showProgress), validationX.fingerprint, Tensor.fingerprint(labels: labels)] + (softTargets.map { [$0.fingerprint] } ?? []))
            .joined(separator: ",")
        try world?.requireSameRun("fine-tuning", rows: x.rows, columns: x.columns, validationRows: validationX.rows,
                                  identity: dataIdentity + "," + Tensor.fingerprint(labels: validationLabels), settings: encodeJSON(configuration))
        var run = try FineTuningRun(self, network: network, examples: x, labels: labels, validationX: validationX, validationLabels: validationLabels,
                                    identity: dataIdentity)
        defer { network = run.network }
        try run.recordStart()
        try EpochLoop.run(&run)
        // A split network's best is gathered whole on every part: what the caller saves and predicts with.
        run.network = run.best.gathered(onEveryPart: true) ?? run.best
        return Report(epochs: run.state.epoch, bestEpoch: run.state.bestEpoch, bestValidationError: run.state.bestError ?? 1,
                      seconds: run.secondsBefore + Date().timeIntervalSince(run.start), log: run.log, targetReached: run.targetReached)
    }

    /// Refuses what the run cannot train on: labels outside the classes or
    /// not one per example, data of another width, an unmeasurable target,
    /// empty sets, soft targets or augmentation images that do not match.
    func check(_ x: TrainingExamples, labels: [Int], validationX: Tensor, validationLabels: [Int], network: SoftmaxNetwork) throws {
        let (classes, inputs) = (network.classCount, network.inputCount)
        try configuration.validate()
        try checkLabels(labels, rows: x.rows, classes: classes, what: "training labels")
        try checkLabels(validationLabels, rows: validationX.rows, classes: classes, what: "validation labels")
        for (shape, what) in [([x.rows, x.columns], "training data"), (validationX.shape, "validation data")] where shape[1] != inputs {
            throw StrataError.shapeMismatch(context: "\(what) for a \(network.sizes) network", expected: [shape[0], inputs], found: shape)
        }
        if let target {
            guard target.every >= 1, (0 ... 1).contains(target.error), !resume else {
                throw StrataError.invalidArgument(name: "target", reason: "the validation error to reach lies in [0, 1], is measured every 1 or more updates, and only in a fresh run")
            }
            guard !configuration.optimizer.isLBFGS else {
                throw StrataError.invalidArgument(name: "target", reason: "is measured in minibatch updates, which lbfgs does not make; its monitor gives the validation error after every iteration")
            }
        }
        if network.front != nil, configuration.optimizer.isLBFGS {
            throw StrataError.invalidArgument(name: "optimizer", reason: "lbfgs trains a network's dense layers; fine-tuning through local stages takes minibatch steps (momentum, nesterov or adam)")
        }
        if modelSplit != nil, network.front != nil, configuration.distributed != .synchronous {
            throw StrataError.invalidArgument(name: "distributed", reason: "local stages split by image rows fine-tune with sync: under Downpour each part's replicas would move the layers above the stages apart")
        }
        if modelSplit != nil, configuration.optimizer.isLBFGS {
            throw StrataError.invalidArgument(name: "model_parallel", reason: "splits minibatch training; L-BFGS trains a whole network on every rank (its ranks share the batch)")
        }
        guard x.rows > 0, validationX.rows > 0 else { throw StrataError.invalidArgument(name: "fine-tuning data", reason: "training and validation sets must not be empty") }
        try AtomicFile.makeFolder(folder)
        if let softTargets, softTargets.shape != [x.rows, classes] {
            throw StrataError.shapeMismatch(context: "the teacher's soft targets for \(x.rows) examples of \(classes) classes",
                                            expected: [x.rows, classes], found: softTargets.shape)
        }
        if configuration.augmentation.isActive {
            guard let source = augmentationSource, source.images.rows == x.rows, source.images.columns == source.geometry.size else {
                throw StrataError.invalidArgument(name: "augmentation", reason: "needs the training images with their geometry (flips and translations act on images, not on a matrix)")
            }
        }
    }

    /// The run saved in the folder, checked to be a run of these settings on
    /// data of `identity`: its networks, state, L-BFGS memory, Downpour
    /// accumulators and monitor rows up to its epoch.
    func resumable(like network: SoftmaxNetwork, identity: String) throws
        -> (network: SoftmaxNetwork, best: SoftmaxNetwork, state: FineTuningState, lbfgs: LBFGS?, accumulators: Tensor?, log: MonitorLog) {
        let saved = try FineTuningCheckpoint.read(checkpointPath, like: network)
        let changed = saved.differences(from: configuration)
        guard changed.isEmpty else {
            throw StrataError.badKey(path: checkpointPath, key: "__metadata__.configuration",
                                     reason: "resume with the run's own settings; these differ: \(changed.joined(separator: "; "))")
        }
        guard saved.state.data == identity else {
            throw StrataError.badKey(path: checkpointPath, key: "__metadata__.state.data",
                                     reason: "the run was trained on other data (\(saved.state.data)), not \(identity); resume with the same images, limit and validation")
        }
        let log = try MonitorLog.resumed(from: monitorPath, throughEpoch: saved.state.epoch)
        return (saved.network, saved.best, saved.state, saved.lbfgs, saved.downpourAccumulators, log)
    }
}

extension FineTuner {
    /// An epoch's closing line: the objective and the validation error; when
    /// distilling, whose objective mixes in the T²-scaled soft term, the
    /// hard-label loss (on the monitor sample) beside it.
    static func epochLine(objective: Double, hardLabelLoss: Double?, validError: Double) -> String {
        guard let hardLabelLoss else { return String(format: "nll %.4f, valid error %.2f%%", objective, 100 * validError) }
        return String(format: "objective %.4f (hard-label nll %.4f on the monitor sample), valid error %.2f%%", objective, hardLabelLoss, 100 * validError)
    }
}

/// Checks that there is one label per example and every label is a class index.
package func checkLabels(_ labels: [Int], rows: Int, classes: Int, what: String) throws {
    guard labels.count == rows else {
        throw StrataError.shapeMismatch(context: "\(what): one per example", expected: [rows], found: [labels.count])
    }
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
        throw StrataError.invalidArgument(name: what, reason: "label \(bad) is not one of the \(classes) classes 0..\(classes - 1)")
    }
}
