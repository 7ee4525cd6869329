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

@Suite struct StackTests {
    func smallAutoencoder(_ v: Int, _ h: Int, seed: UInt64) throws -> Autoencoder {
        var c = Autoencoder.Configuration(visibleCount: v, hiddenCount: h)
        (c.irange, c.seed) = (0.5, seed)
        return try Autoencoder(c)
    }

    @Test func savesLoadsAndExtendsWithoutTouchingLowerLayers() throws {
        var rbmConfig = RBM.Configuration(visibleCount: 6, hiddenCount: 5, visibleUnits: .gaussian, objective: .scoreMatching(noise: 0.4))
        rbmConfig.initSigma = 0.7
        let stack = try LayerStack(layers: [try RBM(rbmConfig), try smallAutoencoder(5, 3, seed: 2)],
                                   preprocessing: PreprocessingPipeline([GlobalContrastNormalization()]), extra: ["pixel_scale": "255"])
        #expect(stack.sizes == "6-5-3")
        var random = RandomSource(seed: 1)
        let x = Tensor.uniform(shape: [4, 6], low: 0, high: 1, using: &random)
        let folder = TemporaryFolder()
        try stack.write(to: folder.file("stack.safetensors"))
        let loaded = try LayerStack.read(folder.file("stack.safetensors"))
        #expect(loaded.sizes == "6-5-3" && loaded.extra["pixel_scale"] == "255")
        #expect(try loaded.features(ofRaw: x) == (try stack.features(ofRaw: x)))
        // The dense layers compute the same as transform (the GRBM's sigma folded in).
        var p = x
        try stack.preprocessing.transform(&p)
        let viaLayers = stack.denseLayers.reduce(p) { $1.forward($0) }
        #expect(maxDifference(viaLayers, try stack.transform(p)) < 1e-5)
        // Extend by one layer; the lower layers' features are unchanged.
        let extended = try loaded.appending(try smallAutoencoder(3, 2, seed: 3))
        #expect(try extended.transform(p, depth: 2) == (try loaded.transform(p)))
        #expect(strataError { _ = try loaded.appending(try smallAutoencoder(4, 2, seed: 3)) }?.description.contains("outputs 3 features") == true)
        #expect(strataError { _ = try loaded.transform(Tensor(zeros: [2, 7])) }?.description.contains("takes 6 features") == true)
    }

    @Test func readsALayerCheckpointAsAOneLayerStack() throws {
        let folder = TemporaryFolder()
        let model = try smallAutoencoder(4, 3, seed: 1)
        try LearnerCheckpoint(learner: model, extra: ["patch_window": "2x2"]).write(to: folder.file("model.safetensors"))
        let stack = try LayerStack.read(folder.file("model.safetensors"))
        #expect(stack.sizes == "4-3" && stack.extra["patch_window"] == "2x2")
    }
}

@Suite struct PretrainingDataTests {
    /// Patches record their window in the input contract, so a stack trained on
    /// them is applied convolutionally to whole images later, without being told how.
    @Test func patchDataLeadsToAConvolutionalExtractor() throws {
        let folder = TemporaryFolder()
        let images = ImageSettings(dataset: try writeTinyImageFolder(folder), pixelScale: 255)
        let data = try Pretraining.prepare(.images(images, patches: .init(window: .init(height: 3, width: 3), count: 20)),
                                           preprocessing: PreprocessingPipeline([GlobalContrastNormalization()]), patchSeed: 1)
        #expect(try data.examples.inMemory().shape == [20, 9])
        #expect(data.contract.patchWindow == .init(height: 3, width: 3) && data.contract.pixelScale == 255)
        #expect(data.contract.image == ImageGeometry(height: 12, width: 12) && data.contract.exampleGeometry == ImageGeometry(height: 3, width: 3))
        // The pipeline was fitted and applied: each GCN'd patch has mean 0.
        #expect(abs(try data.examples.inMemory().rows(0 ..< 1).scalars.reduce(0, +)) < 1e-4)
        let stack = try data.base.appending(try Autoencoder(.init(visibleCount: 9, hiddenCount: 4)))
        let extractor = try FeatureExtractor(stack: stack, images: data.contract.image, stride: (1, 1), pooling: Pooling(gridRows: 2, gridColumns: 1))
        #expect(extractor.convolution?.windowHeight == 3 && extractor.outputCount == 8)
        let loaded = try images.load()
        #expect(try extractor.extract(loaded.examples, imagesPerBatch: 2).shape == [60, 8])
        // Whole images: no window, a per-example extractor.
        let whole = try Pretraining.prepare(.images(images, patches: nil), preprocessing: PreprocessingPipeline(), patchSeed: 1)
        #expect(whole.contract.patchWindow == nil && whole.contract.exampleGeometry == ImageGeometry(height: 12, width: 12))
        let flat = try Dataset(name: "vectors", examples: Tensor(zeros: [2, 30]))
        #expect(strataError { _ = try PretrainingData(images: flat, window: (3, 3), patchCount: 5, seed: 1, pipeline: PreprocessingPipeline()) }?
            .description.contains("no image geometry") == true)
    }

    /// Files of the previous version kept the contract in loose keys; they still load.
    @Test func legacyMetadataReadsAsAContract() throws {
        let legacy = try InputContract(metadata: ["source": "mnist/train", "pixel_scale": "255.0", "binarize": "1", "image_geometry": "8x8x3", "patch_window": "8x8"])
        #expect(legacy.dataset == "mnist" && legacy.split == "train" && legacy.pixelScale == 255 && legacy.binarize)
        #expect(legacy.patchWindow == .init(height: 8, width: 8) && legacy.exampleGeometry == ImageGeometry(height: 8, width: 8, channels: 3))
        let current = InputContract(dataset: "cifar10", image: ImageGeometry(height: 32, width: 32, channels: 3), pixelScale: 1, patchWindow: .init(height: 6, width: 6))
        #expect(try InputContract(metadata: current.metadata) == current)
        #expect(strataError { _ = try InputContract(metadata: ["image_geometry": "4294967296x4294967296x1"]) }?.description.contains("image_geometry") == true)
        #expect(strataError { _ = try InputContract(metadata: ["pixel_scale": "nan"]) }?.description.contains("pixel_scale") == true)
    }
}

