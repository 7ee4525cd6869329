import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataFeatures

/// What a supervised stage reads: feature files written by `strata features`,
/// a pretrained stack's features of the images it records, or (softmax only)
/// the images' pixels for a network without pretraining.
///
/// One decision for every front-end: ``readSoftmax(from:)`` and
/// ``readSVM(from:)`` take the settings a command's flags give and refuse a
/// key that would not act in the combination given, naming it as the source
/// does (`--dataset does not apply with --train-features ...`).
public enum FineTuningInput: Equatable, Sendable {
    /// Training and test features in `.npy` files, labels beside them.
    case featureFiles(SoftmaxFineTuning.FeatureFiles)
    /// The stack at `path` (a `stack.safetensors` or a layer checkpoint).
    case stack(path: String)
    /// The dataset's pixels (softmax only: a randomly initialized network).
    case pixels

    /// The keys that choose the input, beside the images' and the network's.
    public static let keys = ["train_features", "test_features", "block_rows", "stack"]
    static let pixelKeys = ["pixel_scale", "binarize"]

    /// A softmax network's input: `train_features` with `test_features` (and
    /// `block_rows` to leave the training features on disk), else `stack`,
    /// else pixels with a random network (`hidden`, `activation`, `maxout_pieces`).
    public static func readSoftmax(from s: SettingSource) throws -> FineTuningInput {
        if let files = try featureFiles(from: s, blockRows: true) {
            try s.refuseInapplicable(["stack", "dataset", "limit"] + pixelKeys,
                                     "with \(s.name("train_features")): the network reads the features as they are")
            return .featureFiles(files)
        }
        guard let stack = try s.text("stack") else { return .pixels }
        try s.refuseInapplicable(SoftmaxFineTuning.Network.randomKeys + pixelKeys,
                                 "with \(s.name("stack")): the network's layers and the pixel treatment are the stack's")
        return .stack(path: stack)
    }

    /// An SVM's features: `train_features` with `test_features`, else those
    /// the stack at `stack` computes (described by ``FeatureSettings/keys``).
    public static func readSVM(from s: SettingSource) throws -> FineTuningInput {
        if let files = try featureFiles(from: s, blockRows: false) {
            try s.refuseInapplicable(["stack", "dataset", "limit"] + FeatureSettings.keys,
                                     "with \(s.name("train_features")): the features are read as they are")
            return .featureFiles(files)
        }
        guard let stack = try s.text("stack") else {
            throw s.failure("stack", "give \(s.name("stack")) (features computed here) or \(s.name("train_features")) and \(s.name("test_features"))")
        }
        return .stack(path: stack)
    }

    /// Both feature files, nil when neither is given; one without the other
    /// is refused, as is `block_rows` without them (or where it does not apply).
    static func featureFiles(from s: SettingSource, blockRows allowed: Bool) throws -> SoftmaxFineTuning.FeatureFiles? {
        guard let train = try s.text("train_features") else {
            try s.refuseInapplicable(["test_features", "block_rows"], "without \(s.name("train_features"))")
            return nil
        }
        guard let test = try s.text("test_features") else {
            throw s.failure("train_features", "needs \(s.name("test_features")) beside it")
        }
        if !allowed { try s.refuseInapplicable(["block_rows"], "here: only a softmax network reads its training features in blocks") }
        return .init(train: train, test: test, blockRows: try readBlockRows(s))
    }
}

/// `block_rows`: rows of a matrix on disk read at a time, at least 1.
func readBlockRows(_ s: SettingSource) throws -> Int? {
    try s.value("block_rows") { text -> Int in
        guard let rows = Int(text), rows >= 1 else { throw SettingError("must be at least 1, not \(text)") }
        return rows
    }
}
