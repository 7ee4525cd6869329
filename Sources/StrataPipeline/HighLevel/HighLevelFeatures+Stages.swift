import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension HighLevelFeatures {
    /// The images as the stages read them: channels interleaved, each image
    /// standardized (its mean subtracted, divided by its standard deviation);
    /// and the original test images, for pictures.
    public struct Prepared: Sendable {
        public var train: Tensor, test: Tensor, originalTest: Tensor
        public var trainLabels: [Int], testLabels: [Int], classNames: [String]
        /// The stages' input geometry (interleaved) and the dataset's own.
        public var geometry: ImageGeometry, originalGeometry: ImageGeometry
    }

    static func prepare(_ images: ImageSettings, log: StageLog) throws -> Prepared {
        let (train, test, classNames) = try images.loadLabeled()
        guard let original = train.geometry, let trainLabels = train.labels, let testLabels = test.labels else {
            throw StrataError.invalidArgument(name: "dataset", reason: "\(train.name) has no image geometry or labels; local stages read labeled images")
        }
        let geometry = ImageGeometry(height: original.height, width: original.width, channels: original.channels, layout: .interleaved)
        let preprocessing = imagePreprocessing(original)
        func standardized(_ x: Tensor) throws -> Tensor {
            var out = x
            try preprocessing.transform(&out)
            return out
        }
        log("data: \(train.examples.rows) training and \(test.examples.rows) test images of \(original), each standardized (mean 0, deviation 1)")
        return Prepared(train: try standardized(train.examples), test: try standardized(test.examples), originalTest: test.examples,
                        trainLabels: trainLabels, testLabels: testLabels, classNames: classNames, geometry: geometry, originalGeometry: original)
    }

    /// Each image's mean subtracted and its standard deviation divided out: the stages' input, and the saved classifier's first step.
    static let standardizeImages = GlobalContrastNormalization(scale: 1, subtractMean: true, useStd: true, sqrtBias: 0, minDivisor: 1e-4)

    /// The images' way to the stages, and the saved classifier's first steps:
    /// color planes interleaved (a stage reads each pixel's channels
    /// together), then each image standardized.
    static func imagePreprocessing(_ g: ImageGeometry) -> PreprocessingPipeline {
        let interleave = g.layout == .planar && g.channels > 1 ? [ChannelInterleave(height: g.height, width: g.width, channels: g.channels)] : []
        return PreprocessingPipeline(interleave + [standardizeImages])
    }

    /// Trains stage `index` on `train` in `FOLDER/stageK` (resuming its
    /// checkpoint when asked), split by `split` when given; the stage (this
    /// process's part) and the trainer's report.
    static func trainStage(_ index: Int, _ settings: LocalStageSettings, input: ImageGeometry, train: Tensor, split: ModelParallel?,
                           _ s: Settings, log: StageLog) throws -> (LocalFeatureStage, Trainer.Report) {
        let configuration = try settings.configuration(input: input)
        var stage = try LocalFeatureStage(configuration, exchange: split)
        let g = configuration.geometry
        log("stage \(index): \(g); \(settings.summary)")
        log("stage \(index): \((settings.tied ? 1 : g.positions) * 2 * g.fieldSize * g.maps) weights"
            + (split == nil ? "" : "; " + describeSplit(g, tied: settings.tied, batch: settings.training.batchSize, split: split!)))
        var trainer = Trainer(configuration: settings.training, folder: s.folder + "/stage\(index)")
        trainer.modelSplit = split
        trainer.showProgress = s.showProgress
        trainer.extraMetadata = ["stage": "\(index)"]
        let resume = s.resume && FileManager.default.fileExists(atPath: trainer.checkpointPath)
        let report = try trainer.train(&stage, data: train, resume: resume)
        var line = "stage \(index): \(counted(report.epochs, "epoch"))" + String(format: ", %.1f s, objective %.5g", report.seconds, report.log.rows.last?["train_objective"] ?? .nan)
        if let split, stage.stepTraffic.steps > 0 {
            line += String(format: "; part %d sent %.1f KB per training step to its neighbours (%d steps)", split.part,
                           Double(stage.stepTraffic.values) * 4 / 1e3 / Double(stage.stepTraffic.steps), stage.stepTraffic.steps)
        }
        log(line)
        return (stage, report)
    }

    /// The plan of a split: each part's rows, weights, and the values crossing per step.
    static func describeSplit(_ g: LocalStageGeometry, tied: Bool, batch: Int, split: ModelParallel) -> String {
        guard let plan = try? LocalStagePartition.plan(g, parts: split.parts) else { return "" }
        let parts = plan.map { p in
            let weights = tied ? 2 * g.fieldSize * g.maps : 2 * p.positions(g).count * g.fieldSize * g.maps
            return "part \(p.part): filter rows \(p.filterRows.lowerBound)-\(p.filterRows.upperBound - 1), \(weights) weights, "
                + String(format: "sends %.1f KB per step", Double(p.valuesSentPerExample(g) * batch * 4) / 1e3)
        }
        return "split \(split.parts) ways by image rows (\(split.replicas.size) replica\(split.replicas.size == 1 ? "" : "s")): " + parts.joined(separator: "; ")
            + (tied ? "; tied weights: their gradients summed over the parts" : "")
    }
}
