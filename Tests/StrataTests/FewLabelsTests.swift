import Foundation
import Strata
import Testing

/// Learning from few labels: a seeded stratified draw of exactly N labels per
/// class, the same for the same seed, and no stage reads another label.
@Suite struct FewLabelsTests {
    static let labels = (0 ..< 300).map { ($0 * 7 + $0 / 11) % 3 }

    @Test func theSameSeedDrawsTheSameSubsetOfExactlyNPerClassInRounds() throws {
        let a = try LabeledSubset.draw(labels: Self.labels, classes: 3, perClass: 20, seed: 5)
        let b = try LabeledSubset.draw(labels: Self.labels, classes: 3, perClass: 20, seed: 5)
        let c = try LabeledSubset.draw(labels: Self.labels, classes: 3, perClass: 20, seed: 6)
        #expect(a.rows == b.rows && a.rows != c.rows)
        #expect(Set(a.rows).count == 60 && a.labelsRead >= 60 && a.labelsRead <= 300)
        let drawn = a.rows.map { Self.labels[$0] }
        #expect((0 ..< 3).allSatisfy { k in drawn.filter { $0 == k }.count == 20 })
        #expect(drawn == (0 ..< 60).map { $0 % 3 }, "rounds over the classes: the held-out tail holds every class alike")
        // Only the labels of the rows visited were read: they are the kept rows' superset.
        let visited = Set(LabeledSubset.visitOrder(count: 300, seed: 5).prefix(a.labelsRead))
        #expect(Set(a.rows).isSubset(of: visited))
    }

    @Test func moreThanAClassHasIsRefusedNamingTheClassAndItsCount() {
        let labels = Array(repeating: 0, count: 50) + Array(repeating: 1, count: 7)
        let error = strataError { _ = try LabeledSubset.draw(labels: labels, classes: 2, perClass: 10, seed: 1, classNames: ["shoe", "bag"]) }
        #expect(error?.description.contains("labels_per_class: 10 is more than class 'bag' has: 7 training examples") == true, "\(String(describing: error))")
    }

    /// Training features for 3 classes and their labels, written as `strata features` writes them.
    static func writeFeatures(_ folder: TemporaryFolder, labels: [Int]) throws {
        let (x, _) = blobs(classes: 3, perClass: 100, dimensions: 6, spread: 0.8, seed: 12)
        try NPY.write(x, to: folder.file("train.npy"))
        try NPY.write(integers: labels, to: folder.file("train.labels.npy"))
        let (test, testLabels) = blobs(classes: 3, perClass: 20, dimensions: 6, spread: 0.8, seed: 13)
        try NPY.write(test, to: folder.file("test.npy"))
        try NPY.write(integers: testLabels, to: folder.file("test.labels.npy"))
    }

    /// The classifiers' tensors an SVM and a softmax network give on `labels` with 15 labels per class
    /// (their metadata name the temporary folder).
    func classifiers(labels: [Int]) throws -> [[String: Tensor]] {
        let folder = TemporaryFolder()
        try Self.writeFeatures(folder, labels: labels)
        var svm = SVMFineTuning.Settings(features: .files(train: folder.file("train.npy"), test: folder.file("test.npy")), images: ImageSettings())
        (svm.labelsPerClass, svm.folder) = (15, folder.file("svm"))
        _ = try SVMFineTuning.run(svm, compute: Compute(cores: 1), log: { _ in })
        var softmax = SoftmaxFineTuning.Settings(network: .random(hidden: [5], activation: .sigmoid), images: ImageSettings())
        (softmax.labelsPerClass, softmax.folder, softmax.training.maxEpochs, softmax.training.batchSize) = (15, folder.file("softmax"), 3, 10)
        _ = try SoftmaxFineTuning.run(softmax, features: .init(train: folder.file("train.npy"), test: folder.file("test.npy")), compute: Compute(cores: 1),
                                      showProgress: false, log: { _ in })
        return try ["svm", "softmax"].map { try SafeTensors.read(folder.file("\($0)/classifier.safetensors")).tensors }
    }

