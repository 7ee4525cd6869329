import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// A one-vs-rest linear SVM on learned features: the stage behind
/// `strata finetune svm` and an experiment's `finetune: {svm: ...}`.
public enum SVMFineTuning {
    /// Where the features come from.
    public enum Features: Sendable {
        /// Computed here from a stack (convolutionally for a patch-trained one) on `images`.
        case stack(LayerStack, name: String, FeatureSettings)
        /// Read from `.npy` files, labels beside them (``FeatureExtraction/labelsPath(for:)``).
        case files(train: String, test: String)
    }

    /// Everything one SVM run needs: the features, the images, the hold-out, the SVM settings, the grid of C and the run folder.
    public struct Settings: Sendable {
        public var features: Features
        public var images: ImageSettings
        /// Hold out the last N training examples to choose C (nil: ``HeldOut/defaultCount(trainingExamples:)``).
        public var validation: Int?
        /// Train, and choose C, on this many labeled examples of each class only,
        /// drawn with the SVM's seed (``FewLabels``); nil: every training label.
        public var labelsPerClass: Int?
        public var svm = LinearSVM.Settings()
        /// Candidate values of C; nil: use `svm.c` as given.
        public var cGrid: [Float]? = SVMFineTuning.defaultCGrid
        /// Standardization: added to each feature's standard deviation.
        public var stdEps: Float = SVMFineTuning.defaultStdEps
        public var folder = "runs/svm"
        /// Skip the candidates of C that the run in `folder` already solved (`c_search.json`).
        public var resume = false

        public init(features: Features, images: ImageSettings) { (self.features, self.images) = (features, images) }
    }

    /// The trained SVM, its test evaluation, and the seconds spent on features and on the SVM.
    public struct Result: Sendable {
        public var svm: LinearSVM
        public var evaluation: EvaluatedClassifier
        public var featureSeconds: Double
        public var svmSeconds: Double
    }

    public static let keys = ["c", "c_grid", "loss", "solver", "tolerance", "max_iterations", "std_eps"]

    /// Reads the SVM's own settings (`c` given: no search; else `c_grid`).
    /// The candidate values of C when none is given (Coates et al.'s range, a decade apart).
    public static let defaultCGrid: [Float] = [0.001, 0.01, 0.1, 1]
    /// Added to each feature's standard deviation before the SVM (Coates et al.'s 0.01).
    public static let defaultStdEps: Float = 0.01

    public static func readSVM(from s: SettingSource) throws -> (svm: LinearSVM.Settings, grid: [Float]?, stdEps: Float) {
        var svm = LinearSVM.Settings()
        if let v = try s.positive("c", s.float) { svm.c = v }
        if let v = try s.value("loss", LinearSVM.Loss.init(parsing:)) { svm.loss = v }
        if let v = try s.value("solver", LinearSVM.Solver.init(parsing:)) { svm.solver = v }
        if let v = try s.positive("tolerance", s.float) { svm.tolerance = v }
        if let v = try s.positive("max_iterations", s.int) { svm.maxIterations = v }
        if s.has("c") { try s.refuse(["c_grid"], "is the search for C; c is given") }
        let grid = s.has("c") ? nil : try s.value("c_grid", parsePositiveNumbers) ?? defaultCGrid
        return (svm, grid, try s.positive("std_eps", s.float) ?? defaultStdEps)
    }

    /// Computes or reads the features, chooses C on the held-out examples when
    /// there is a grid, trains on all training examples, saves the classifier
    /// and evaluates it on the test split.
    public static func run(_ s: Settings, compute: Compute, log: @escaping StageLog = { print($0) }) throws -> Result {
        compute.apply()
        let start = Date()
        var settings = s.svm
        var f = try loadFeatures(s, compute: compute, log: log)
        let featureSeconds = Date().timeIntervalSince(start)
        var lastNote = Date()
        let primal = settings.resolvedSolver(examples: f.train.rows, features: f.train.columns) == .primal
        let steps = primal ? "Newton iterations" : "passes"
        let passes: (Int, Int) -> Void = { pass, unsolved in
            guard Date().timeIntervalSince(lastNote) >= 10 else { return }
            lastNote = Date()
            log(primal ? "  Newton iteration \(pass), \(unsolved) classes still being solved"
                       : "  pass \(pass), \(unsolved) of the first core's classes still being solved")
        }
        var warmStart: [[Float]]?
        var numbers = ["feature_seconds": featureSeconds]
        if let grid = s.cGrid {
            let validation = try HeldOut.count(s.validation, trainingExamples: f.train.rows, log: log)
            let identity = f.train.fingerprint + "," + Tensor.fingerprint(labels: f.trainLabels)
            var fixed = settings
            fixed.c = 0 // the candidate varies; the rest must match
            var search = try CSearchLog.start(in: s.folder, data: identity,
                                              settings: "validation \(validation), std_eps \(s.stdEps), \(encodeJSON(fixed))", resume: s.resume)
            for done in search.results where grid.contains(done.c) {
                log(String(format: "C %-8g validation accuracy %.2f%%  (solved by the earlier run)", done.c, 100 * done.validationAccuracy))
            }
            settings.c = try LinearSVM.chooseC(f.train, labels: f.trainLabels, classes: f.classNames.count, validation: validation, grid: grid,
                                               settings: settings, stdEps: s.stdEps, cores: compute.cores, finished: search.finished, note: log,
                                               starting: { lastNote = Date(); log(String(format: "C %g: training on %d examples ...", $0, f.train.rows - validation)) },
                                               progress: passes, chosen: { dual in
                // The held-out rows join the training rows for the final solve: they start at zero.
                warmStart = dual.map { $0 + [Float](repeating: 0, count: validation) }
            }) { candidate in
                let capped = candidate.iterations.upperBound >= settings.maxIterations ? ", some classes stopped at the limit" : ""
                log(String(format: "C %-8g validation accuracy %.2f%%  (%.1f s, %d-%d %@%@)", candidate.c, 100 * candidate.validationAccuracy,
                           candidate.seconds, candidate.iterations.lowerBound, candidate.iterations.upperBound, steps, capped))
                search.results.append(CSearchLog.Result(c: candidate.c, validationAccuracy: candidate.validationAccuracy))
                try? search.write(in: s.folder)
            }
            log(String(format: "chose C = %g", settings.c))
            // What a sweep compares runs by: the chosen C's accuracy on the held-out labels.
            numbers["validation_accuracy"] = search.results.last { $0.c == settings.c }?.validationAccuracy
        }
        log("training the SVM (C \(String(format: "%g", settings.c)), \(primal ? "primal Newton" : "dual coordinate descent")) on \(f.train.rows) x \(f.train.columns) features ...")
        lastNote = Date()
        let (svm, svmSeconds, result) = try LinearSVM.trainAndEvaluate(
            train: &f.train, labels: f.trainLabels, test: &f.test, testLabels: f.testLabels, settings: settings, stdEps: s.stdEps, extractor: f.extractor,
            classNames: f.classNames, metadata: f.contract.metadata, folder: s.folder, numbers: numbers,
            warmStart: warmStart, cores: compute.cores,
            progress: passes)
        log(String(format: "SVM (C %g, %@) on %d x %d features: %.1f s; objectives %@", settings.c, settings.loss.rawValue, f.train.rows, f.train.columns,
                   svmSeconds, svm.objectives.map { String(format: "%.4g", $0) }.joined(separator: " ")))
        if let warning = limitWarning(svm.iterations, limit: settings.maxIterations, steps: steps) { log(warning) }
        log(String(format: "test accuracy %.2f%% (%d of %d)", 100 * result.confusion.accuracy, result.confusion.correct, result.confusion.total))
        return Result(svm: svm, evaluation: result, featureSeconds: featureSeconds, svmSeconds: svmSeconds)
    }

