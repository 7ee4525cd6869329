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
import SwiftProtobuf
import Testing

/// Classifiers shaped like the tutorials' (a softmax network over a GRBM +
/// autoencoder stack with GCN and ZCA; the single-layer SVM pipeline with
/// convolutional soft-threshold features pooled over a grid) and raw images
/// for them, small enough for a debug build.
enum ExportFixtures {
    static let geometry = ImageGeometry(height: 12, width: 12)

    /// Color images, channel planes one after the other (CIFAR-10's layout).
    static let colorGeometry = ImageGeometry(height: 8, width: 8, channels: 3)

    /// `count` raw images of `size` values (the gray fixtures' by default),
    /// whole values in 0...255 (the fixtures' contract scales them by 1/255).
    static func images(_ count: Int, seed: UInt64 = 7, size: Int = geometry.size) -> Tensor {
        var random = RandomSource(seed: seed)
        var x = Tensor.uniform(shape: [count, size], low: 0, high: 255, using: &random)
        x.apply { $0.rounded() }
        return x
    }

    static func contract(window: Int? = nil, binarize: Bool = false) -> [String: String] {
        InputContract(dataset: "fashion-mnist", image: geometry, pixelScale: 1 / 255, binarize: binarize,
                      patchWindow: window.map { .init(height: $0, width: $0) }).metadata
    }

    /// A fitted GCN + ZCA pipeline on `width` values per row.
    static func preprocessing(width: Int, seed: UInt64) throws -> PreprocessingPipeline {
        var random = RandomSource(seed: seed)
        var data = Tensor.uniform(shape: [400, width], low: 0, high: 1, using: &random)
        var pipeline = PreprocessingPipeline([GlobalContrastNormalization(useStd: true, sqrtBias: 10), ZCA(filterBias: 0.1)])
        try pipeline.fitTransform(&data)
        return pipeline
    }

    /// A GRBM (sigma 0.4) then a tanh autoencoder, over `visible` inputs.
    static func stack(visible: Int, hidden: [Int], preprocessing: PreprocessingPipeline, extra: [String: String]) throws -> LayerStack {
        var r = RBM.Configuration(visibleCount: visible, hiddenCount: hidden[0], visibleUnits: .gaussian, objective: .contrastiveDivergence(steps: 1))
        (r.irange, r.initSigma, r.seed) = (0.3, 0.4, 3)
        var a = Autoencoder.Configuration(visibleCount: hidden[0], hiddenCount: hidden[1])
        (a.irange, a.encoder, a.seed) = (0.5, .tanh, 4)
        return try LayerStack(layers: [try RBM(r), try Autoencoder(a)], preprocessing: preprocessing, extra: extra)
    }

    static func softmax() throws -> Classifier {
        let extra = contract()
        let stack = try stack(visible: geometry.size, hidden: [20, 12], preprocessing: try preprocessing(width: geometry.size, seed: 1), extra: extra)
        let network = try SoftmaxNetwork(hidden: stack.denseLayers, inputCount: geometry.size, classes: 4, irange: 0.8, seed: 2)
        return Classifier(head: .softmax(network), preprocessing: stack.preprocessing, classNames: ["a", "b", "c", "d"], extra: extra)
    }

    /// The single-layer pipeline: 4x4 windows at stride 2, `encoding`, `pooling`, standardized features, an SVM.
    /// With `kmeans`, the layer is a K-means layer (whose own features are the triangle encoding).
    static func svm(encoding: Encoding = .softThreshold(alpha: 0.25), pooling: Pooling = Pooling(), binarize: Bool = false, kmeans: Bool = false) throws -> Classifier {
        let extra = contract(window: 4, binarize: binarize)
        let patches = try preprocessing(width: 16, seed: 5)
        var r = RBM.Configuration(visibleCount: 16, hiddenCount: 10, visibleUnits: .gaussian, objective: .contrastiveDivergence(steps: 1))
        (r.irange, r.initSigma, r.seed) = (0.3, 0.4, 6)
        let layer: any UnsupervisedLearner = kmeans ? try KMeans(.init(visibleCount: 16, hiddenCount: 10, seed: 6)) : try RBM(r)
        let stack = try LayerStack(layers: [layer], preprocessing: patches, extra: extra)
        let extractor = try FeatureExtractor(stack: stack, images: geometry, stride: (2, 2), pooling: pooling, encoding: encoding)
        return try svmClassifier(extractor, extra: extra)
    }

