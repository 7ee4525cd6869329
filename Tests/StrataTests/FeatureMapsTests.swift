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

/// A second stage of features: a stack trained on windows of a patch stack's
/// pooled maps, and features that run through both stages.
@Suite struct FeatureMapsTests {
    /// A K-means stack on 3x3 patches of the tiny image folder, written to `folder`, and the images.
    static func lowerStage(_ folder: TemporaryFolder) throws -> (path: String, stack: LayerStack, images: ImageSettings) {
        let images = ImageSettings(dataset: try writeTinyImageFolder(folder), pixelScale: 255)
        let first = try Pretraining.prepare(.images(images, patches: .init(window: .init(height: 3, width: 3), count: 40)),
                                            preprocessing: PreprocessingPipeline([GlobalContrastNormalization()]), patchSeed: 1)
        let stack = try first.base.appending(try KMeans(.init(visibleCount: 9, hiddenCount: 5, seed: 2)))
        let path = folder.file("lower.safetensors")
        try stack.write(to: path)
        return (path, stack, images)
    }

    static var mapSettings: FeatureSettings {
        var s = FeatureSettings()
        (s.pooling, s.encoding) = (Pooling(gridRows: 4, gridColumns: 4), .triangle)
        return s
    }

    /// The prepared windows are windows of the lower extractor's maps (4x4
    /// cells of 5 interleaved channels), and the contract records the lower stage.
    @Test func secondStageTrainsOnWindowsOfTheLowerStagesMaps() throws {
        let folder = TemporaryFolder()
        let (path, lowerStack, images) = try Self.lowerStage(folder)
        let data = try Pretraining.prepare(.maps(path: path, features: Self.mapSettings, dataset: nil, limit: nil, patches: .init(window: .init(height: 2, width: 2), count: 30)),
                                           preprocessing: PreprocessingPipeline(), patchSeed: 3)
        let maps = ImageGeometry(height: 4, width: 4, channels: 5, layout: .interleaved)
        #expect(data.contract.image == maps && data.contract.patchWindow == .init(height: 2, width: 2))
        #expect(data.contract.maps == LowerStage(stack: path, features: Self.mapSettings) && data.contract.pixelScale == 255)
        let loaded = try images.load()
        let lower = try Self.mapSettings.extractor(for: lowerStack, images: loaded.geometry)
        #expect(lower.mapGeometry == maps)
        var random = RandomSource(seed: 3)
        let expected = try PatchExtractor.random(try lower.extract(loaded.examples), geometry: maps, window: (2, 2), count: 30, using: &random).patches
        #expect(try data.examples.inMemory() == expected)
        // Made 7 images at a time, the maps give the same windows.
        let parts = try Pretraining.mapWindows(lower, of: loaded.examples, geometry: maps, window: (2, 2), count: 30, seed: 3, imagesPerBatch: 16, imagesPerPart: 7)
        #expect(parts == expected)
        // The contract survives the stack file.
        let upper = try data.base.appending(try KMeans(.init(visibleCount: 20, hiddenCount: 6, seed: 4)))
        try upper.write(to: folder.file("upper.safetensors"))
        #expect(try InputContract(metadata: LayerStack.read(folder.file("upper.safetensors")).extra).maps == data.contract.maps)
    }

    /// Features of the upper stack equal the lower maps run through the upper
    /// stage on its own, on one core or two; the classifier file holds both
    /// stages and scores alike after reading; a missing lower stack is named.
    @Test func twoStageFeaturesComposeTheStages() throws {
        let folder = TemporaryFolder()
        let (path, lowerStack, images) = try Self.lowerStage(folder)
        let data = try Pretraining.prepare(.maps(path: path, features: Self.mapSettings, dataset: nil, limit: nil, patches: .init(window: .init(height: 2, width: 2), count: 30)),
                                           preprocessing: PreprocessingPipeline([GlobalContrastNormalization()]), patchSeed: 3)
        let upper = try data.base.appending(try KMeans(.init(visibleCount: 20, hiddenCount: 6, seed: 4)))
        let loaded = try images.load()
        let pooling = Pooling(gridRows: 2, gridColumns: 2)
        let extractor = try FeatureExtractor(stack: upper, images: loaded.geometry, pooling: pooling, encoding: .triangle)
        #expect(extractor.lowerStage != nil && extractor.inputCount == 144 && extractor.outputCount == 24)
        let features = try extractor.extract(loaded.examples, imagesPerBatch: 3, cores: 1)
        let lower = try Self.mapSettings.extractor(for: lowerStack, images: loaded.geometry)
        let alone = try FeatureExtractor(stack: upper, convolution: Convolution(image: lower.mapGeometry!, window: (2, 2), stride: (1, 1), pooling: pooling), encoding: .triangle)
        #expect(features == (try alone.extract(try lower.extract(loaded.examples))))
        #expect(features == (try extractor.extract(loaded.examples, imagesPerBatch: 5, cores: 2)))

        let svm = try LinearSVM.train(features, labels: loaded.labels!, classes: 2, settings: .init(c: 1))
        let classifier = Classifier(head: .svm(svm), extractor: extractor, classNames: ["left", "top"], extra: upper.extra)
        try classifier.write(to: folder.file("classifier.safetensors"))
        try FileManager.default.removeItem(atPath: path)
        let read = try Classifier.read(folder.file("classifier.safetensors"))
        #expect(read.inputCount == 144 && read.extractor?.lowerStage?.stack.sizes == lowerStack.sizes)
        #expect(try read.scores(loaded.examples) == (try classifier.scores(loaded.examples)))
        #expect(strataError { _ = try FeatureExtractor(stack: upper, images: loaded.geometry) }?.description.contains("lower.safetensors is missing") == true)
    }

