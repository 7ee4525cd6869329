import Foundation
import Strata
import Testing

/// The code of the DocC quick start article (Sources/Strata/Strata.docc/QuickStart.md)
/// compiles against the library and builds the tutorial's settings.
@Suite struct DocumentationTests {
    @Test func theQuickStartArticlesSettingsAreTheTutorials() throws {
        let images = ImageSettings(dataset: "fashion-mnist", pixelScale: 255)
        let window = InputContract.Window(height: 8, width: 8)
        let layer = try LayerSettings.read(
            learner: FlagSettings(["learner": "grbm", "hidden": "400", "objective": "smd:0.4",
                                   "init_sigma": "0.4", "init_hidden_bias": "-2"]),
            training: FlagSettings(["batch_size": "5", "learning_rate": "0.1", "lr_schedule": "monitor",
                                    "epochs": "100", "early_stopping": "train_objective"]))
        var settings = Pretraining.Settings(input: .images(images, patches: .init(window: window)), layer: layer)
        settings.preprocessing = PreprocessingPipeline([GlobalContrastNormalization(useStd: true, sqrtBias: 10),
                                                        ZCA(filterBias: 0.1)])
        let tutorial = try Experiment.read(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tutorials/grbm_smd/experiment.yaml").path)
        #expect(tutorial.layers.first?.training == layer.training)
        #expect(tutorial.preprocessing.summary == settings.preprocessing.summary)
    }
}
