import Foundation

/// Settings of supervised fine-tuning with a softmax head.
public struct FineTuningConfiguration: Codable, Equatable, Sendable, MinibatchSGDSettings {
    public var batchSize = 100
    public var learningRate: Float = 0.1
    /// The learning rate is multiplied by this after each epoch (a shorthand for
    /// the schedule `exponential:DECAY`, which ``schedule`` holds).
    public var learningRateDecay: Float = 1
    /// How the learning rate changes after each epoch; nil: multiplied by ``learningRateDecay``.
    public var lrSchedule: LearningRateSchedule?
    /// The schedule in effect: ``lrSchedule``, or exponential decay by ``learningRateDecay``.
    public var schedule: LearningRateSchedule { lrSchedule ?? .exponentialDecay(factor: learningRateDecay, minimum: 0) }
    /// Momentum ramps linearly from `initialMomentum` (epoch 1) to
    /// `finalMomentum` (epoch `momentumSaturateEpoch`), as pylearn2's `MomentumAdjustor`.
    public var initialMomentum: Float = 0.5
    public var finalMomentum: Float = 0.9
    public var momentumSaturateEpoch = 10
    public var weightDecay: Float = 0
    public var inputDropout: Float = 0
    public var hiddenDropout: Float = 0
    public var maxColumnNorm: Float?
    public var maxEpochs = 50
    /// Stop after this many epochs without a better validation error.
    public var patience = 10
    /// Training examples (a fixed seeded subset) on which the training error is monitored each epoch.
    public var monitorExamples = 10_000
    public var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        guard batchSize >= 1 else { throw StrataError.invalidArgument(name: "batch size", reason: "\(batchSize) must be at least 1") }
        guard learningRate > 0, learningRate.isFinite else { throw StrataError.invalidArgument(name: "learning rate", reason: "\(learningRate) must be positive") }
        guard learningRateDecay > 0, learningRateDecay <= 1 else { throw StrataError.invalidArgument(name: "learning-rate decay", reason: "\(learningRateDecay) must lie in (0, 1]") }
        guard (0 ..< 1).contains(initialMomentum), (0 ..< 1).contains(finalMomentum) else { throw StrataError.invalidArgument(name: "momentum", reason: "must lie in [0, 1)") }
        guard (0 ..< 1).contains(inputDropout), (0 ..< 1).contains(hiddenDropout) else { throw StrataError.invalidArgument(name: "dropout", reason: "must lie in [0, 1)") }
        guard weightDecay >= 0 else { throw StrataError.invalidArgument(name: "weight decay", reason: "must not be negative") }
        guard maxEpochs >= 1, patience >= 1 else { throw StrataError.invalidArgument(name: "epochs", reason: "epochs and patience must be at least 1") }
        if let m = maxColumnNorm, !(m > 0) { throw StrataError.invalidArgument(name: "max column norm", reason: "\(m) must be positive") }
    }

    /// The momentum during `epoch` (1-based): the shared ``MomentumRamp`` from epoch 1.
    func momentum(atEpoch epoch: Int) -> Float {
        MomentumRamp(initial: initialMomentum, final: finalMomentum, saturateEpoch: momentumSaturateEpoch).momentum(atEpoch: epoch)
    }
}

/// Trains a ``SoftmaxNetwork`` by minibatch backpropagation, monitoring the
/// validation error each epoch (`monitor.jsonl` in the run folder) and keeping
/// the weights of the best epoch; stops early after `patience` epochs without
/// a better validation error, and with a clear error on NaN.
public struct FineTuner: Sendable {
    public var configuration: FineTuningConfiguration
    /// The run folder (gets `monitor.jsonl`).
    public var folder: String
    public var showProgress = true

    public init(configuration: FineTuningConfiguration, folder: String) {
        (self.configuration, self.folder) = (configuration, folder)
    }

    public var monitorPath: String { folder + "/monitor.jsonl" }

    public struct Report: Sendable {
        public var epochs: Int
        public var bestEpoch: Int
        public var bestValidationError: Double
        public var seconds: Double
        public var log: MonitorLog
    }

