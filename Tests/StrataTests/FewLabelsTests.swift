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
        #expect(refusal(["finetune", "svm", "--stack", "s.safetensors", "--labels-per-class", "0"])?.contains("--labels-per-class must be at least 1") == true)
        let noStage = strataError { _ = try Experiment.parse("name: a\nlabels_per_class: 10\nlayers:\n  - learner: rbm\n    hidden: 4\n", file: "f.yaml") }
        #expect(noStage?.description.contains("labels_per_class") == true && noStage?.description.contains("applies to a softmax or svm finetune stage") == true,
                "\(String(describing: noStage))")
        let word = strataError { _ = try Experiment.parse("name: a\nlabels_per_class: many\nlayers:\n  - learner: rbm\n    hidden: 4\nfinetune: {softmax: {}}\n", file: "f.yaml") }
        #expect(word?.description.contains("expected a whole number, found 'many'") == true, "\(String(describing: word))")
        let parsed = try? Experiment.parse("name: a\nlabels_per_class: 10\nlayers:\n  - learner: rbm\n    hidden: 4\nfinetune: {svm: {c: 1}}\n")
        #expect(parsed?.labelsPerClass == 10)
    }
}
