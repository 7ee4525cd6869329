import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Training and validation error side by side, epoch by epoch, to tell the two
/// ways a network falls short (Ng's "bias vs variance" diagnosis): a
/// validation error far above the training error is overfitting (high
/// variance); the two close together but both high is underfitting (high
/// bias). Fine-tuning logs both every epoch (`train_y_misclass` on a fixed
/// sample of the training set, not timed, and `valid_y_misclass`), draws them
/// in `learning_curves.png`, and says the regime at the chosen epoch.
public enum LearningCurves {
    /// The channels of the chart: training and validation error (their losses,
    /// `train_y_nll` and `valid_y_nll`, are logged beside them).
    public static let channels = "train_y_misclass,valid_y_misclass"

    /// Which way a run falls short, from its errors at one epoch.
    public enum Regime: Equatable, Sendable, CustomStringConvertible {
        /// The validation error exceeds the training error by at least 2
        /// points and by more than the training error itself.
        case highVariance(train: Double, valid: Double)
        /// The training error is at least 5% and the gap under a quarter of the validation error.
        case highBias(train: Double, valid: Double)
        /// The validation error is no better than guessing among `classes` (at least 90% of `1 - 1/classes`).
        case chance(train: Double, valid: Double, classes: Int)

        public var description: String {
            switch self {
            case .highVariance(let t, let v):
                String(format: "overfitting (high variance): validation error %.2f%% is well above training error %.2f%%; more data, augmentation, dropout or weight decay help, a larger network does not", 100 * v, 100 * t)
            case .chance(let t, let v, let k):
                String(format: "no better than chance: validation error %.2f%% and training error %.2f%% against %.2f%% for guessing among %d classes; the network learned nothing (a learning rate too large, or labels that do not match the images), so neither a larger network nor regularization helps", 100 * v, 100 * t, 100 * (1 - 1 / Double(k)), k)
            case .highBias(let t, let v):
                String(format: "underfitting (high bias): training error %.2f%% is close to validation error %.2f%%; a larger network or longer training help, more regularization does not", 100 * t, 100 * v)
            }
        }
    }

    /// The regime at a run's `epoch` row of `log`, or nil when the curves show
    /// neither a large gap nor a high training error (or lack the channels).
    public static func regime(_ log: MonitorLog, epoch: Int, classes: Int? = nil) -> Regime? {
        guard let row = log.rows.last(where: { $0["epoch"] == Double(epoch) }),
              let train = row["train_y_misclass"], let valid = row["valid_y_misclass"] else { return nil }
        return regime(train: train, valid: valid, classes: classes)
    }

    /// Whether an error rate is no better than guessing among `classes`: at
    /// least 90% of chance's `1 - 1/classes` (false for fewer than 2 classes).
    public static func isAtChance(error: Double, classes: Int) -> Bool {
        classes >= 2 && error >= 0.9 * (1 - 1 / Double(classes))
    }

    /// The regime of a training and a validation error (fractions) of a
    /// classifier of `classes` classes (nil: not checked against chance).
    public static func regime(train: Double, valid: Double, classes: Int? = nil) -> Regime? {
        if let classes, isAtChance(error: valid, classes: classes) { return .chance(train: train, valid: valid, classes: classes) }
        let gap = valid - train
        if gap >= max(0.02, train) { return .highVariance(train: train, valid: valid) }
        if train >= 0.05, gap < 0.25 * valid { return .highBias(train: train, valid: valid) }
        return nil
    }
}