@Suite struct ConvolutionalFeatureTests {
    @Test(arguments: [Pooling.Operation.sum, .mean, .max, .l2])
    func matchesANaiveComputation(_ operation: Pooling.Operation) throws {
        let geometry = ImageGeometry(height: 7, width: 6)
        var random = RandomSource(seed: 9)
        let images = Tensor.uniform(shape: [5, 42], low: 0, high: 1, using: &random)
        var c = Autoencoder.Configuration(visibleCount: 9, hiddenCount: 4)
        c.irange = 0.6
        let stack = try LayerStack(layers: [try Autoencoder(c)], preprocessing: PreprocessingPipeline([RemoveExampleMean()]))
        let convolution = Convolution(image: geometry, window: (3, 3), stride: (2, 1), pooling: Pooling(gridRows: 2, gridColumns: 2, operation: operation))
        let extractor = try FeatureExtractor(stack: stack, convolution: convolution)
        let features = try extractor.extract(images, imagesPerBatch: 2)
        #expect(features.shape == [5, 16])
        // Positions: rows 0, 2, 4 (3 of them) and columns 0...3 (4); regions split them 3 -> {0} {1,2}? no: r * 2 / 3.
        for n in 0 ..< 5 {
            var expected = [Float](repeating: operation == .max ? -.infinity : 0, count: 16)
            var counts = [Float](repeating: 0, count: 4)
            for (ri, top) in [0, 2, 4].enumerated() {
                for left in 0 ..< 4 {
                    var patch = Tensor(zeros: [1, 9])
                    for dy in 0 ..< 3 { for dx in 0 ..< 3 { patch.scalars[dy * 3 + dx] = images[n, (top + dy) * 6 + left + dx] } }
                    let h = try stack.features(ofRaw: patch)
                    let region = (ri * 2 / 3) * 2 + left * 2 / 4
                    counts[region] += 1
                    for j in 0 ..< 4 {
                        let k = region * 4 + j
                        let v = h.scalars[j]
                        expected[k] = operation == .max ? max(expected[k], v) : expected[k] + (operation == .l2 ? v * v : v)
                    }
                }
            }
            if operation == .mean { for k in 0 ..< 16 { expected[k] /= counts[k / 4] } }
            if operation == .l2 { for k in 0 ..< 16 { expected[k] = expected[k].squareRoot() } }
            for k in 0 ..< 16 { #expect(abs(features[n, k] - expected[k]) < 1e-4, "image \(n) feature \(k)") }
        }
    }

    @Test func refusesPatchesOfTheWrongSizeAndAGridLargerThanTheMap() throws {
        let stack = try LayerStack(layers: [try Autoencoder(.init(visibleCount: 9, hiddenCount: 2))])
        let geometry = ImageGeometry(height: 6, width: 6)
        #expect(strataError { _ = try FeatureExtractor(stack: stack, convolution: Convolution(image: geometry, window: (2, 2), stride: (1, 1))) }?
            .description.contains("trained on 9 features") == true)
        #expect(strataError { _ = try FeatureExtractor(stack: stack, convolution: Convolution(image: geometry, window: (3, 3), stride: (3, 3), pooling: Pooling(gridRows: 3, gridColumns: 1))) }?
            .description.contains("pooling grid") == true)
    }
}