    @Test func noStageReadsALabelOutsideTheDraw() throws {
        let (_, labels) = blobs(classes: 3, perClass: 100, dimensions: 6, spread: 0.8, seed: 12)
        let clean = try classifiers(labels: labels)
        // Every label the draws never read (neither the SVM's seed's nor the softmax's) made wrong.
        var read = Set<Int>()
        for seed in [LinearSVM.Settings().seed, FineTuningConfiguration().seed] {
            let (_, count) = try LabeledSubset.draw(labels: labels, classes: 3, perClass: 15, seed: seed)
            read.formUnion(LabeledSubset.visitOrder(count: labels.count, seed: seed).prefix(count))
        }
        #expect(read.count < labels.count, "the draws read every label: the test would prove nothing")
        let wrong = labels.indices.map { read.contains($0) ? labels[$0] : (labels[$0] + 1) % 3 }
        let poisoned = try classifiers(labels: wrong)
        #expect(!clean[0].isEmpty && poisoned[0] == clean[0], "the SVM read a label outside its draw")
        #expect(poisoned[1] == clean[1], "the softmax network read a label outside its draw")
    }

    @Test func badRequestsAreRefusedBeforeAnythingRuns() {
        let zero = refusal(["finetune", "svm", "--stack", "s.safetensors", "--labels-per-class", "0"]) ?? ""
        #expect(zero.contains("--labels-per-class") && zero.contains("at least 1"), "\(zero)")
        let noStage = strataError { _ = try Experiment.parse("name: a\nlabels_per_class: 10\nlayers:\n  - learner: rbm\n    hidden: 4\n", file: "f.yaml") }
        #expect(noStage?.description.contains("labels_per_class") == true && noStage?.description.contains("applies to a softmax or svm finetune stage") == true,
                "\(String(describing: noStage))")
        let word = strataError { _ = try Experiment.parse("name: a\nlabels_per_class: many\nlayers:\n  - learner: rbm\n    hidden: 4\nfinetune: {softmax: {}}\n", file: "f.yaml") }
        #expect(word?.description.contains("labels_per_class") == true && word?.description.contains("or all; not 'many'") == true, "\(String(describing: word))")
        let all = try? Experiment.parse("name: a\nlabels_per_class: all\nlayers:\n  - learner: rbm\n    hidden: 4\nfinetune: {svm: {c: 1}}\n")
        #expect(all != nil && all?.labelsPerClass == nil, "all: every label")
        let parsed = try? Experiment.parse("name: a\nlabels_per_class: 10\nlayers:\n  - learner: rbm\n    hidden: 4\nfinetune: {svm: {c: 1}}\n")
        #expect(parsed?.labelsPerClass == 10)
    }
}

/// Self-taught learning (Raina et al. 2007): filters learned on one dataset's
/// patches give features for another dataset's images, end to end (pretrain,
/// an SVM on few labels, evaluate, export); a channel mismatch is refused.
@Suite struct SelfTaughtTests {
    /// A PNG folder of `perClass` images of each of 2 classes, `height x width`
    /// with `channels`: class 0 bright on the left, class 1 on the right, with noise.
    static func images(_ folder: String, height: Int, width: Int, channels: Int = 1, perClass: Int = 30, seed: UInt64) throws {
        var random = RandomSource(seed: seed)
        for k in 0 ..< 2 {
            try FileManager.default.createDirectory(atPath: "\(folder)/class\(k)", withIntermediateDirectories: true)
            for i in 0 ..< perClass {
                let pixels = (0 ..< height * width * channels).map { index -> UInt8 in
                    let x = (index / channels) % width
                    let bright = (x < width / 2) == (k == 0)
                    return UInt8(min(255, (bright ? 170 : 40) + Int(random.next() % 80)))
                }
                try PNGImage(width: width, height: height, channels: channels, pixels: pixels).write(to: "\(folder)/class\(k)/\(i).png")
            }
        }
    }