    /// An SVM (C 1) on `extractor`'s standardized features of 120 fixture images in three classes.
    static func svmClassifier(_ extractor: FeatureExtractor, extra: [String: String]) throws -> Classifier {
        var treated = try Dataset(name: "fixture", examples: images(120, seed: 9, size: extractor.inputCount), labels: (0 ..< 120).map { $0 % 3 })
        try InputContract(metadata: extra).treat(&treated)
        var features = try extractor.extract(treated.examples)
        var standardization = PreprocessingPipeline([Standardization()])
        try standardization.fitTransform(&features)
        let svm = try LinearSVM.train(features, labels: treated.labels!, classes: 3, settings: .init(c: 1))
        return Classifier(head: .svm(svm), extractor: extractor, preprocessing: standardization, classNames: ["x", "y", "z"], extra: extra)
    }

    /// Two stages: K-means on 4x4 windows at stride 2, triangle-encoded and
    /// pooled over a 3x3 grid (mean: its cells hold 4, 2 or 1 positions); a second K-means (GCN + ZCA) on 2x2
    /// windows of those 3x3x10 maps, triangle-encoded and sum-pooled over 2x2; with `lowerPool`, the maps
    /// pooled again appended (two branches in the exported plan); an SVM.
    static func twoStageSVM(lowerOperation: Pooling.Operation = .mean, lowerPool: Pooling? = nil) throws -> Classifier {
        let lowerStack = try LayerStack(layers: [try KMeans(.init(visibleCount: 16, hiddenCount: 10, seed: 6))], preprocessing: try preprocessing(width: 16, seed: 5),
                                        extra: contract(window: 4))
        let lower = try FeatureExtractor(stack: lowerStack, images: geometry, stride: (2, 2), pooling: Pooling(gridRows: 3, gridColumns: 3, operation: lowerOperation), encoding: .triangle)
        let maps = try #require(lower.mapGeometry)
        let upperStack = try LayerStack(layers: [try KMeans(.init(visibleCount: 40, hiddenCount: 8, seed: 7))], preprocessing: try preprocessing(width: 40, seed: 8),
                                        extra: InputContract(dataset: "fashion-mnist", image: maps, pixelScale: 1 / 255, patchWindow: .init(height: 2, width: 2)).metadata)
        let extractor = try FeatureExtractor(stack: upperStack, convolution: Convolution(image: maps, window: (2, 2), stride: (1, 1)), encoding: .triangle)
            .onMaps(of: lower, alsoPooled: lowerPool)
        return try svmClassifier(extractor, extra: contract(window: 4))
    }

    /// Two of Le et al.'s local stages (untied, then tied; LCN in the first)
    /// over per-image standardized pixels, their features classified by an SVM.
    static func localStages() throws -> Classifier {
        let extra = contract()
        var first = LocalFeatureStage.Configuration(geometry: LocalStageGeometry(input: geometry, field: 4, stride: 2, maps: 3, poolSize: 2, poolStride: 1,
                                                                                normalizationSize: 3))
        first.seed = 3
        let lower = try LocalFeatureStage(first)
        var second = LocalFeatureStage.Configuration(geometry: LocalStageGeometry(input: lower.geometry.output, field: 2, stride: 1, maps: 4, poolSize: 2,
                                                                                 poolStride: 1, normalizationSize: 0))
        (second.tied, second.seed) = (true, 4)
        let pixels = PreprocessingPipeline([GlobalContrastNormalization(scale: 1, subtractMean: true, useStd: true, sqrtBias: 0, minDivisor: 1e-4)])
        let stack = try LayerStack(layers: [lower, try LocalFeatureStage(second)], preprocessing: pixels, extra: extra)
        return try svmClassifier(try FeatureExtractor(stack: stack), extra: extra)
    }

    /// A local stage on color images, as `high_level_features` saves its
    /// classifier for CIFAR-10: the planes interleaved, each image
    /// standardized, then the stage (LCN across maps), its features classified by an SVM.
    static func colorLocalStage() throws -> Classifier {
        let extra = InputContract(dataset: "cifar10", image: colorGeometry, pixelScale: 1 / 255).metadata
        let input = ImageGeometry(height: 8, width: 8, channels: 3, layout: .interleaved)
        var configuration = LocalFeatureStage.Configuration(geometry: LocalStageGeometry(input: input, field: 4, stride: 2, maps: 3, poolSize: 2,
                                                                                        poolStride: 1, normalizationSize: 3))
        configuration.seed = 5
        let stack = try LayerStack(layers: [try LocalFeatureStage(configuration)], preprocessing: HighLevelFeatures.imagePreprocessing(colorGeometry), extra: extra)
        return try svmClassifier(try FeatureExtractor(stack: stack), extra: extra)
    }

