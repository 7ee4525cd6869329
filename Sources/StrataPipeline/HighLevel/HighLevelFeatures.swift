import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures

/// Le et al. (2012), "Building high-level features using large scale
/// unsupervised learning", at the scale of one machine: stages of locally
/// connected filters, L2 pooling and local contrast normalization
/// (``LocalFeatureStage``), trained greedily on whole images without labels,
/// then looked at as the paper does:
///
/// - each stage's filters drawn at their image positions (`stageK_filters.png`);
/// - the single-unit test (``SingleUnitTest``): for each class, the top
///   stage's best unit beside the best single pixel and the same network with
///   random weights (the paper's controls), in `single_unit.md`;
/// - that unit's top test images (`top_images.png`) and its optimal stimulus
///   (`optimal_stimuli.png`: the input of fixed norm that maximizes it, by gradient ascent);
/// - a linear SVM on the top stage's features;
/// - with `fine_tune`, the stages fine-tuned with a softmax layer on the
///   labels (``LocalFront``), saved as a classifier.
///
/// With `model_parallel: P` under `mpirun -np R*P`, each stage is split by
/// image rows over the P parts of each of R replicas (``ModelParallel``),
/// DistBelief's layout; the stage files are the ones one process writes.
public enum HighLevelFeatures {
    public struct Settings: Sendable {
        public var images = ImageSettings()
        public var stages: [LocalStageSettings] = []
        /// Parts each stage is split into (model parallelism); the job's ranks must be a multiple.
        public var modelParallel = 1
        public var singleUnit = true
        /// Whether a linear SVM is trained on the top stage's features (off: a run that only pretrains, such as a benchmark).
        public var svm = true
        /// Gradient-ascent steps of each optimal stimulus.
        public var stimulusSteps = 100
        /// The linear SVM's C candidates, chosen on held-out training examples.
        public var cGrid: [Float] = [0.01, 0.1, 1]
        /// Fine-tuning of the stages with a softmax layer on the labels (YAML `fine_tune:`); nil: none.
        public var fineTune: FineTuningConfiguration?
        /// Dense hidden layers between the stages and the softmax layer when fine-tuning (none by default), initialized as `finetune`'s random ones.
        public var fineTuneHidden: (sizes: [Int], activation: Activation, pieces: Int) = ([], .sigmoid, 1)
        public var validation: Int?
        public var folder = "runs/high_level_features"
        public var resume = false
        public var showProgress = true

        public init() {}

        /// The section's keys (`stages` and `fine_tune` are read apart).
        public static let keys = ["stages", "model_parallel", "single_unit", "svm", "stimulus_steps", "c_grid", "fine_tune"]

        /// Reads `model_parallel`, `single_unit`, `stimulus_steps` and `c_grid` (the stages are read one by one).
        public mutating func read(from s: SettingSource) throws {
            if let v = try s.positive("model_parallel", s.int) { modelParallel = v }
            if let v = try s.bool("single_unit") { singleUnit = v }
            if let v = try s.bool("svm") { svm = v }
            if let v = try s.int("stimulus_steps") {
                guard v >= 0 else { throw s.failure("stimulus_steps", "must be 0 or more, found \(v)") }
                stimulusSteps = v
            }
            if let v = try s.value("c_grid", parsePositiveNumbers) { cGrid = v }
        }
    }

    /// What a run found.
    public struct Result: Sendable {
        /// The trained stages, whole (empty on a split model's other parts, which hold only their own).
        public var stages: [LocalFeatureStage]
        /// NaN when no SVM was trained.
        public var svmTestAccuracy: Double
        /// The test accuracy of the stages fine-tuned with a softmax layer; NaN when not fine-tuned.
        public var fineTunedTestAccuracy = Double.nan
        /// Per class: the trained network's best unit, the best pixel's, the random network's best unit.
        public var units: [SingleUnitTest.Best], pixels: [SingleUnitTest.Best], random: [SingleUnitTest.Best]
        public var files: [String]
        /// Training seconds of each stage, and its monitor rows.
        public var seconds: [Double], logs: [MonitorLog]
    }

    /// Runs every stage, the pictures, the single-unit test and the SVM; `log` sees each line.
    public static func run(_ s: Settings, compute: Compute, log: @escaping StageLog = { print($0) }) throws -> Result {
        compute.apply()
        guard !s.stages.isEmpty else { throw StrataError.invalidArgument(name: "local_stages.stages", reason: "needs at least one stage") }
        let world = MPIWorld.current
        let split = try ModelParallel.split(s.modelParallel, world: world)
        let writes = (world?.rank ?? 0) == 0
        try AtomicFile.makeFolder(s.folder)
        let data = try prepare(s.images, log: log)
        var (train, test, geometry) = (data.train, data.test, data.geometry)
        var trained: [LocalFeatureStage] = [], everywhere: [LocalFeatureStage] = [], seconds: [Double] = [], logs: [MonitorLog] = []
        for (index, settings) in s.stages.enumerated() {
            let start = Date()
            let (stage, report) = try trainStage(index + 1, settings, input: geometry, train: train, split: split, s, log: log)
            seconds.append(Date().timeIntervalSince(start))
            logs.append(report.log)
            if index + 1 < s.stages.count || s.svm || s.singleUnit {
                log("stage \(index + 1): features of \(train.rows) training and \(test.rows) test images ...")
                (train, test) = (stage.transform(train, batchSize: 1000), stage.transform(test, batchSize: 1000))
            }
            geometry = stage.geometry.output
            if split != nil, s.fineTune != nil { everywhere.append(stage.wholeOnEveryPart()) } // fine-tuning cuts them again, each part its rows
            if let whole = (consume stage).gatheredForUse() { trained.append(whole) } // the first part holds the whole stage's weights; the others nothing
        }
        var files: [String] = []
        if writes {
            // The stack records its images and their preprocessing, so `strata finetune` and `features` read it alone.
            let recorded = s.images.contract(geometry: data.originalGeometry).metadata.merging(["image_geometry": encodeJSON(data.geometry)]) { $1 }
            try LayerStack(layers: trained, preprocessing: imagePreprocessing(data.originalGeometry), extra: recorded).write(to: s.folder + "/stack.safetensors")
            files.append(s.folder + "/stack.safetensors")
            for (index, stage) in trained.enumerated() { files.append(try drawFilters(stage, to: s.folder + "/stage\(index + 1)_filters.png")) }
        }
        // The classifier file reads raw images: its first steps interleave a color image's planes and standardize it.
        // Every part trains the SVM (the ranks share its classes); the first, which holds the whole stages, saves it.
        let saved = writes ? (trained, data, s.images.contract(geometry: data.originalGeometry)) : nil
        let accuracy = s.svm ? try svm(train: train, labels: data.trainLabels, test: test, testLabels: data.testLabels, classNames: data.classNames, s,
                                       classifier: saved, log: log) : .nan
        var result = Result(stages: trained, svmTestAccuracy: accuracy, units: [], pixels: [], random: [], files: files, seconds: seconds, logs: logs)
        if s.singleUnit && writes {
            try singleUnitStudy(&result, features: (train, test), data: data, s, log: log)
        }
        if let tuning = s.fineTune {
            result.fineTunedTestAccuracy = try fineTune(split == nil ? trained : everywhere, tuning, data: data, s, split: split,
                                                        contract: s.images.contract(geometry: data.originalGeometry), log: log)
        }
        return result
    }
}
