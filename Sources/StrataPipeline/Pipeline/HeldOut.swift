import Foundation
import StrataCore

/// How many of the training examples a supervised stage holds out (the last
/// ones) to choose what it chooses: the epoch to keep, C.
public enum HeldOut {
    /// The default on a full training set: 10,000 (MNIST's 50,000 / 10,000 split of its 60,000; a fifth of CIFAR-10's 50,000).
    public static let defaultCount = 10_000

    /// The default for `trainingExamples`: ``defaultCount``, or a fifth of the
    /// examples when the set is smaller than 50,000 (`--limit 3000`: 600).
    public static func defaultCount(trainingExamples: Int) -> Int {
        min(defaultCount, max(1, trainingExamples / 5))
    }

    /// `requested`, or the default for `trainingExamples` (said in `log` when
    /// scaled down), checked to leave examples to train on.
    public static func count(_ requested: Int?, trainingExamples: Int, log: StageLog) throws -> Int {
        let count = requested ?? defaultCount(trainingExamples: trainingExamples)
        if requested == nil, count < defaultCount {
            log("validation: the last \(count) of \(trainingExamples) training examples held out (the default, \(defaultCount), scaled to a fifth of a smaller set; --validation sets it)")
        }
        guard count >= 1, count < trainingExamples else {
            throw StrataError.invalidArgument(name: "validation", reason: "\(count) held-out examples must be at least 1 and leave training examples (\(trainingExamples) in all)")
        }
        return count
    }
}
