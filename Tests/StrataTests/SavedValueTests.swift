import Foundation
import Strata
import Testing

/// Rewrites one field of a JSON value stored in a safetensors file's metadata
/// (`path` dotted, `value` any JSON), as a corrupt or hostile file would hold it.
func rewriteMetadata(_ file: String, key: String, path: String, value: Any, to output: String? = nil) throws {
    var safe = try SafeTensors.read(file)
    var root = try JSONSerialization.jsonObject(with: Data(safe.metadata[key]!.utf8), options: [.fragmentsAllowed])
    func set(_ node: Any, _ keys: ArraySlice<String>) -> Any {
        guard let first = keys.first else { return value }
        if var array = node as? [Any], let index = Int(first) { array[index] = set(array[index], keys.dropFirst()); return array }
        var object = node as? [String: Any] ?? [:]
        object[first] = set(object[first] as Any, keys.dropFirst())
        return object
    }
    root = set(root, ArraySlice(path.split(separator: ".").map(String.init)))
    safe.metadata[key] = String(decoding: try JSONSerialization.data(withJSONObject: root, options: [.fragmentsAllowed]), as: UTF8.self)
    try safe.write(to: output ?? file)
}

/// Every value a resume reads is checked before use: a saved state out of its
/// range is an error naming the file and the key, never a trap or an overflow.
@Suite struct SavedStateTests {
    static let data: Tensor = {
        var random = RandomSource(seed: 31)
        return Tensor(shape: [120, 16], scalars: (0 ..< 120 * 16).map { _ in random.nextUnitFloat() < 0.3 ? 1 : 0 })
    }()

    func pretrain(_ folder: TemporaryFolder, epochs: Int, resume: Bool) throws {
        var configuration = TrainingConfiguration()
        (configuration.maxEpochs, configuration.batchSize) = (epochs, 40)
        var trainer = Trainer(configuration: configuration, folder: folder.path)
        trainer.showProgress = false
        var rbm = try RBM(.init(visibleCount: 16, hiddenCount: 8, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1)))
        try trainer.train(&rbm, data: Self.data, resume: resume)
    }

    @Test(arguments: [("random", [1, 2, 3] as Any, "four words"), ("random", [0, 0, 0, 0] as Any, "not all zero"),
                      ("epochRandom", [0, 0, 0, 0] as Any, "not all zero"), ("examplesSeen", Int.max - 5 as Any, "must lie in 0..."),
                      ("epoch", -5 as Any, "must lie in 0..."), ("epochPosition", -3 as Any, "must lie in 0..."),
                      ("learningRate", -1 as Any, "finite and not negative")])
    func pretrainingResumeRefusesAStateOutOfRange(field: String, value: Any, reason: String) throws {
        let folder = TemporaryFolder()
        try pretrain(folder, epochs: 1, resume: false)
        try rewriteMetadata(folder.file("model.safetensors"), key: "trainer_state", path: field, value: value)
        let error = strataError { try pretrain(folder, epochs: 2, resume: true) }
        let message = error?.description ?? "accepted"
        #expect(message.contains("model.safetensors: key '__metadata__.trainer_state.\(field)'") && message.contains(reason), "\(message)")
    }

    @Test func pretrainingResumeRefusesASavedConfigurationOutOfRange() throws {
        let folder = TemporaryFolder()
        try pretrain(folder, epochs: 1, resume: false)
        try rewriteMetadata(folder.file("model.safetensors"), key: "training_configuration", path: "batchSize", value: 0)
        let message = strataError { try pretrain(folder, epochs: 2, resume: true) }?.description ?? "accepted"
        #expect(message.contains("key '__metadata__.training_configuration'") && message.contains("batch size"), "\(message)")
    }

    /// The lines of the first epochs are not rewritten by a resume: each is
    /// kept as read (here respaced, as no writer of Strata's would space them).
    @Test func aResumeKeepsTheEarlierMonitorLinesByteForByte() throws {
        let folder = TemporaryFolder()
        try pretrain(folder, epochs: 1, resume: false)
        let path = folder.file("model.safetensors").replacingOccurrences(of: "model.safetensors", with: "monitor.jsonl")
        let before = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: ",", with: ", ")
        try before.write(toFile: path, atomically: true, encoding: .utf8)
        try pretrain(folder, epochs: 2, resume: true)
        let after = try String(contentsOfFile: path, encoding: .utf8)
        #expect(after.hasPrefix(before) && after.count > before.count, "before:\n\(before)\nafter:\n\(after)")
    }

    func fineTune(_ folder: TemporaryFolder, epochs: Int, resume: Bool) throws {
        var configuration = FineTuningConfiguration()
        (configuration.maxEpochs, configuration.batchSize) = (epochs, 20)
        var tuner = FineTuner(configuration: configuration, folder: folder.path)
        (tuner.showProgress, tuner.resume) = (false, resume)
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 16, hiddenSizes: [6], classes: 2, seed: 4)
        let labels = (0 ..< 120).map { $0 % 2 }
        _ = try tuner.train(&network, x: Self.data.rows(0 ..< 100), labels: Array(labels[..<100]), validationX: Self.data.rows(100 ..< 120), validationLabels: Array(labels[100...]))
    }

    @Test(arguments: [("random", [1] as Any, "four words"), ("epochRandom", [0, 0, 0, 0] as Any, "not all zero"),
                      ("epochBatches", -7 as Any, "must lie in 0..."), ("bestEpoch", 99 as Any, "later than the 1 epoch done")])
    func fineTuningResumeRefusesAStateOutOfRange(field: String, value: Any, reason: String) throws {
        let folder = TemporaryFolder()
        try fineTune(folder, epochs: 1, resume: false)
        try rewriteMetadata(folder.file("finetune.safetensors"), key: "state", path: field, value: value)
        let message = strataError { try fineTune(folder, epochs: 2, resume: true) }?.description ?? "accepted"
        #expect(message.contains("finetune.safetensors: key '__metadata__.state.\(field)'") && message.contains(reason), "\(message)")
    }
}