    @Test func filtersLearnedOnOneDatasetClassifyAnothersImagesWithFewLabels() throws {
        let folder = TemporaryFolder()
        try Self.images(folder.file("small"), height: 12, width: 12, seed: 1)
        try Self.images(folder.file("wide"), height: 10, width: 16, seed: 2)
        try runCommand(["pretrain", "--dataset", folder.file("small"), "--window", "4", "--random", "400", "--learner", "kmeans", "--hidden", "8",
                        "--epochs", "3", "--threads", "1", "--run", folder.file("stack")])
        let stack = folder.file("stack/stack.safetensors")
        let plain = ["finetune", "svm", "--stack", stack, "--dataset", folder.file("wide"), "--c", "1", "--labels-per-class", "10", "--threads", "1",
                     "--run", folder.file("svm")]
        #expect(refusal(plain)?.contains("was trained on \(folder.file("small")), not") == true, "without --self-taught another dataset is refused")
        try runCommand(plain + ["--self-taught"])
        let classifier = try Classifier.read(folder.file("svm/classifier.safetensors"))
        let contract = try InputContract(metadata: classifier.extra)
        #expect(contract.taughtOn == folder.file("small") && contract.image == ImageGeometry(height: 10, width: 16))
        let evaluation = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("svm/evaluation.json")))) as? [String: Any]
        #expect((evaluation?["accuracy"] as? Double ?? 0) > 0.9 && evaluation?["training_labels"] as? Double == 20, "\(String(describing: evaluation))")
        try runCommand(["evaluate", folder.file("svm/classifier.safetensors"), "--out", folder.file("again")])
        try runCommand(["export", folder.file("svm/classifier.safetensors"), "-o", folder.file("svm/model.onnx")])
        if Python.hasONNX { #expect(Python.onnxCheckerFailure(folder.file("svm/model.onnx")) == nil) }
        // Color images for a stack of gray patches: refused with the reason.
        try Self.images(folder.file("color"), height: 12, width: 12, channels: 3, seed: 3)
        let color = strataError { try runCommand(["finetune", "svm", "--stack", stack, "--dataset", folder.file("color"), "--self-taught", "--c", "1",
                                                  "--run", folder.file("svm-color")]) }
        #expect(color?.description.contains("was trained on 1-channel patches; color's images have 3 channels") == true, "\(String(describing: color))")
    }

    /// The same in an experiment file: `self_taught` names the other dataset, `labels_per_class` the labels.
    @Test func anExperimentReadsAnotherDatasetWhenItSaysSo() throws {
        let folder = TemporaryFolder()
        try Self.images(folder.file("small"), height: 12, width: 12, seed: 1)
        try Self.images(folder.file("wide"), height: 10, width: 16, seed: 2)
        let yaml = """
            name: moved
            dataset: {name: \(folder.file("small"))}
            self_taught: \(folder.file("wide"))
            labels_per_class: 10
            patches: {window: 4, count: 400}
            layers:
              - {learner: kmeans, hidden: 8, training: {epochs: 3}}
            finetune: {svm: {c: 1}}
            outputs: {folder: \(folder.file("run")), weights: false, monitor: false}
            """
        _ = try runQuietly(try Experiment.parse(yaml, file: "moved.yaml"))
        let contract = try InputContract(metadata: try Classifier.read(folder.file("run/svm/classifier.safetensors")).extra)
        #expect(contract.taughtOn == folder.file("small") && contract.dataset == folder.file("wide") && contract.image == ImageGeometry(height: 10, width: 16))
        let refused = strataError { _ = try Experiment.parse("name: a\nself_taught: other\nlayers:\n  - learner: rbm\n    hidden: 4\n", file: "f.yaml") }
        #expect(refused?.description.contains("applies to a softmax or svm finetune stage") == true, "\(String(describing: refused))")
    }
}