    /// A maxout network (3 and 2 pieces) with batch normalization whose
    /// population statistics are far from the identity, folded when saved.
    static func maxoutWithBatchNorm() throws -> Classifier {
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: geometry.size, hiddenSizes: [12], activation: .maxout, pieces: 3, classes: 4, seed: 5)
        network.enableBatchNormalization()
        var random = RandomSource(seed: 9)
        let units = network.hidden[0].weights.columns
        network.normalizations[0]!.gamma = .uniform(shape: [units], low: 0.5, high: 1.5, using: &random)
        network.normalizations[0]!.beta = .uniform(shape: [units], low: -0.5, high: 0.5, using: &random)
        network.normalizations[0]!.runningMean = .uniform(shape: [units], low: -0.2, high: 0.2, using: &random)
        network.normalizations[0]!.runningVariance = .uniform(shape: [units], low: 0.5, high: 2, using: &random)
        let folder = TemporaryFolder(), file = folder.file("maxout.safetensors")
        try Classifier(head: .softmax(network), classNames: ["a", "b", "c", "d"], extra: contract()).write(to: file)
        return try Classifier.read(file)
    }

    /// The classifiers the tests export, by name: every kind of step.
    static func classifier(_ name: String) throws -> Classifier {
        switch name {
        case "softmax": try softmax()
        case "softmax-leaky-relu":
            Classifier(head: .softmax(try SoftmaxNetwork.randomlyInitialized(inputCount: geometry.size, hiddenSizes: [20, 10], activation: .leakyRelu,
                                                                            classes: 4, seed: 3)),
                       classNames: ["a", "b", "c", "d"], extra: contract())
        case "softmax-maxout-bn": try maxoutWithBatchNorm()
        case "svm": try svm()
        case "svm-max-means-binarized": try svm(encoding: .hiddenMeans, pooling: Pooling(operation: .max), binarize: true)
        case "svm-mean-3x3": try svm(pooling: Pooling(gridRows: 3, gridColumns: 3, operation: .mean))
        case "svm-l2": try svm(encoding: .hiddenMeans, pooling: Pooling(operation: .l2))
        case "svm-kmeans-triangle": try svm(encoding: .hiddenMeans, kmeans: true)
        case "svm-hard-mean": try svm(encoding: .hardAssignment, pooling: Pooling(operation: .mean))
        case "svm-two-stage": try twoStageSVM()
        case "svm-local-stages": try localStages()
        case "svm-local-stage-color": try colorLocalStage()
        case "svm-two-stage-both": try twoStageSVM(lowerPool: Pooling(gridRows: 1, gridColumns: 1))
        case "svm-two-stage-both-l2": try twoStageSVM(lowerOperation: .l2, lowerPool: Pooling(gridRows: 1, gridColumns: 1))
        default: throw StrataError.invalidArgument(name: "fixture", reason: name)
        }
    }

    /// Strata's scores of raw images: treated as the contract says, then ``Classifier/scores(_:progress:)``.
    static func strataScores(_ classifier: Classifier, _ raw: Tensor) throws -> Tensor {
        var data = try Dataset(name: "raw", examples: raw)
        try InputContract(metadata: classifier.extra).treat(&data)
        return try classifier.scores(data.examples)
    }
}

@Suite struct InferencePlanTests {
    /// The plan, run by Strata's own operations, gives the classifier's scores:
    /// for every kind of step the exporters translate.
    @Test(arguments: ExportRuntimeTests.variants)
    func planGivesTheClassifiersScores(_ name: String) throws {
        let classifier = try ExportFixtures.classifier(name)
        let raw = ExportFixtures.images(50, size: classifier.inputCount)
        let plan = try InferencePlan(classifier: classifier)
        let expected = try ExportFixtures.strataScores(classifier, raw)
        let found = try plan.apply(raw)
        #expect(found.shape == expected.shape)
        #expect(maxDifference(found, expected) < 1e-4 * max(1, expected.scalars.map(abs).max()!), "\(plan.summary)")
    }

