import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

/// Counts of true class (row) against predicted class (column), with the
/// accuracy figures read from it, a text table and a labeled PNG chart.
public struct ConfusionMatrix: Sendable, Equatable {
    public let classNames: [String]
    /// `counts[truth][prediction]`.
    public private(set) var counts: [[Int]]

    /// The matrix of `predictions` against `truth`; both in `0..<classNames.count`.
    public init(truth: [Int], predictions: [Int], classNames: [String]) throws {
        guard truth.count == predictions.count else {
            throw StrataError.shapeMismatch(context: "predictions against labels", expected: [truth.count], found: [predictions.count])
        }
        let k = classNames.count
        try checkLabels(truth, rows: truth.count, classes: k, what: "evaluation labels")
        try checkLabels(predictions, rows: predictions.count, classes: k, what: "predictions")
        self.classNames = classNames
        counts = Array(repeating: Array(repeating: 0, count: k), count: k)
        for (t, p) in zip(truth, predictions) { counts[t][p] += 1 }
    }

    public var total: Int { counts.joined().reduce(0, +) }
    public var correct: Int { counts.indices.map { counts[$0][$0] }.reduce(0, +) }
    /// Fraction of examples predicted right.
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    /// Per true class: the fraction of its examples predicted right (nil when it has none).
    public var perClassAccuracy: [Double?] {
        counts.indices.map { k in
            let n = counts[k].reduce(0, +)
            return n == 0 ? nil : Double(counts[k][k]) / Double(n)
        }
    }

    /// A fixed-width table: accuracy, per-class accuracy, and the counts.
    public var table: String {
        let width = max(6, (classNames.map(\.count).max() ?? 0) + 1)
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var text = String(format: "accuracy %.2f%% (%d of %d)\n\nper class:\n", 100 * accuracy, correct, total)
        for (k, a) in perClassAccuracy.enumerated() {
            text += pad(classNames[k], width) + "  " + (a.map { String(format: "%6.2f%%", 100 * $0) } ?? "   n/a") + "\n"
        }
        // Rows: the class number left-aligned, then its name right-aligned, so both columns line up.
        let numberWidth = String(max(classNames.count - 1, 0)).count
        let labelWidth = numberWidth + 1 + width
        text += "\nconfusion (rows: true class, columns: predicted):\n" + pad("", labelWidth)
        for k in classNames.indices { text += pad(String(k), 6) }
        text += "\n"
        for (k, row) in counts.enumerated() {
            let number = String(k) + String(repeating: " ", count: numberWidth - String(k).count)
            text += number + " " + pad(classNames[k], width) + row.map { pad(String($0), 6) }.joined() + "\n"
        }
        return text
    }
}

extension Dataset {
    /// The class names of a train/test pair for classification, after checking
    /// that both are labeled and that every test class occurs in training.
    public static func classNames(train: Dataset, test: Dataset) throws -> [String] {
        guard let trainLabels = train.labels else { throw StrataError.invalidArgument(name: train.name, reason: "has no labels; fine-tuning needs labeled examples") }
        guard let testLabels = test.labels else { throw StrataError.invalidArgument(name: test.name, reason: "has no labels; evaluation needs labeled examples") }
        let classes = max((trainLabels.max() ?? 0) + 1, train.classNames?.count ?? 0)
        let names = train.classNames ?? (0 ..< classes).map(String.init)
        if let missing = Set(testLabels).subtracting(trainLabels).sorted().first {
            let name = missing < names.count ? " (\(names[missing]))" : ""
            throw StrataError.invalidArgument(name: "\(test.name) labels", reason: "class \(missing)\(name) occurs in the test set but never in training")
        }
        return names
    }
}