    /// Trains `network` on `x` (`(n, inputs)`) with `labels`, choosing the
    /// epoch by the error on (`validationX`, `validationLabels`); `network`
    /// ends with the best epoch's weights.
    @discardableResult
    public func train(_ network: inout SoftmaxNetwork, x: Tensor, labels: [Int],
                      validationX: Tensor, validationLabels: [Int]) throws -> Report {
        try configuration.validate()
        try checkLabels(labels, rows: x.rows, classes: network.classCount, what: "training labels")
        try checkLabels(validationLabels, rows: validationX.rows, classes: network.classCount, what: "validation labels")
        for (data, what) in [(x, "training data"), (validationX, "validation data")] where data.columns != network.inputCount {
            throw StrataError.shapeMismatch(context: "\(what) for a \(network.sizes) network", expected: [data.rows, network.inputCount], found: data.shape)
        }
        guard x.rows > 0, validationX.rows > 0 else { throw StrataError.invalidArgument(name: "fine-tuning data", reason: "training and validation sets must not be empty") }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var random = RandomSource(seed: configuration.seed)
        let monitorRows = EpochLoop.monitorRows(count: configuration.monitorExamples, of: x.rows, seed: configuration.seed)
        let monitorX = x.gatherRows(monitorRows), monitorLabels = monitorRows.map { labels[$0] }
        var log = MonitorLog()
        var best = network
        let start = Date()

        func record(epoch: Int, objective: Double?, learningRate: Float, seconds: Double) -> Double {
            let train = network.evaluate(monitorX, labels: monitorLabels)
            let valid = network.evaluate(validationX, labels: validationLabels)
            var row: [String: Double] = ["epoch": Double(epoch), "examples_seen": Double(epoch * x.rows),
                                         "learning_rate": Double(learningRate), "training_seconds_this_epoch": seconds,
                                         "total_seconds": Date().timeIntervalSince(start),
                                         "train_y_nll": train.crossEntropy, "train_y_misclass": train.errorRate,
                                         "valid_y_nll": valid.crossEntropy, "valid_y_misclass": valid.errorRate]
            if let objective { row["train_objective"] = objective }
            log.append(row)
            return valid.errorRate
        }

        // The epoch is chosen by the validation error: the shared early-stopping
        // rule with no required decrease, and the weights of its best epoch kept.
        let stopping = EarlyStopping(channel: "valid_y_misclass", proportionalDecrease: 0, patience: configuration.patience)
        var bestError: Double?, epochsWithoutImprovement = 0, stopped = false
        _ = stopping.record(record(epoch: 0, objective: nil, learningRate: configuration.learningRate, seconds: 0),
                            best: &bestError, epochsWithoutImprovement: &epochsWithoutImprovement)
        var bestEpoch = 0, epoch = 0
        var learningRate = configuration.learningRate
        var previousObjective: Double?
        var batch = Tensor(zeros: [0, 0]), batchLabels: [Int] = []
        try log.write(to: monitorPath)
        while epoch < configuration.maxEpochs && !stopped {
            epoch += 1
            let epochStart = Date()
            let order = random.permutation(x.rows)
            let settings = SoftmaxNetwork.StepSettings(
                learningRate: learningRate, momentum: configuration.momentum(atEpoch: epoch), weightDecay: configuration.weightDecay,
                inputDropout: configuration.inputDropout, hiddenDropout: configuration.hiddenDropout, maxColumnNorm: configuration.maxColumnNorm)
            let bar = showProgress ? ProgressBar(total: x.rows, label: "fine-tune \(epoch)") : nil
            var lossSum = 0.0, batches = 0, done = 0
            try EpochLoop.forEachMinibatch(of: x, order: order, batchSize: configuration.batchSize, batch: &batch) { rows, batch in
                batchLabels.removeAll(keepingCapacity: true)
                for row in rows { batchLabels.append(labels[row]) }
                let loss = network.trainStep(batch, labels: batchLabels[...], settings: settings, random: &random)
                guard loss.isFinite else { throw StrataError.diverged(epoch: epoch, batch: batches + 1, lastCheckpoint: nil) }
                lossSum += loss
                batches += 1
                done += rows.count
                if let bar { bar.status = String(format: "nll %.4f", lossSum / Double(batches)); bar.update(done) }
            }
            let error = record(epoch: epoch, objective: lossSum / Double(batches), learningRate: learningRate,
                               seconds: Date().timeIntervalSince(epochStart))
            bar?.finish(String(format: "nll %.4f, valid error %.2f%%", lossSum / Double(batches), 100 * error))
            let outcome = stopping.record(error, best: &bestError, epochsWithoutImprovement: &epochsWithoutImprovement)
            if outcome.improved { (bestEpoch, best) = (epoch, network) }
            stopped = outcome.stop
            let objective = lossSum / Double(batches)
            learningRate = configuration.schedule.rate(after: epoch, current: learningRate, base: configuration.learningRate,
                                                       objective: objective, previousObjective: previousObjective)
            previousObjective = objective
            try log.write(to: monitorPath)
        }
        network = best
        return Report(epochs: epoch, bestEpoch: bestEpoch, bestValidationError: bestError ?? 1,
                      seconds: Date().timeIntervalSince(start), log: log)
    }
}

/// Checks that there is one label per example and every label is a class index.
func checkLabels(_ labels: [Int], rows: Int, classes: Int, what: String) throws {
    guard labels.count == rows else {
        throw StrataError.shapeMismatch(context: "\(what): one per example", expected: [rows], found: [labels.count])
    }
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
        throw StrataError.invalidArgument(name: what, reason: "label \(bad) is not one of the \(classes) classes 0..\(classes - 1)")
    }
}
