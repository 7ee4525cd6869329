import Foundation
import StrataCore

/// Le et al. (2012)'s test of single units: for a class, the one feature
/// whose value alone, above (or below) one threshold, best tells the class's
/// examples from the rest. Their face neuron reached 81.7% where the best
/// single pixel and a network with random weights did far worse.
///
/// Here the unit, its threshold and its direction are chosen on the training
/// features and the accuracy is measured on the test features, as balanced
/// accuracy (the mean of the class's recall and the rest's), so that saying
/// "not this class" to everything scores 50%, not 90%.
public enum SingleUnitTest {
    /// The best unit for one class.
    public struct Best: Sendable, Equatable {
        public var unit: Int
        public var threshold: Float
        /// True when the class lies above the threshold.
        public var above: Bool
        /// Balanced accuracy on the examples it was chosen on, and on the test examples.
        public var trainAccuracy: Double, testAccuracy: Double
    }

    /// For each class, the best single feature of `train` (`(n, features)`)
    /// and its balanced accuracy on `test`.
    public static func run(train: Tensor, trainLabels: [Int], test: Tensor, testLabels: [Int], classes: Int) -> [Best] {
        let n = train.rows, d = train.columns
        var order = [Int](repeating: 0, count: n), values = [Float](repeating: 0, count: n)
        var best = [Best](repeating: Best(unit: 0, threshold: 0, above: true, trainAccuracy: 0, testAccuracy: 0), count: classes)
        let counts = (0 ..< classes).map { c in trainLabels.lazy.filter { $0 == c }.count }
        train.withUnsafeBufferPointer { x in
            for unit in 0 ..< d {
                for i in 0 ..< n { values[i] = x[i * d + unit] }
                for i in 0 ..< n { order[i] = i }
                order.sort { values[$0] < values[$1] }
                for c in 0 ..< classes where counts[c] > 0 && counts[c] < n {
                    let candidate = bestThreshold(order: order, values: values, labels: trainLabels, target: c, positives: counts[c])
                    if candidate.accuracy > best[c].trainAccuracy {
                        best[c] = Best(unit: unit, threshold: candidate.threshold, above: candidate.above, trainAccuracy: candidate.accuracy, testAccuracy: 0)
                    }
                }
            }
        }
        for c in 0 ..< classes { best[c].testAccuracy = balancedAccuracy(best[c], test, testLabels, target: c) }
        return best
    }

    /// Sweeps every threshold between consecutive sorted values of one unit.
    static func bestThreshold(order: [Int], values: [Float], labels: [Int], target: Int, positives: Int) -> (threshold: Float, above: Bool, accuracy: Double) {
        let n = order.count, negatives = n - positives
        var positivesBelow = 0, result = (threshold: Float(0), above: true, accuracy: 0.0)
        for k in 0 ..< n {
            if labels[order[k]] == target { positivesBelow += 1 }
            // Threshold between order[k] and order[k+1]: k+1 examples below it.
            guard k + 1 < n, values[order[k]] < values[order[k + 1]] else { continue }
            let negativesBelow = k + 1 - positivesBelow
            let aboveScore = 0.5 * (Double(positives - positivesBelow) / Double(positives) + Double(negativesBelow) / Double(negatives))
            let threshold = 0.5 * (values[order[k]] + values[order[k + 1]])
            if aboveScore > result.accuracy { result = (threshold, true, aboveScore) }
            if 1 - aboveScore > result.accuracy { result = (threshold, false, 1 - aboveScore) }
        }
        return result
    }

    /// Balanced accuracy of one unit's rule on `x`.
    static func balancedAccuracy(_ rule: Best, _ x: Tensor, _ labels: [Int], target: Int) -> Double {
        var (truePositive, positives, trueNegative, negatives) = (0, 0, 0, 0)
        for i in 0 ..< x.rows {
            let says = (x[i, rule.unit] > rule.threshold) == rule.above
            if labels[i] == target { positives += 1; if says { truePositive += 1 } } else { negatives += 1; if !says { trueNegative += 1 } }
        }
        guard positives > 0, negatives > 0 else { return 0 }
        return 0.5 * (Double(truePositive) / Double(positives) + Double(trueNegative) / Double(negatives))
    }
}
