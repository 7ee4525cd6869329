import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

@Suite struct DepthStudyTests {
    @Test func variantsAndSettingsReadWithTheStudyDefaults() throws {
        #expect(try DepthStudy.Variant(parsing: "relu+bn") == .init(activation: .relu, batchNorm: true))
        #expect(try DepthStudy.Variant(parsing: "pretrained") == .init(activation: nil))
        #expect(try DepthStudy.Variant(parsing: "Pretrained+BN").description == "pretrained+bn")
        for bad in ["relu+dropout", "maxout", "sigmoid+bn+bn", ""] { #expect(throws: (any Error).self, "\(bad)") { try DepthStudy.Variant(parsing: bad) } }
        let defaults = try DepthStudy.Settings.read(from: FlagSettings([:]))
        #expect(defaults.variants.map(\.description) == ["sigmoid", "sigmoid+bn", "relu", "relu+bn", "pretrained"])
        guard case .adam = defaults.training.optimizer else { Issue.record("Adam by default"); return }
        #expect(defaults.training.learningRate == Optimizer.adamLearningRate)
        #expect(defaults.training.patience == defaults.training.maxEpochs, "every epoch of the budget runs")
        let given = try DepthStudy.Settings.read(from: FlagSettings(["variants": "tanh, relu+bn", "epochs": "6", "optimizer": "nesterov",
                                                                      "learning_rate": "0.05", "target_accuracy": "0.9", "evaluate_every": "20"]))
        #expect(given.variants.map(\.description) == ["tanh", "relu+bn"])
        #expect((given.training.maxEpochs, given.training.patience, given.training.learningRate) == (6, 6, 0.05))
        #expect((given.targetAccuracy, given.evaluateEvery) == (Double(Float(0.9)), 20))
        #expect(throws: (any Error).self) { try DepthStudy.Settings.read(from: FlagSettings(["target_accuracy": "1.5"])) }
        #expect(throws: (any Error).self) { try DepthStudy.Settings.read(from: FlagSettings(["variants": "relu,bogus"])) }
    }

    /// The fine-tuner's time to accuracy: counted in updates at the measuring
    /// interval, within the run; nil when the target is out of reach.
    @Test func fineTunerReportsWhenTheTargetIsFirstReached() throws {
        func train(target: (error: Double, every: Int), spread: Float) throws -> FineTuner.Report {
            let (x, labels) = blobs(classes: 3, perClass: 120, dimensions: 8, spread: spread, seed: 5)
            var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 8, hiddenSizes: [16], activation: .relu, classes: 3, seed: 2)
            var configuration = FineTuningConfiguration()
            (configuration.maxEpochs, configuration.batchSize, configuration.learningRate) = (5, 20, 0.3)
            let folder = TemporaryFolder()
            var tuner = FineTuner(configuration: configuration, folder: folder.path)
            (tuner.showProgress, tuner.target) = (false, target)
            return try tuner.train(&network, x: x.rows(0 ..< 300), labels: Array(labels[..<300]),
                                   validationX: x.rows(300 ..< 360), validationLabels: Array(labels[300...]))
        }
        let easy = try train(target: (0.2, 3), spread: 0.4)
        let reached = try #require(easy.targetReached)
        #expect(reached.updates % 3 == 0 && reached.updates >= 3 && reached.updates <= 5 * 15)
        #expect(reached.seconds > 0 && reached.seconds <= easy.seconds)
        // Every update measured: reached no later than when measured every third.
        #expect(try #require(try train(target: (0.2, 1), spread: 0.4).targetReached).updates <= reached.updates)
        // Overlapping classes: no network classifies every validation example.
        #expect(try train(target: (0, 5), spread: 3).targetReached == nil)
    }

    @Test func tableAndChartShowWhatWasNotReached() throws {
        let rows = [DepthStudy.Row(variant: "relu", depth: 1, sizes: "4-3-2", updatesToTarget: 150, secondsToTarget: 1.5, bestValidationError: 0.1,
                                   testAccuracy: 0.9, seconds: 4, pretrainingSeconds: nil),
                    DepthStudy.Row(variant: "relu", depth: 2, sizes: "4-3-2-2", updatesToTarget: nil, secondsToTarget: nil, bestValidationError: 0.3,
                                   testAccuracy: 0.7, seconds: 5, pretrainingSeconds: nil),
                    DepthStudy.Row(variant: "pretrained", depth: 1, sizes: "4-3-2", updatesToTarget: 100, secondsToTarget: 1, bestValidationError: 0.1,
                                   testAccuracy: 0.91, seconds: 4, pretrainingSeconds: 12)]
        let table = DepthStudy.table(rows, targetAccuracy: 0.85)
        #expect(table.contains("| relu | 150 / 90.00% | — / 70.00% |"), "\(table)")
        #expect(table.contains("| pretrained | 1.0 / 4.0 (+12) |  |"), "\(table)")
        #expect(DepthStudy.csv(rows).split(separator: "\n")[2] == "relu,2,4-3-2-2,,,0.3000,0.7000,5.0000,")
        let chart = DepthStudy.chart(rows, targetAccuracy: 0.85, title: "t")
        #expect(chart.series.map(\.label) == ["relu", "pretrained"])
        #expect(chart.series[0].points[1].y.isNaN, "not reached: a break in the line")
        let png = try PNGImage.decode(try chart.pngData(), path: "chart")
        #expect(png.width == chart.width)
    }
}
