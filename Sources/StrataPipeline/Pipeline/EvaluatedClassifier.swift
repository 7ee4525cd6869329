import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures

/// A classifier that has been trained, saved and measured once on the test
/// set: what `strata finetune` and an experiment's fine-tuning stage leave in
/// their run folder (`classifier.safetensors`, `evaluation.txt/.json/.png`).
public struct EvaluatedClassifier: Sendable {
    public var classifier: Classifier
    public var confusion: ConfusionMatrix
    /// The folder holding the classifier and the evaluation files.
    public var folder: String
    public var classifierPath: String { folder + "/classifier.safetensors" }
    public var evaluationPath: String { folder + "/evaluation.txt" }

    /// Saves `classifier`, predicts `testImages` (raw, as loaded: the
    /// classifier applies its own feature extraction and preprocessing) and
    /// writes the evaluation with `numbers` beside the accuracy.
    public static func save(_ classifier: Classifier, testImages: Tensor, testLabels: [Int], folder: String,
                            numbers: [String: Double] = [:]) throws -> EvaluatedClassifier {
        try save(classifier, predictions: try classifier.predict(testImages), testLabels: testLabels, folder: folder, numbers: numbers)
    }

    /// Saves `classifier` and the evaluation of `predictions` (already made,
    /// for example from features extracted once for training and test).
    public static func save(_ classifier: Classifier, predictions: [Int], testLabels: [Int], folder: String,
                            numbers: [String: Double] = [:]) throws -> EvaluatedClassifier {
        try AtomicFile.makeFolder(folder)
        try classifier.write(to: folder + "/classifier.safetensors")
        let confusion = try ConfusionMatrix(truth: testLabels, predictions: predictions, classNames: classifier.classNames)
        try confusion.write(to: folder, extra: numbers)
        return EvaluatedClassifier(classifier: classifier, confusion: confusion, folder: folder)
    }
}

extension FineTuner {
    /// Fine-tunes `network` on `x` less its last `validation` rows, which
    /// choose the epoch whose weights are kept, then saves the classifier
    /// (`preprocessing` in front of the network) and its test evaluation in
    /// ``folder``. `x` is already preprocessed; `test` holds raw images.
    public func trainAndEvaluate(_ network: inout SoftmaxNetwork, x: Tensor, labels: [Int], validation: Int,
                                 test: Dataset, preprocessing: PreprocessingPipeline, classNames: [String],
                                 metadata: [String: String]) throws -> (report: Report, result: EvaluatedClassifier) {
        guard validation >= 1, validation < x.rows else {
            throw StrataError.invalidArgument(name: "validation", reason: "\(validation) held-out examples must be at least 1 and leave training examples (\(x.rows) in all)")
        }
        guard labels.count == x.rows else {
            throw StrataError.shapeMismatch(context: "labels for the fine-tuning examples", expected: [x.rows], found: [labels.count])
        }
        guard let testLabels = test.labels else {
            throw StrataError.invalidArgument(name: test.name, reason: "the test split has no labels; fine-tuning is evaluated on labeled test data")
        }
        let split = x.rows - validation
        var tuner = self
        if let targets = softTargets, targets.rows == x.rows { tuner.softTargets = targets.rows(0 ..< split) } // the training rows' targets
        if let source = augmentationSource, source.images.rows == x.rows {
            tuner.augmentationSource = (source.images.rows(0 ..< split), source.geometry, source.preprocessing)
        }
        let report = try tuner.train(&network, x: x.rows(0 ..< split), labels: Array(labels[..<split]),
                               validationX: x.rows(split ..< x.rows), validationLabels: Array(labels[split...]))
        // A network over local stages keeps them as its extractor, after the images' preprocessing.
        let classifier = network.front == nil ? Classifier(head: .softmax(network), preprocessing: preprocessing, classNames: classNames, extra: metadata)
            : try Classifier(fineTunedThrough: network, imagePreprocessing: preprocessing, classNames: classNames, extra: metadata)
        let result = try EvaluatedClassifier.save(classifier, testImages: test.examples, testLabels: testLabels, folder: folder,
                                                  numbers: ["best_validation_error": report.bestValidationError, "best_epoch": Double(report.bestEpoch),
                                                            "fine_tuning_seconds": report.seconds, "training_labels": Double(labels.count)])
        return (report, result)
    }
}

extension LinearSVM {
    /// Standardizes the features (statistics fitted on `train`, then applied
    /// to both, in place) and trains the one-vs-rest SVM on all of `train`;
    /// the standardization and the solver's seconds. Collective under MPI
    /// (the ranks share the classes), so every rank calls it.
    public static func trainStandardized(train: inout Tensor, labels: [Int], test: inout Tensor, classes: Int, settings: Settings, stdEps: Float = 0.01,
                                         warmStart: [[Float]]? = nil, cores: Int = Compute.activeCores,
                                         progress: ((_ pass: Int, _ unsolved: Int) -> Void)? = nil) throws -> (svm: LinearSVM, standardize: PreprocessingPipeline, seconds: Double) {
        var standardize = PreprocessingPipeline([Standardization(stdEps: stdEps)])
        try standardize.fitTransform(&train)
        let start = Date()
        let svm = try LinearSVM.train(train, labels: labels, classes: classes, settings: settings, warmStart: warmStart, cores: cores, progress: progress)
        let seconds = Date().timeIntervalSince(start)
        try standardize.transform(&test)
        return (svm, standardize, seconds)
    }

    /// Standardizes the features (statistics fitted on `train`, then applied
    /// to both, in place), trains the one-vs-rest SVM on all of `train`, and
    /// saves the classifier (with `extractor`, which turns raw images into
    /// these features, when there is one) and its test evaluation in `folder`.
    /// The evaluation records C, the per-class objectives and the solver's seconds.
    public static func trainAndEvaluate(train: inout Tensor, labels: [Int], test: inout Tensor, testLabels: [Int],
                                        settings: Settings, stdEps: Float = 0.01, extractor: FeatureExtractor?,
                                        classNames: [String], metadata: [String: String], folder: String,
                                        numbers: [String: Double] = [:], warmStart: [[Float]]? = nil, cores: Int = Compute.activeCores,
                                        progress: ((_ pass: Int, _ unsolved: Int) -> Void)? = nil) throws -> (svm: LinearSVM, seconds: Double, result: EvaluatedClassifier) {
        let (svm, standardize, seconds) = try trainStandardized(train: &train, labels: labels, test: &test, classes: classNames.count, settings: settings,
                                                                stdEps: stdEps, warmStart: warmStart, cores: cores, progress: progress)
        var all = numbers
        all["c"] = Double(settings.c)
        all["svm_seconds"] = seconds
        all["training_labels"] = Double(labels.count) // the labels it learned from (C was chosen on a held-out part of them)
        for (k, objective) in svm.objectives.enumerated() { all["objective_class_\(k)"] = objective }
        // The test features are already extracted and standardized: score them directly.
        let classifier = Classifier(head: .svm(svm), extractor: extractor, preprocessing: standardize, classNames: classNames, extra: metadata)
        let result = try EvaluatedClassifier.save(classifier, predictions: try svm.predict(test), testLabels: testLabels, folder: folder, numbers: all)
        return (svm, seconds, result)
    }
}
