import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension SoftmaxFineTuning {
    /// Training and test features in `.npy` files, with their labels beside
    /// each in `FILE.labels.npy` (as `strata features` writes them): a network
    /// on features rather than images. With `blockRows` the training features
    /// stay on disk and are read that many rows at a time (``TrainingExamples``),
    /// for feature sets larger than memory; the held-out and test rows are read whole.
    public struct FeatureFiles: Equatable, Sendable {
        public var train: String
        public var test: String
        public var blockRows: Int?

        public init(train: String, test: String, blockRows: Int? = nil) { (self.train, self.test, self.blockRows) = (train, test, blockRows) }

        /// When the test file is the training file (by its resolved path):
        /// the note that the test accuracy is then not measured on unseen examples.
        public var sameFileNote: String? {
            func resolved(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path }
            guard resolved(train) == resolved(test) else { return nil }
            return "note: the test features are the training features (\(test)): test accuracy is not measured on unseen examples; "
                + "write the test split's features with `strata features STACK --split test`"
        }
    }

    /// Trains a randomly initialized network (`s.network` must be
    /// ``Network/random(hidden:activation:pieces:)``) on the training features
    /// less their last `s.validation` rows (``HeldOut``), which choose the epoch; saves the
    /// classifier (it takes these features as its input) and evaluates it on
    /// the test features. `s.images` is not used.
    public static func run(_ s: Settings, features files: FeatureFiles, compute: Compute, showProgress: Bool = true,
                           log: StageLog = { print($0) }) throws -> Result {
        compute.apply()
        guard case .random(let hidden, let activation, let pieces) = s.network else {
            throw StrataError.invalidArgument(name: "network", reason: "a pretrained stack takes images; on feature files the network is a new one (hidden sizes, or none: logistic regression)")
        }
        guard !s.training.augmentation.isActive, s.training.teacher == nil, s.preprocessing.steps.isEmpty else {
            throw StrataError.invalidArgument(name: "feature files", reason: "augmentation, a teacher and preprocessing act on images; features train as they are")
        }
        if let note = files.sameFileNote { log(note) }
        let trainFile = try NPYRowFile(path: files.train)
        var trainLabels = try NPY.readIntegers(FeatureExtraction.labelsPath(for: files.train))
        let test = try NPY.read(files.test).tensor
        let testLabels = try NPY.readIntegers(FeatureExtraction.labelsPath(for: files.test))
        guard trainLabels.count == trainFile.rows else {
            throw StrataError.shapeMismatch(context: "\(FeatureExtraction.labelsPath(for: files.train)): one label per row of \(files.train)", expected: [trainFile.rows], found: [trainLabels.count])
        }
        guard test.rank == 2, test.columns == trainFile.columns, testLabels.count == test.rows else {
            throw StrataError.shapeMismatch(context: "\(files.test) and its labels: features like \(files.train)'s, one label per row",
                                            expected: [testLabels.count, trainFile.columns], found: test.shape)
        }
        let classNames = try Dataset.classNames(train: try Dataset(name: files.train, examples: Tensor(zeros: [trainLabels.count, 1]), labels: trainLabels),
                                                test: try Dataset(name: files.test, examples: Tensor(zeros: [testLabels.count, 1]), labels: testLabels))
        var examples: TrainingExamples = try files.blockRows.map { .file(trainFile, blockRows: $0) } ?? .memory(NPY.read(files.train).tensor)
        if let perClass = s.labelsPerClass {
            // Only the rows kept are read from the file (a few labels of a large feature set).
            let rows = try FewLabels.rows(trainLabels, classNames: classNames, perClass: perClass, seed: s.training.seed, log: log)
            let reader = try trainFile.open()
            var kept = Tensor(zeros: [rows.count, trainFile.columns])
            try kept.withUnsafeMutableBufferPointer { out in
                for (i, row) in rows.enumerated() { try reader.read(rows: row ..< row + 1, into: out.baseAddress! + i * trainFile.columns) }
            }
            (examples, trainLabels) = (.memory(kept), rows.map { trainLabels[$0] })
        }
        let validation = try HeldOut.count(s.validation, trainingExamples: trainLabels.count, log: log)
        let (rest, held) = try examples.holdingOut(last: validation)
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: trainFile.columns, hiddenSizes: hidden, activation: activation, pieces: pieces,
                                                             classes: classNames.count, seed: s.training.seed)
        log("fine-tuning \(network.sizes) (no pretraining) on \(rest.summary), validating on \(validation)")
        let split = trainLabels.count - validation
        let (training, note) = s.training.withMinimumUpdates(trainingExamples: split)
        if let note { log(note) }
        var tuner = FineTuner(configuration: training, folder: s.folder)
        (tuner.showProgress, tuner.resume, tuner.target) = (showProgress, s.resume, s.target)
        try splitByHiddenUnits(&tuner, network: network, log: log)
        let report = try tuner.train(&network, examples: rest, labels: Array(trainLabels[..<split]),
                                     validationX: held, validationLabels: Array(trainLabels[split...]))
        var contract = InputContract()
        contract.matrix = files.train
        let classifier = Classifier(head: .softmax(network), classNames: classNames, extra: contract.metadata)
        let evaluation = try EvaluatedClassifier.save(classifier, testImages: test, testLabels: testLabels, folder: s.folder,
                                                      numbers: ["best_validation_error": report.bestValidationError, "best_epoch": Double(report.bestEpoch),
                                                                "fine_tuning_seconds": report.seconds, "training_labels": Double(trainLabels.count)])
        logOutcome(report, evaluation, log: log)
        return Result(network: network, report: report, evaluation: evaluation, monitorPath: tuner.monitorPath)
    }
}
