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

@Suite struct CIFAR10Tests {
    /// A record whose pixel j of channel c is (c * 7 + j + label) % 256.
    func record(label: UInt8) -> [UInt8] {
        [label] + (0 ..< 3).flatMap { c in (0 ..< 1024).map { j in UInt8((c * 7 + j + Int(label)) % 256) } }
    }

    @Test func readsBatchesPlanar() throws {
        let folder = TemporaryFolder()
        let one = folder.write(Data(record(label: 3) + record(label: 9)), "data_batch_1.bin")
        let two = folder.write(Data(record(label: 0)), "data_batch_2.bin")
        let meta = folder.write(Data("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n".utf8), "batches.meta.txt")
        let names = try CIFAR10.readClassNames(meta)
        let dataset = try CIFAR10.read(batches: [one, two], classNames: names)
        #expect(dataset.count == 3)
        #expect(dataset.labels == [3, 9, 0])
        #expect(dataset.classNames?[3] == "cat")
        #expect(dataset.geometry == ImageGeometry(height: 32, width: 32, channels: 3, layout: .planar))
        // Example 1 (label 9): green plane (c = 1) pixel 5 is (7 + 5 + 9) % 256.
        #expect(dataset.examples[1, 1024 + 5] == 21)
        #expect(dataset.examples[2, 2047] == Float((7 + 1023) % 256))
    }

    @Test func refusesTruncatedBatchAndForeignFile() {
        let folder = TemporaryFolder()
        let short = folder.write(Data(record(label: 1) + record(label: 2).prefix(100)), "data_batch_1.bin")
        #expect(strataError { _ = try CIFAR10.read(batches: [short]) } ==
            .truncated(path: short, expected: 2 * 3073, found: 3073 + 100, what: "CIFAR-10 records of 3073 bytes (3173 is not a multiple)"))
        var foreign = record(label: 1)
        foreign[0] = 200
        let bad = folder.write(Data(foreign), "not_cifar.bin")
        guard case .badMagic? = strataError({ _ = try CIFAR10.read(batches: [bad]) }) else { Issue.record("foreign file accepted"); return }
    }

    /// Coates' CIFAR-10 recipe, `Tutorials/kmeans_triangle/cifar10.yaml`,
    /// runs end to end on a folder of CIFAR-10 binary batches given as the
    /// dataset: the real file with 16 centroids instead of 1,600, at a trial's
    /// size. RGB 6x6 patches (108 values), the triangle encoding summed over
    /// the quadrants (4 x 16 features), an SVM evaluated on the test batch.
    @Test func coatesRecipeRunsOnAFolderOfBatches() throws {
        let folder = TemporaryFolder()
        var random = RandomSource(seed: 5)
        for name in (1 ... 5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            var bytes: [UInt8] = []
            for i in 0 ..< 20 {
                // Class k: a bright band of rows 3k..3k+2 in every channel, over noise.
                let label = i % 10
                bytes.append(UInt8(label))
                for _ in 0 ..< 3 {
                    for j in 0 ..< 1024 { bytes.append(UInt8(Int(random.nextUnitFloat() * 90) + ((j / 32) / 3 == label ? 150 : 0))) }
                }
            }
            _ = folder.write(Data(bytes), "cifar-10-batches-bin/" + name)
        }
        let path = repositoryRoot + "/Tutorials/kmeans_triangle/cifar10.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let recipe = try Experiment.parse(text, file: path)
        #expect(recipe.images.dataset == "cifar10" && recipe.patches?.count == 400_000 && recipe.layers.first?.hiddenCount == 1600)
        var experiment = try Experiment.parse(text.replacingOccurrences(of: "hidden: 1600", with: "hidden: 16"), file: path)
        experiment.images.dataset = folder.file("cifar-10-batches-bin")
        experiment.outputs.folder = folder.file("run")
        let outcome = try runQuietly(ExperimentRun.trial(experiment, limit: 60, maxEpochs: 1).0)
        #expect(outcome.stack.inputCount == 6 * 6 * 3)
        #expect(outcome.lines.contains { $0.contains("sum-pooled over 2x2 regions: 64 features") }, "\(outcome.lines)")
        #expect(outcome.accuracies["svm"] != nil)
        #expect(FileManager.default.fileExists(atPath: folder.file("run/svm/evaluation.txt")))
    }
}
