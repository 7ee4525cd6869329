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

/// The main job's pipeline (scripts/quickstart.sh) at a tiny size: patches,
/// GCN + ZCA, a GRBM trained by score matching with pylearn2's quick-start
/// settings, a checkpoint with the preprocessing, and the filter picture.
@Suite struct QuickStartPipelineTests {
    /// 30 gray 12x12 images, each a bright bar at a random place and angle on noise, values 0..255.
    func strokeImages() -> Tensor {
        var random = RandomSource(seed: 12)
        var images = Tensor.uniform(shape: [30, 144], low: 0, high: 40, using: &random)
        for i in 0 ..< 30 {
            let vertical = random.next() % 2 == 0
            let position = Int(random.next() % 10) + 1
            for t in 0 ..< 12 {
                let (y, x) = vertical ? (t, position) : (position, t)
                images[i, y * 12 + x] = 255
            }
        }
        return images
    }

    @Test func patchesWhitenedGRBMCheckpointAndFilters() throws {
        let geometry = ImageGeometry(height: 12, width: 12)
        var random = RandomSource(seed: 1)
        var (patches, _) = try PatchExtractor.random(strokeImages(), geometry: geometry, window: (6, 6), count: 1500, using: &random)
        var pipeline = PreprocessingPipeline([GlobalContrastNormalization(useStd: true, sqrtBias: 10), ZCA(filterBias: 0.1)])
        try pipeline.fitTransform(&patches)

        var grbm = try RBM(.quickStartGRBM(visibleCount: 36, hiddenCount: 16))
        var config = TrainingConfiguration()
        (config.batchSize, config.learningRate, config.schedule, config.maxEpochs) = (5, 0.1, .monitorBasedDefaults, 3)
        config.earlyStopping = EarlyStopping(channel: "train_objective", proportionalDecrease: 0.01, patience: 1)
        let folder = TemporaryFolder()
        var trainer = Trainer(configuration: config, folder: folder.path)
        trainer.showProgress = false
        trainer.preprocessing = pipeline
        trainer.extraMetadata = ["image_geometry": "6x6x1"]
        let report = try trainer.train(&grbm, data: patches)
        let objective = report.log.values("train_objective").compactMap { $0 }
        #expect(objective[1] < objective[0], "SMD objective \(objective)")

        let checkpoint = try LearnerCheckpoint.read(trainer.checkpointPath)
        #expect(checkpoint.preprocessing.summary == "gcn -> zca")
        let geometryBack = try WeightViewer.geometry(of: checkpoint)
        #expect(geometryBack == ImageGeometry(height: 6, width: 6))
        let picture = try TileGrid().render(try WeightViewer.tiles(checkpoint, unwhiten: true), geometry: geometryBack)
        #expect(picture.width == 5 * 5 + 4 * 6 && picture.height == picture.width)
        // The saved model applies to new patches without refitting.
        var fresh = try PatchExtractor.random(strokeImages(), geometry: geometry, window: (6, 6), count: 10, using: &random).patches
        try checkpoint.preprocessing.transform(&fresh)
        #expect(checkpoint.learner.transform(fresh) == grbm.transform(fresh))
    }
}