    /// The warning LIBLINEAR gives when a solve stops at its iteration limit
    /// before the tolerance (its solution is then approximate), with how many
    /// of the classes did; nil when none did.
    static func limitWarning(_ iterations: [Int], limit: Int, steps: String) -> String? {
        let stopped = iterations.filter { $0 >= limit }.count
        guard stopped > 0 else { return nil }
        return "warning: \(stopped) of \(iterations.count) classes stopped at the limit of \(limit) \(steps) (max_iterations) before the tolerance: "
            + "their solutions are approximate; a larger max_iterations, or a smaller C, lets them finish"
    }

    /// Training and test features with their labels and class names, the
    /// extractor that made them (none for `.npy` files) and what they came from.
    struct LabeledFeatures {
        var train: Tensor, trainLabels: [Int]
        var test: Tensor, testLabels: [Int]
        var classNames: [String]
        var extractor: FeatureExtractor?
        var contract: InputContract
    }

    static func loadFeatures(_ s: Settings, compute: Compute, log: StageLog) throws -> LabeledFeatures {
        switch s.features {
        case .files(let trainPath, let testPath):
            if let note = SoftmaxFineTuning.FeatureFiles(train: trainPath, test: testPath).sameFileNote { log(note) }
            let trainX = try NPY.read(trainPath).tensor, testX = try NPY.read(testPath).tensor
            for (x, path) in [(trainX, trainPath), (testX, testPath)] where x.rank != 2 {
                throw StrataError.shapeMismatch(context: "\(path): features are 2-D, one example per row", expected: [-1, -1], found: x.shape)
            }
            guard trainX.columns == testX.columns else {
                throw StrataError.shapeMismatch(context: "\(testPath): features must match \(trainPath)", expected: [testX.rows, trainX.columns], found: testX.shape)
            }
            let trainY = try NPY.readIntegers(FeatureExtraction.labelsPath(for: trainPath)), testY = try NPY.readIntegers(FeatureExtraction.labelsPath(for: testPath))
            var train = try Dataset(name: trainPath, examples: trainX, labels: trainY)
            let test = try Dataset(name: testPath, examples: testX, labels: testY)
            let classNames = try Dataset.classNames(train: train, test: test)
            train.classNames = classNames
            train = try FewLabels.subset(train, perClass: s.labelsPerClass, seed: s.svm.seed, log: log)
            var contract = InputContract()
            contract.matrix = trainPath
            return LabeledFeatures(train: train.examples, trainLabels: train.labels!, test: testX, testLabels: testY,
                                   classNames: classNames, extractor: nil, contract: contract)
        case .stack(let stack, let name, let features):
            var contract = try InputContract(metadata: stack.extra, path: name)
            let (all, test, classNames) = try s.images.loadLabeled()
            if s.images.checkedAgainst?.selfTaught == true, let geometry = all.geometry {
                contract = contract.selfTaught(on: s.images.dataset, geometry: geometry)
                log("self-taught: \(name) learned its features on \(contract.taughtOn ?? "other images"); applied to \(all.name)'s \(geometry) images")
            }
            let train = try FewLabels.subset(all, perClass: s.labelsPerClass, seed: s.svm.seed, log: log) // only these images' features are computed
            let extractor = try features.extractor(for: stack, images: train.geometry)
            log(extractor.summary)
            let trainX = try features.extract(extractor, of: train, label: "train features", compute: compute)
            let testX = try features.extract(extractor, of: test, label: "test features", compute: compute)
            return LabeledFeatures(train: trainX, trainLabels: train.labels!, test: testX, testLabels: test.labels!,
                                   classNames: classNames, extractor: extractor, contract: contract)
        }
    }
}