/// A classifier's saved configuration and recorded geometry are checked
/// against its tensors on load; what `evaluate`, `predict` and `export` read.
@Suite struct RecordedGeometryTests {
    /// The fixture classifier `name`, saved in `folder`.
    func saved(_ name: String, in folder: TemporaryFolder) throws -> String {
        try ExportFixtures.classifier(name).write(to: folder.file("c.safetensors"))
        return folder.file("c.safetensors")
    }

    @Test(arguments: [("image.channels", -3 as Any, "channels of 12x12 is not a valid image size"),
                      ("image.channels", 1 << 62 as Any, "is not a valid image size"),
                      ("image.height", 0 as Any, "an image side must lie in 1..."),
                      ("windowHeight", 40 as Any, "larger than the 12x12 images"),
                      ("pooling.gridRows", 0 as Any, "a pooling grid is at least 1x1")])
    func aConvolutionOutOfRangeIsRefusedNamingTheKey(path: String, value: Any, reason: String) throws {
        let folder = TemporaryFolder(), file = try saved("svm", in: folder)
        try rewriteMetadata(file, key: "extractor_convolution", path: path, value: value)
        let message = strataError { _ = try Classifier.read(file) }?.description ?? "accepted"
        #expect(message.contains("c.safetensors: key 'extractor_convolution.\(path)'") && message.contains(reason), "\(message)")
    }

    @Test func aPoolingGridThatNoLongerMatchesTheSVMIsRefused() throws {
        let folder = TemporaryFolder(), file = try saved("svm", in: folder)
        try rewriteMetadata(file, key: "extractor_convolution", path: "pooling.gridRows", value: 3)
        let message = strataError { _ = try Classifier.read(file) }?.description ?? "accepted"
        #expect(message.contains("key 'svm.weights'") && message.contains("the extractor gives 120 features per image"), "\(message)")
    }

    @Test(arguments: [("softmax", ["height": 32, "width": 32, "channels": 3, "layout": "planar"], "records 32x32x3 planar images (3072 values), but the classifier reads 144"),
                      ("svm", ["height": 24, "width": 6, "channels": 1, "layout": "planar"], "records 24x6 gray images, but the extractor's convolution reads 12x12 gray")])
    func aGeometryTheTensorsDoNotHaveIsRefused(name: String, image: [String: Any], reason: String) throws {
        let folder = TemporaryFolder(), file = try saved(name, in: folder)
        try rewriteMetadata(file, key: "input", path: "image", value: image)
        let message = strataError { _ = try Classifier.read(file) }?.description ?? "accepted"
        #expect(message.contains("key '__metadata__.input.image'") && message.contains(reason), "\(message)")
    }

