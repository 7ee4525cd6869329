import Foundation
import StrataCore
import StrataData

/// Few labels (`labels_per_class`): a supervised stage trains, and chooses
/// its epoch or C on a held-out part, on a seeded stratified subset of the
/// training labels (``LabeledSubset``); pretraining still sees every image.
public enum FewLabels {
    /// The key a stage's settings take (`--labels-per-class`, YAML's `labels_per_class`).
    public static let key = "labels_per_class"

    /// `labels_per_class` from `source`: a whole number at least 1, or `all`
    /// (every training label, as when the key is not given: the top of a
    /// study's range on any dataset). Nil: every label.
    public static func read(from source: SettingSource) throws -> Int? {
        guard let text = try source.text(key) else { return nil }
        if text == "all" { return nil }
        guard let n = Int(text), n >= 1 else { throw source.failure(key, "must be a whole number of labels per class, at least 1, or all; not '\(text)'") }
        return n
    }

    /// `train` cut to `perClass` labeled examples of each class (all of it
    /// when nil), drawn with `seed`; the log says what was drawn and how many labels were read.
    static func subset(_ train: Dataset, perClass: Int?, seed: UInt64, log: StageLog) throws -> Dataset {
        guard let perClass else { return train }
        let (subset, read) = try train.labeledSubset(perClass: perClass, seed: seed)
        log(describe(perClass: perClass, kept: subset.count, of: train.count, read: read, seed: seed))
        return subset
    }

    /// The rows of `labels` kept and the log line, for features read from files.
    static func rows(_ labels: [Int], classNames: [String], perClass: Int, seed: UInt64, log: StageLog) throws -> [Int] {
        let (rows, read) = try LabeledSubset.draw(labels: labels, classes: classNames.count, perClass: perClass, seed: seed, classNames: classNames)
        log(describe(perClass: perClass, kept: rows.count, of: labels.count, read: read, seed: seed))
        return rows
    }

    static func describe(perClass: Int, kept: Int, of total: Int, read: Int, seed: UInt64) -> String {
        "labels: \(perClass) per class, \(kept) of the \(total) training examples (seed \(seed); \(read) labels read to find them); "
            + "what this stage chooses it chooses on a held-out part of these, no other label is read"
    }
}
