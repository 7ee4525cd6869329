import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Settings of supervised fine-tuning with a softmax head.
public struct FineTuningConfiguration: FlatRecord, Equatable, Sendable, MinibatchSGDSettings {
    /// The minibatch-SGD settings shared with pretraining (read as this
    /// configuration's own: `batchSize`, `learningRate`, `optimizer`, ...):
    /// fine-tuning's momentum ramps from 0.5 to 0.9 over at most 50 epochs.
    public var sgd = MinibatchSGD(initialMomentum: 0.5, finalMomentum: 0.9, maxEpochs: 50)
    /// The learning rate is multiplied by this after each epoch (a shorthand for
    /// the schedule `exponential:DECAY`, which ``lrSchedule`` holds).
    public var learningRateDecay: Float = 1
    /// How the learning rate changes after each epoch; nil: multiplied by ``learningRateDecay``.
    public var lrSchedule: LearningRateSchedule?
    /// The schedule in effect: ``lrSchedule``, or exponential decay by ``learningRateDecay``.
    public var schedule: LearningRateSchedule { lrSchedule ?? .exponentialDecay(factor: learningRateDecay, minimum: 0) }
    public var inputDropout: Float = 0
    public var hiddenDropout: Float = 0
    public var maxColumnNorm: Float?
    /// A network to fine-tune trains at least one epoch.
    public static let allowsNoEpochs = false
    /// At least this many updates (0: no minimum): where the training set is
    /// small (few labels), an epoch is few steps, so the epoch limit rises to
    /// make this many (``withMinimumUpdates(trainingExamples:)``).
    public var minUpdates = 0
    /// Stop after this many epochs without a better validation error.
    public var patience = 10
    /// A saved classifier whose softened outputs the network also learns from (``Distillation``); nil: labels only.
    public var teacher: String?
    /// The distillation temperature `T`.
    public var temperature: Float = 4
    /// The weight of the teacher's term; the labels' is `1 - softWeight`.
    public var softWeight: Float = 0.9
    /// Flips and translations drawn for every minibatch (``Augmentation``); none by default.
    public var augmentation = Augmentation()
    /// Batch normalization on every hidden layer, before its nonlinearity (``BatchNormalization``).
    public var batchNorm = false
    /// Added to each batch variance.
    public var batchNormEpsilon: Float = 1e-5
    /// The weight of the past in the running statistics.
    public var batchNormMomentum: Float = 0.9

    public init() {}

    /// The saved settings, written in one flat record with the shared ones
    /// (a key an older record lacks keeps its default: `optimizer`, say, SGD with momentum).
    public static var savedFields: [SavedField<FineTuningConfiguration>] {
        [.flattened(\.sgd), .field("learningRateDecay", \.learningRateDecay), .field("lrSchedule", \.lrSchedule),
         .field("inputDropout", \.inputDropout), .field("hiddenDropout", \.hiddenDropout), .field("maxColumnNorm", \.maxColumnNorm),
         .field("minUpdates", \.minUpdates), .field("patience", \.patience), .field("batchNorm", \.batchNorm),
         .field("batchNormEpsilon", \.batchNormEpsilon), .field("batchNormMomentum", \.batchNormMomentum), .field("teacher", \.teacher),
         .field("temperature", \.temperature), .field("softWeight", \.softWeight), .field("augmentation", \.augmentation)]
    }

    public func validate() throws {
        try sgd.validate(allowsNoEpochs: Self.allowsNoEpochs)
        guard learningRateDecay > 0, learningRateDecay <= 1 else { throw StrataError.invalidArgument(name: "learning-rate decay", reason: "\(learningRateDecay) must lie in (0, 1]") }
        guard (0 ..< 1).contains(inputDropout), (0 ..< 1).contains(hiddenDropout) else { throw StrataError.invalidArgument(name: "dropout", reason: "must lie in [0, 1)") }
        guard patience >= 1 else { throw StrataError.invalidArgument(name: "patience", reason: "\(patience) must be at least 1") }
        guard (0 ... 1 << 40).contains(minUpdates) else { throw StrataError.invalidArgument(name: "min updates", reason: "\(minUpdates) must lie in 0...2^40") }
        if let m = maxColumnNorm, !(m > 0) { throw StrataError.invalidArgument(name: "max column norm", reason: "\(m) must be positive") }
        guard batchNormEpsilon > 0, batchNormEpsilon.isFinite, (0 ..< 1).contains(batchNormMomentum) else {
            throw StrataError.invalidArgument(name: "batch norm", reason: "epsilon must be positive and momentum in [0, 1)")
        }
        guard temperature > 0, temperature.isFinite, (0 ... 1).contains(softWeight) else {
            throw StrataError.invalidArgument(name: "distillation", reason: "the temperature must be positive and the soft weight in [0, 1]")
        }
        if sgd.optimizer.isLBFGS {
            // The line search compares values of one objective: nothing random, nothing that depends on how the data is chunked.
            let unsupported = [(inputDropout > 0 || hiddenDropout > 0, "dropout"), (batchNorm, "batch norm (its statistics depend on the chunk)"),
                               (augmentation.isActive, "augmentation"), (maxColumnNorm != nil, "max column norm (a projection the line search does not know)"),
                               (sgd.distributed != .synchronous, "distributed: async (across ranks L-BFGS shares out chunks of its full-batch gradient; that is its own scheme)")]
                .filter(\.0).map(\.1)
            guard unsupported.isEmpty else {
                throw StrataError.invalidArgument(name: "optimizer", reason: "lbfgs minimizes one deterministic full-batch objective, which \(unsupported.joined(separator: ", ")) would change from one evaluation to the next; train without it or with momentum, nesterov or adam")
            }
        }
    }

    /// The configuration for `trainingExamples` examples: the epoch limit
    /// raised, when ``minUpdates`` asks for more updates than it allows, to
    /// the epochs that make them; and the line that says so (nil: unchanged).
    public func withMinimumUpdates(trainingExamples: Int) -> (FineTuningConfiguration, note: String?) {
        let steps = max(1, (trainingExamples + sgd.batchSize - 1) / sgd.batchSize)
        let epochs = (minUpdates + steps - 1) / steps
        guard epochs > sgd.maxEpochs else { return (self, nil) }
        var c = self
        c.maxEpochs = epochs
        return (c, "min_updates \(minUpdates): up to \(epochs) epochs of \(steps) update\(steps == 1 ? "" : "s") on \(trainingExamples) examples, instead of \(sgd.maxEpochs)")
    }

    /// The momentum during `epoch` (1-based): the shared ``MomentumRamp`` from epoch 1.
    func momentum(atEpoch epoch: Int) -> Float {
        MomentumRamp(initial: sgd.initialMomentum, final: sgd.finalMomentum, saturateEpoch: sgd.momentumSaturateEpoch).momentum(atEpoch: epoch)
    }
}