    @Test func aStackWhoseRecordedImagesItsFirstLayerCannotReadIsRefused() throws {
        let folder = TemporaryFolder()
        let stack = try ExportFixtures.stack(visible: 144, hidden: [8, 4], preprocessing: PreprocessingPipeline(), extra: ExportFixtures.contract())
        try stack.write(to: folder.file("s.safetensors"))
        try rewriteMetadata(folder.file("s.safetensors"), key: "input", path: "image", value: ["height": 12, "width": 12, "channels": 3, "layout": "planar"])
        let message = strataError { _ = try LayerStack.read(folder.file("s.safetensors")) }?.description ?? "accepted"
        #expect(message.contains("s.safetensors: key '__metadata__.input': records 12x12x3 planar (432 values), but the first layer reads 144"), "\(message)")
    }

    @Test(arguments: ["", "/", "///"])
    func aLegacySourceNamingNoDatasetIsRefused(source: String) {
        let message = strataError { _ = try InputContract(metadata: ["source": source], path: "old.safetensors") }?.description ?? "accepted"
        #expect(message.contains("old.safetensors: key '__metadata__.source'") && message.contains("names no dataset"), "\(message)")
    }

    @Test func imagesOfAnotherGeometryThanRecordedAreRefused() throws {
        let contract = InputContract(dataset: "fashion-mnist", image: ImageGeometry(height: 56, width: 14))
        let images = try ImageSettings(contract: contract, dataset: nil, split: .test, limit: 5, what: "relabeled.safetensors")
        let message = strataError { _ = try images.load() }?.description ?? "accepted"
        #expect(message.contains("relabeled.safetensors records 56x14 gray images, but fashion-mnist/test holds 28x28 gray images"), "\(message)")
    }
}

/// An export is validated end to end before anything is written.
@Suite struct ExportValidationTests {
    @Test(arguments: ["svm", "softmax"])
    func aClassifierWithANonFiniteWeightIsRefusedAndNothingIsWritten(name: String) throws {
        var classifier = try ExportFixtures.classifier(name)
        switch classifier.head {
        case .svm(var svm): svm.weights[0, 0] = .nan; classifier.head = .svm(svm)
        case .softmax(var network): network.hidden[0].weights[1, 2] = .infinity; classifier.head = .softmax(network)
        }
        let folder = TemporaryFolder()
        try classifier.write(to: folder.file("c.safetensors"))
        let message = strataError { _ = try Exporting.run(.init(classifier: folder.file("c.safetensors"), format: .onnx), log: { _ in }) }?.description ?? "accepted"
        #expect(message.contains("cannot be exported") && message.contains("not finite"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("model.onnx")))
    }

    @Test func aPlanWhoseStepsDoNotChainIsRefusedNamingTheStep() throws {
        let layer = DenseLayer(weights: Tensor(zeros: [5, 3]), bias: Tensor(zeros: [3]), activation: .sigmoid)
        let plan = InferencePlan(inputCount: 4, steps: [.subtract(Tensor(zeros: [4])), .dense(layer)], classNames: ["a", "b", "c"], scoresAreProbabilities: false)
        let message = strataError { try plan.validate() }?.description ?? "accepted"
        #expect(message.contains("step 2 (dense 5->3 sigmoid)") && message.contains("for 4 values in"), "\(message)")
        let patches = InferencePlan(inputCount: 4, steps: [.patches(indices: [0, 1, 2, 9], positions: 2, size: 2)], classNames: ["a", "b"], scoresAreProbabilities: false)
        #expect(strataError { try patches.validate() } != nil)
    }
}

/// The command line gives the same refusals a clear message and exit status 1:
/// never a signal (132 was a trap), never a hang.
@Suite(.needsBuiltTool)
struct SavedValueCommandTests {
    @Test func aResumeOfADamagedCheckpointExitsWithOneAndNamesTheKey() throws {
        let folder = TemporaryFolder()
        try NPY.write(SavedStateTests.data, to: folder.file("data.npy"))
        let arguments = ["pretrain", "--input", "data.npy", "--learner", "rbm", "--hidden", "8", "--batch-size", "40", "--threads", "1", "--run", "run"]
        #expect(try BuiltTool.run(arguments + ["--epochs", "1"], in: folder.path) == 0)
        try rewriteMetadata(folder.file("run/model.safetensors"), key: "trainer_state", path: "random", value: [0, 0, 0, 0])
        let process = try BuiltTool.start(arguments + ["--epochs", "2", "--resume"], in: folder.path)
        process.waitUntilExit()
        let log = (try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? ""
        #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(process.terminationReason) \(process.terminationStatus): \(log)")
        #expect(log.contains("model.safetensors: key '__metadata__.trainer_state.random': a random state is not all zero"), "\(log)")
    }
}
