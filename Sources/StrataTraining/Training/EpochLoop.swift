import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Momentum ramped linearly from `initial` (up to epoch `startEpoch`) to
/// `final` (from epoch `saturateEpoch` on), as pylearn2's `MomentumAdjustor`;
/// when the two epochs meet, the final momentum holds from that epoch.
/// Pretraining and fine-tuning use this one ramp.
public struct MomentumRamp: Equatable, Sendable {
    public var initial: Float
    public var final: Float
    public var startEpoch: Int
    public var saturateEpoch: Int

    public init(initial: Float, final: Float, startEpoch: Int = 1, saturateEpoch: Int) {
        (self.initial, self.final, self.startEpoch, self.saturateEpoch) = (initial, final, startEpoch, saturateEpoch)
    }

    /// The momentum during `epoch` (1-based).
    public func momentum(atEpoch epoch: Int) -> Float {
        let width = saturateEpoch - startEpoch
        guard width > 0 else { return epoch >= startEpoch ? final : initial }
        let t = min(max(Float(epoch - startEpoch) / Float(width), 0), 1)
        return initial + t * (final - initial)
    }
}

/// The parts of an epoch shared by pretraining (``Trainer``) and fine-tuning
/// (``FineTuner``): which training rows the monitor watches, and the shuffled
/// minibatches gathered into one reused buffer.
public enum EpochLoop {
    /// `count` of the `rows` training rows (all when fewer), a fixed seeded
    /// subset in increasing order: the examples the `train_*` channels are measured on.
    public static func monitorRows(count: Int, of rows: Int, seed: UInt64) -> [Int] {
        var picker = RandomSource(seed: seed ^ 0x6d6f_6e69_746f_72)
        return Array(picker.permutation(rows).prefix(count)).sorted()
    }

    /// Where an epoch begins: its shuffled order of `examples`
    /// (``TrainingExamples/epochOrder(using:)``: by blocks on disk) and the
    /// position in it. A fresh epoch draws the order from `random`; an epoch a
    /// stopped run left part-way (`position` and `savedRandom`, the random
    /// state at its start) redraws the same order and goes on from `position`,
    /// with `random` already at the state after the last batch done.
    public static func start(examples: TrainingExamples, position: Int?, savedRandom: [UInt64]?,
                             random: inout RandomSource) -> (order: [Int], position: Int, randomAtStart: [UInt64]) {
        let randomAtStart = savedRandom ?? random.state
        var orderRandom = RandomSource(state: randomAtStart)
        let order = examples.epochOrder(using: &orderRandom)
        if position == nil { random = orderRandom }
        return (order, position ?? 0, randomAtStart)
    }

    /// Calls `body` with each minibatch in `order` from position `start` on:
    /// the rows' indices and their values, gathered by `gatherer` (from memory
    /// or disk) into `batch` (reallocated only when the size changes).
    public static func forEachMinibatch(of gatherer: MinibatchGatherer, order: [Int], from start: Int = 0, batchSize: Int, batch: inout Tensor,
                                        _ body: (ArraySlice<Int>, Tensor) throws -> Void) throws {
        try forEachShare(of: gatherer, order: order, from: start, batchSize: batchSize, share: { 0 ..< $0 }, batch: &batch) { rows, batch, _, _ in
            try body(rows, batch)
        }
    }

    /// ``forEachMinibatch(of:order:from:batchSize:batch:_:)`` across ranks:
    /// global minibatches of `batchSize` rows in `order`, of which this rank
    /// gathers `share(count)` (its band; possibly empty). `body` gets the
    /// rank's rows and values, the global batch's row count, and the position
    /// of the rank's first row in the global batch.
    public static func forEachShare(of gatherer: MinibatchGatherer, order: [Int], from start: Int = 0, batchSize: Int,
                                    share: (Int) -> Range<Int>, batch: inout Tensor,
                                    _ body: (ArraySlice<Int>, Tensor, _ globalRows: Int, _ firstExample: Int) throws -> Void) throws {
        var offset = start
        while offset < order.count {
            let count = min(batchSize, order.count - offset)
            let mine = share(count)
            let rows = order[(offset + mine.lowerBound) ..< (offset + mine.upperBound)]
            if !rows.isEmpty { try gatherer.gather(rows, into: &batch) }
            try body(rows, batch, count, mine.lowerBound)
            offset += count
        }
    }
}

extension LearningRateSchedule {
    /// The learning rate for the epoch after `epoch` (1-based, just finished):
    /// `current` is this epoch's rate, `base` the configured one, `objective`
    /// and `previousObjective` the training objective of this and the previous
    /// epoch (the monitor-based rule compares them). Pretraining and
    /// fine-tuning both step their rate with this.
    public func rate(after epoch: Int, current: Float, base: Float, objective: Double?, previousObjective: Double?) -> Float {
        switch self {
        case .constant:
            return current
        case .linearDecay(let finalFraction, let saturate):
            let t = min(Float(epoch) / Float(max(saturate, 1)), 1)
            return base * (1 - t + t * finalFraction)
        case .exponentialDecay(let factor, let minimum):
            return max(current * factor, minimum)
        case .monitorBased(let highTrigger, let shrink, let lowTrigger, let grow, let minimum, let maximum):
            guard let objective, let previousObjective else { return current }
            var rate = current
            if objective > Double(highTrigger) * previousObjective {
                rate *= shrink
            } else if objective > Double(lowTrigger) * previousObjective {
                rate *= grow
            }
            return min(max(rate, minimum), maximum)
        }
    }
}