    /// The lower maps pooled again over a coarser grid equal the lower stage
    /// pooled over that grid from the images (max exactly, the others to
    /// rounding: the sums are added in another order), and follow the upper stage's features; such a classifier
    /// keeps them through its file, and its exported plan (two branches) gives its scores.
    @Test(arguments: [Pooling.Operation.sum, .mean, .l2, .max])
    func lowerMapsPooledAgainEqualTheLowerStagePooledDirectly(_ operation: Pooling.Operation) throws {
        let folder = TemporaryFolder()
        let (path, lowerStack, images) = try Self.lowerStage(folder)
        var settings = Self.mapSettings
        settings.pooling.operation = operation
        let data = try Pretraining.prepare(.maps(path: path, features: settings, dataset: nil, limit: nil, patches: .init(window: .init(height: 2, width: 2), count: 30)),
                                           preprocessing: PreprocessingPipeline(), patchSeed: 3)
        let upper = try data.base.appending(try KMeans(.init(visibleCount: 20, hiddenCount: 6, seed: 4)))
        let loaded = try images.load()
        let extractor = try FeatureExtractor(stack: upper, images: loaded.geometry, pooling: Pooling(gridRows: 1, gridColumns: 1), encoding: .triangle,
                                             lowerPool: Pooling(gridRows: 2, gridColumns: 2))
        #expect(extractor.ownOutputCount == 6 && extractor.outputCount == 6 + 4 * 5)
        let features = try extractor.extract(loaded.examples)
        var coarse = settings
        coarse.pooling = Pooling(gridRows: 2, gridColumns: 2, operation: operation)
        let direct = try coarse.extractor(for: lowerStack, images: loaded.geometry).extract(loaded.examples)
        let alone = try FeatureExtractor(stack: upper, images: loaded.geometry, pooling: Pooling(gridRows: 1, gridColumns: 1), encoding: .triangle).extract(loaded.examples)
        var worst: Float = 0
        for r in 0 ..< features.rows {
            for j in 0 ..< 6 { #expect(features[r, j] == alone[r, j]) }
            for j in 0 ..< 20 { worst = max(worst, abs(features[r, 6 + j] - direct[r, j]) / max(1, abs(direct[r, j]))) }
        }
        #expect(operation == .max ? worst == 0 : worst < 1e-5, "\(operation): \(worst)")

        let svm = try LinearSVM.train(features, labels: loaded.labels!, classes: 2, settings: .init(c: 1))
        let classifier = Classifier(head: .svm(svm), extractor: extractor, classNames: ["left", "top"], extra: upper.extra)
        try classifier.write(to: folder.file("classifier.safetensors"))
        let read = try Classifier.read(folder.file("classifier.safetensors"))
        #expect(read.extractor?.lowerPooling == Pooling(gridRows: 2, gridColumns: 2, operation: operation))
        #expect(try read.scores(loaded.examples) == (try classifier.scores(loaded.examples)))
        let plan = try InferencePlan(classifier: read)
        #expect(plan.summary.contains("side by side") && plan.widths.last == 2)
        var raw = images
        raw.pixelScale = 1 // the plan scales the pixels as the contract says
        let (planned, scored) = (try plan.apply(try raw.load().examples), try read.scores(loaded.examples))
        #expect(maxDifference(planned, scored) < 1e-4 * max(1, scored.scalars.map(abs).max()!))
        // The grid must divide the maps' 4x4; a one-stage stack has nothing to append.
        #expect(strataError { _ = try FeatureExtractor(stack: upper, images: loaded.geometry, lowerPool: Pooling(gridRows: 3, gridColumns: 3)) }?
            .description.contains("must divide the lower maps' 4x4 grid") == true)
        #expect(strataError { _ = try FeatureExtractor(stack: lowerStack, images: loaded.geometry, lowerPool: Pooling(gridRows: 2, gridColumns: 2)) }?
            .description.contains("no lower stage") == true)
    }

    /// A stack whose lower stages lead back to itself, and a classifier file
    /// with more nested stages than the limit, are refused, not followed forever.
    @Test func cyclesAndTooManyStagesAreRefused() throws {
        let folder = TemporaryFolder()
        let (path, _, images) = try Self.lowerStage(folder)
        let data = try Pretraining.prepare(.maps(path: path, features: Self.mapSettings, dataset: nil, limit: nil, patches: .init(window: .init(height: 2, width: 2), count: 30)),
                                           preprocessing: PreprocessingPipeline(), patchSeed: 3)
        let upper = try data.base.appending(try KMeans(.init(visibleCount: 20, hiddenCount: 6, seed: 4)))
        // Its lower stage is itself.
        var contract = data.contract
        contract.maps?.stack = folder.file("loop.safetensors")
        var looping = upper
        looping.extra = contract.metadata
        try looping.write(to: folder.file("loop.safetensors"))
        let geometry = try images.load().geometry
        let loop = strataError { _ = try FeatureExtractor(stack: LayerStack.read(folder.file("loop.safetensors")), images: geometry) }
        #expect(loop?.description.contains("more than \(LowerStage.maximumStages) stages") == true, "\(loop?.description ?? "accepted")")
        // A classifier file whose lower stages nest deeper than the limit.
        let extractor = try FeatureExtractor(stack: upper, images: geometry, pooling: Pooling(gridRows: 1, gridColumns: 1), encoding: .triangle)
        let svm = try LinearSVM.train(try extractor.extract(images.load().examples), labels: try images.load().labels!, classes: 2, settings: .init(c: 1))
        try Classifier(head: .svm(svm), extractor: extractor, classNames: ["left", "top"], extra: upper.extra).write(to: folder.file("c.safetensors"))
        var file = try SafeTensors.read(folder.file("c.safetensors"))
        let lowerPrefix = "extractor_lower"
        for level in 2 ... LowerStage.maximumStages + 1 {
            let deeper = "extractor" + String(repeating: "_lower", count: level)
            for (name, tensor) in file.tensors where name.hasPrefix(lowerPrefix + ".") { file.tensors[deeper + name.dropFirst(lowerPrefix.count)] = tensor }
            for (key, value) in file.metadata where key.hasPrefix(lowerPrefix) && !key.hasPrefix(lowerPrefix + "_lower") {
                file.metadata[deeper + key.dropFirst(lowerPrefix.count)] = value
            }
        }
        let deep = strataError { _ = try Classifier.read(safeTensors: file, path: "deep.safetensors") }
        #expect(deep?.description.contains("more than \(LowerStage.maximumStages) stages") == true, "\(deep?.description ?? "accepted")")
    }

    /// Maps need a patch-trained lower stack and a window they can hold.
    @Test func mapsOfAStackWithoutPatchesAreRefused() throws {
        let folder = TemporaryFolder()
        let images = ImageSettings(dataset: try writeTinyImageFolder(folder), pixelScale: 255)
        let whole = try Pretraining.prepare(.images(images, patches: nil), preprocessing: PreprocessingPipeline(), patchSeed: 1)
        let stack = try whole.base.appending(try KMeans(.init(visibleCount: 144, hiddenCount: 3, seed: 1)))
        try stack.write(to: folder.file("whole.safetensors"))
        let error = strataError {
            _ = try Pretraining.prepare(.maps(path: folder.file("whole.safetensors"), features: Self.mapSettings, dataset: nil, limit: nil,
                                              patches: .init(window: .init(height: 2, width: 2), count: 5)), preprocessing: PreprocessingPipeline(), patchSeed: 1)
        }
        #expect(error?.description.contains("was not trained on patches") == true)
        // A window larger than the maps is refused before they are computed.
        let (path, _, _) = try Self.lowerStage(folder)
        let tooLarge = strataError {
            _ = try Pretraining.prepare(.maps(path: path, features: Self.mapSettings, dataset: nil, limit: nil, patches: .init(window: .init(height: 5, width: 5), count: 5)),
                                        preprocessing: PreprocessingPipeline(), patchSeed: 1)
        }
        #expect(tooLarge?.description.contains("5x5 is larger than the 4x4") == true, "\(tooLarge?.description ?? "accepted")")
        // So is a window count past the tensor limit, before anything is allocated.
        let tooMany = strataError {
            _ = try Pretraining.prepare(.maps(path: path, features: Self.mapSettings, dataset: nil, limit: nil, patches: .init(window: .init(height: 2, width: 2), count: Int.max / 2)),
                                        preprocessing: PreprocessingPipeline(), patchSeed: 1)
        }
        #expect(tooMany?.description.contains("STRATA_MAX_TENSOR_ELEMENTS") == true, "\(tooMany?.description ?? "accepted")")
    }
}