    /// The ONNX file parses back into ONNX's own messages with the declared
    /// inputs, outputs, opset and one initializer per fitted tensor.
    @Test func onnxModelReadsBackAsONNXMessages() throws {
        let plan = try InferencePlan(classifier: try ExportFixtures.svm())
        let bytes = try ONNXExport.model(plan, producerVersion: "test")
        let model = try Onnx_ModelProto(serializedBytes: bytes)
        #expect(model.opsetImport.first?.version == 13 && model.irVersion == 7 && model.producerName == "strata")
        #expect(model.graph.input.map(\.name) == ["pixels"] && model.graph.output.map(\.name) == ["scores", "label"])
        #expect(model.graph.input[0].type.tensorType.shape.dim.last?.dimValue == 144)
        let ops = Set(model.graph.node.map(\.opType))
        #expect(ops.isSuperset(of: ["Mul", "Gather", "ReduceMean", "ReduceSumSquare", "MatMul", "Relu", "Concat", "Transpose", "Gemm", "ArgMax"]))
        // Every node input is the graph input, an initializer or an earlier node's output.
        var known: Set<String> = Set(model.graph.initializer.map(\.name)).union(["pixels"])
        for node in model.graph.node {
            for input in node.input { #expect(known.contains(input), "\(node.opType) reads \(input) before it exists") }
            known.formUnion(node.output)
        }
        let window = try #require(model.graph.initializer.first { $0.name.hasPrefix("window_indices") })
        #expect(window.dims == [25, 16] && window.rawData.count == 25 * 16 * 8)
    }

    @Test func exportStageWritesBothFormatsAndRefusesAWrongExtension() throws {
        let folder = TemporaryFolder()
        try ExportFixtures.softmax().write(to: folder.file("classifier.safetensors"))
        let onnx = try Exporting.run(.init(classifier: folder.file("classifier.safetensors")), log: { _ in })
        #expect(onnx.model == folder.file("model.onnx") && FileManager.default.fileExists(atPath: onnx.model))
        if Python.hasONNX { #expect(Python.onnxCheckerFailure(onnx.model) == nil) }
        let torch = try Exporting.run(.init(classifier: folder.file("classifier.safetensors"), format: .torch, output: folder.file("out/net.safetensors")), log: { _ in })
        #expect(torch.module == folder.file("out/net.py"))
        let state = try SafeTensors.read(torch.model)
        #expect(state.tensors["2.shift"] != nil && state.tensors["2.scale"] != nil && state.tensors["3.matrix"]?.shape == [144, 144] && state.tensors["4.weight"]?.shape == [20, 144])
        #expect(strataError { try Exporting.run(.init(classifier: folder.file("classifier.safetensors"), output: folder.file("m.txt")), log: { _ in }) }?
            .description.contains("a onnx export is a .onnx file") == true)
        #expect(throws: SettingError("'tflite' is not an export format (onnx or torch)")) { try Exporting.Format(parsing: "tflite") }
    }
}

/// The exported files run in the runtimes users have: onnxruntime and PyTorch
/// give Strata's predictions on the same raw images, as checked by the
/// script users run (`scripts/check_export.py`).
@Suite struct ExportRuntimeTests {
    static let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/check_export.py").path
    static let variants = ["softmax", "softmax-leaky-relu", "softmax-maxout-bn", "svm", "svm-max-means-binarized", "svm-mean-3x3", "svm-l2", "svm-kmeans-triangle", "svm-hard-mean", "svm-two-stage", "svm-two-stage-both", "svm-two-stage-both-l2",
                          "svm-local-stages", "svm-local-stage-color"]

    /// Exports `classifier`, runs the runtime on 1,000 raw images, and checks
    /// every label and the scores (probabilities within 1e-5; decision values
    /// within 1e-5 of their scale).
    func check(_ name: String, format: Exporting.Format) throws {
        let classifier = try ExportFixtures.classifier(name)
        let folder = TemporaryFolder()
        try classifier.write(to: folder.file("classifier.safetensors"))
        let written = try Exporting.run(.init(classifier: folder.file("classifier.safetensors"), format: format), log: { _ in })
        let raw = ExportFixtures.images(1000, seed: 11, size: classifier.inputCount)
        try NPY.write(raw, to: folder.file("pixels.npy"))
        try NPY.write(try ExportFixtures.strataScores(classifier, raw), to: folder.file("expected.npy"))
        let (status, output) = Python.run([Self.checker, written.module ?? written.model, folder.file("pixels.npy"), folder.file("expected.npy")])
        print("export \(format.rawValue) \(name): \(output)")
        #expect(status == 0, "\(output)")
        #expect(output.contains("\"same_labels\": 1000"), "\(output)")
    }

    @Test(.enabled(if: Python.has("onnx", "onnxruntime", "numpy"), "needs python3 with onnx, onnxruntime and NumPy (scripts/install-deps.sh installs them)"),
          arguments: variants)
    func onnxRuntimeGivesStrataPredictions(_ name: String) throws {
        try check(name, format: .onnx)
    }

    @Test(.enabled(if: Python.has("torch", "safetensors.torch", "numpy"), "needs python3 with PyTorch and safetensors (scripts/install-deps.sh installs them when a CPU wheel is at hand)"),
          arguments: variants)
    func pytorchGivesStrataPredictions(_ name: String) throws {
        try check(name, format: .torch)
    }
}