@Suite struct ClassifierFileTests {
    @Test func softmaxAndSVMClassifiersPredictTheSameAfterSaving() throws {
        let (x, labels) = blobs(classes: 3, perClass: 20, dimensions: 9, seed: 4)
        let folder = TemporaryFolder()
        var c = Autoencoder.Configuration(visibleCount: 9, hiddenCount: 5)
        c.irange = 0.5
        let stack = try LayerStack(layers: [try Autoencoder(c)], preprocessing: PreprocessingPipeline([RemoveExampleMean()]))
        let network = try SoftmaxNetwork(hidden: stack.denseLayers, inputCount: 9, classes: 3, irange: 0.5)
        let softmax = Classifier(head: .softmax(network), preprocessing: stack.preprocessing, classNames: ["a", "b", "c"], extra: ["pixel_scale": "1.0"])
        try softmax.write(to: folder.file("softmax.safetensors"))
        let softmaxBack = try Classifier.read(folder.file("softmax.safetensors"))
        #expect(maxDifference(try softmaxBack.scores(x), try softmax.scores(x)) < 1e-6)
        #expect(softmaxBack.extra["pixel_scale"] == "1.0" && softmaxBack.classNames == ["a", "b", "c"])

        let extractor = try FeatureExtractor(stack: stack)
        let svm = try LinearSVM.train(try extractor.extract(x), labels: labels, classes: 3, settings: .init(c: 1))
        let svmClassifier = Classifier(head: .svm(svm), extractor: extractor, classNames: ["a", "b", "c"])
        try svmClassifier.write(to: folder.file("svm.safetensors"))
        let svmBack = try Classifier.read(folder.file("svm.safetensors"))
        #expect(try svmBack.predict(x) == (try svmClassifier.predict(x)))
        #expect(strataError { _ = try svmBack.scores(Tensor(zeros: [1, 4])) }?.description.contains("expected shape [1, 9]") == true)
        #expect(strataError { _ = try Classifier.read(folder.file("nothing.safetensors")) } != nil)
    }
}

@Suite struct SoftThresholdEncodingTests {
    /// Coates and Ng's encoder: unit-norm filters, both polarities, threshold alpha;
    /// checked against a per-entry computation, and kept by a saved classifier.
    @Test func matchesThePerEntryFormulaAndSurvivesSaving() throws {
        var c = Autoencoder.Configuration(visibleCount: 6, hiddenCount: 4)
        (c.irange, c.seed) = (0.8, 5)
        let model = try Autoencoder(c)
        let stack = try LayerStack(layers: [model])
        var random = RandomSource(seed: 2)
        let x = Tensor.normal(shape: [5, 6], using: &random)
        let alpha: Float = 0.3
        let extractor = try FeatureExtractor(stack: stack, encoding: .softThreshold(alpha: alpha))
        let f = try extractor.extract(x)
        #expect(f.shape == [5, 8] && extractor.outputCount == 8)
        let w = model.filters
        for i in 0 ..< 5 {
            for j in 0 ..< 4 {
                var dot: Float = 0, norm: Float = 0
                for k in 0 ..< 6 { dot += x[i, k] * w[k, j]; norm += w[k, j] * w[k, j] }
                let z = dot / norm.squareRoot()
                #expect(abs(f[i, j] - max(0, z - alpha)) < 1e-5)
                #expect(abs(f[i, 4 + j] - max(0, -z - alpha)) < 1e-5)
            }
        }
        let labels = (0 ..< 5).map { $0 % 2 }
        let svm = try LinearSVM.train(f, labels: labels, classes: 2, settings: .init(c: 1))
        let folder = TemporaryFolder()
        try Classifier(head: .svm(svm), extractor: extractor, classNames: ["a", "b"]).write(to: folder.file("c.safetensors"))
        let back = try Classifier.read(folder.file("c.safetensors"))
        #expect(back.extractor?.encoding == .softThreshold(alpha: alpha))
        #expect(try back.extractor!.extract(x) == f)
        #expect(try Encoding(parsing: "soft-threshold:0.25") == .softThreshold(alpha: 0.25))
        #expect(try Encoding(parsing: "soft_threshold:0.25") == .softThreshold(alpha: 0.25))
        #expect(throws: SettingError("'soft-threshold' is not means, soft_threshold:ALPHA (for example soft_threshold:0.25), triangle or hard")) { try Encoding(parsing: "soft-threshold") }
    }
}