extension EarlyStopping {
    /// Records this epoch's `value` of the watched channel against `best` and
    /// the count of epochs without improvement; returns whether it improved
    /// and whether training should stop. The first value only sets `best`.
    /// Pretraining's stopping rule and fine-tuning's patience are both this.
    public func record(_ value: Double, best: inout Double?, epochsWithoutImprovement: inout Int) -> (improved: Bool, stop: Bool) {
        guard let previous = best else { best = value; return (true, false) }
        if value < previous - Double(proportionalDecrease) * abs(previous) {
            best = value
            epochsWithoutImprovement = 0
            return (true, false)
        }
        epochsWithoutImprovement += 1
        return (false, epochsWithoutImprovement >= patience)
    }
}

/// Divergence beyond NaN: a run whose objective explodes (4.5 to 4e16, say)
/// without ever becoming NaN is stopped as diverged, before its checkpoint is
/// overwritten. An objective counts as exploded when it lies more than
/// `factor` times a scale above the lowest epoch objective; the scale is the
/// larger magnitude of the lowest and the first epoch objective, so that an
/// objective that falls to nearly 0 (a classifier's loss on easy data) does
/// not make an ordinary hard minibatch look like an explosion.
/// The check runs on every minibatch, so a run stops within one batch.
public struct DivergenceGuard: Codable, Equatable, Sendable {
    public var factor: Double

    public init(factor: Double) { self.factor = factor }

    /// The lowest epoch objective and the first one after recording
    /// `objective` (both nil before the first; the run's state holds them,
    /// as it holds early stopping's best).
    public func recorded(_ objective: Double?, lowest: Double?, first: Double?) -> (lowest: Double?, first: Double?) {
        guard let objective, objective.isFinite else { return (lowest, first) }
        return (min(lowest ?? objective, objective), first ?? objective)
    }

    /// Whether `objective` is NaN, infinite or has exploded past `lowest`.
    public func diverged(_ objective: Double, lowest: Double?, first: Double?) -> Bool {
        guard objective.isFinite else { return true }
        guard let lowest else { return false }
        return objective - lowest > factor * max(abs(lowest), abs(first ?? 0), 1e-12)
    }

    /// Why a classifier's epoch counts as diverged to chance level, or nil:
    /// its training error is no better than guessing (at least 90% of chance's
    /// `1 - 1/classes`) while its loss is over 1.5 times a uniform guess's
    /// `ln(classes)`: confidently wrong, as a step too large leaves a network,
    /// where an untrained one sits at `ln(classes)`. Judged once the run has
    /// made ``chanceLevelMinimumUpdates`` updates: a first step from a random
    /// start that overshoots (a trial's epoch of one batch) has fallen from nowhere.
    public static func chanceLevel(trainError: Double?, trainLoss: Double?, classes: Int, updates: Int) -> String? {
        guard classes >= 2, updates >= chanceLevelMinimumUpdates, let trainError, let trainLoss else { return nil }
        let chance = 1 - 1 / Double(classes), uniform = Foundation.log(Double(classes))
        guard LearningCurves.isAtChance(error: trainError, classes: classes), trainLoss > 1.5 * uniform || !trainLoss.isFinite else { return nil }
        return String(format: "the network fell to chance level: training error %.1f%% (guessing among %d classes: %.1f%%) with a loss of %.4g, above a uniform guess's %.3f",
                      100 * trainError, classes, 100 * chance, trainLoss, uniform)
    }

    /// Updates a run makes before ``chanceLevel(trainError:trainLoss:classes:updates:)`` judges it.
    public static let chanceLevelMinimumUpdates = 10

    /// Why `objective` counts as diverged, for the error message.
    public func reason(_ objective: Double, lowest: Double?, first: Double?) -> String {
        guard objective.isFinite else { return "the objective became \(objective)" }
        let scale = max(abs(lowest ?? 0), abs(first ?? 0))
        return "the objective reached \(String(format: "%.4g", objective)), more than \(String(format: "%g", factor))x the scale "
            + "\(String(format: "%.4g", scale)) above its lowest value \(String(format: "%.4g", lowest ?? 0)) (divergence_factor)"
    }
}

/// Thrown inside an epoch's minibatch loop when a stop was requested after a
/// batch; the loop writes its checkpoint and reports ``StrataError/interrupted(signal:checkpoint:epoch:position:)``.
/// `met`: the stop was learned at a meeting of Downpour's replicas (a
/// checkpoint's inside the epoch), which the others, stopping, took as theirs:
/// the replicas do not meet again.
struct StopAfterBatch: Error {
    var met = false
}
