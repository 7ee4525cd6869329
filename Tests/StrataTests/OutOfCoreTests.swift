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

/// Training on a matrix left on disk (``TrainingExamples/file(_:blockRows:)``)
/// against the same matrix in memory.
@Suite struct OutOfCoreTests {
    /// Noisy copies of 3 random prototypes in [0, 1]: data with structure to learn.
    func matrix(_ rows: Int, _ columns: Int, seed: UInt64 = 5) -> Tensor {
        var random = RandomSource(seed: seed)
        let prototypes = Tensor.uniform(shape: [3, columns], using: &random)
        var x = Tensor(zeros: [rows, columns])
        for i in 0 ..< rows {
            let p = Int(random.next() % 3)
            for j in 0 ..< columns { x[i, j] = min(max(prototypes[p, j] + 0.1 * (random.nextUnitFloat() - 0.5), 0), 1) }
        }
        return x
    }

    func trainer(_ folder: TemporaryFolder, epochs: Int, stopAfter batches: Int? = nil) -> Trainer {
        var config = TrainingConfiguration()
        (config.maxEpochs, config.batchSize, config.learningRate, config.seed) = (epochs, 10, 0.1, 4)
        config.monitorExamples = 50
        var t = Trainer(configuration: config, folder: folder.path)
        t.showProgress = false
        if let batches {
            final class Count: @unchecked Sendable { var n = 0 }
            let count = Count()
            t.shouldStop = { count.n += 1; return count.n == batches }
        }
        return t
    }

    func autoencoder() throws -> Autoencoder {
        var config = Autoencoder.Configuration(visibleCount: 12, hiddenCount: 6)
        config.corruption = .masking(probability: 0.2)
        return try Autoencoder(config)
    }

    @Test func rowsReadFromDiskAreTheFilesRows() throws {
        let folder = TemporaryFolder()
        let x = matrix(37, 5)
        try NPY.write(x, to: folder.path + "/x.npy")
        let file = try NPYRowFile(path: folder.path + "/x.npy")
        #expect(file.rows == 37 && file.columns == 5 && file.descr == "<f4")
        #expect(try file.read(rows: 3 ..< 11) == x.rows(3 ..< 11))
        // Other types are converted as NPY.read converts them: here float64, written by hand.
        var f8 = NPY.preamble(descr: "<f8", shape: [4, 3])
        for v in 0 ..< 12 { withUnsafeBytes(of: (Double(v) * 0.5).bitPattern.littleEndian) { f8.append(contentsOf: $0) } }
        try f8.write(to: URL(fileURLWithPath: folder.path + "/d.npy"))
        #expect(try NPYRowFile(path: folder.path + "/d.npy").read(rows: 1 ..< 3).scalars == [1.5, 2, 2.5, 3, 3.5, 4])
        // The memory and disk identities agree (a resumed run may switch between them).
        #expect(try TrainingExamples.file(file, blockRows: 8).validatedFingerprint(what: "x") == x.fingerprint)
    }

    @Test func badFilesAreRefusedByName() throws {
        let folder = TemporaryFolder()
        let bytes = NPY.encode(matrix(6, 4))
        let cut = folder.path + "/cut.npy", long = folder.path + "/long.npy", flat = folder.path + "/flat.npy", nan = folder.path + "/nan.npy"
        try bytes.prefix(bytes.count - 4).write(to: URL(fileURLWithPath: cut))
        try (bytes + Data([1, 2, 3])).write(to: URL(fileURLWithPath: long))
        try NPY.write(Tensor(shape: [5], scalars: [1, 2, 3, 4, 5]), to: flat)
        var withNaN = matrix(6, 4)
        withNaN[4, 2] = .nan
        try NPY.write(withNaN, to: nan)
        guard case .truncated(let path, _, _, _)? = strataError({ _ = try NPYRowFile(path: cut) }) else { Issue.record("cut file accepted"); return }
        #expect(path == cut)
        guard case .corrupt(_, _, let reason)? = strataError({ _ = try NPYRowFile(path: long) }) else { Issue.record("long file accepted"); return }
        #expect(reason.contains("3 bytes after"))
        guard case .shapeMismatch? = strataError({ _ = try NPYRowFile(path: flat) }) else { Issue.record("1-D file accepted"); return }
        // A header announcing an absurd shape is refused before anything is allocated, naming the file.
        let absurd = folder.path + "/absurd.npy"
        try (NPY.preamble(descr: "<f4", shape: [1 << 40, 1 << 40]) + Data(count: 64)).write(to: URL(fileURLWithPath: absurd))
        let tooBig = strataError { _ = try NPYRowFile(path: absurd) }
        #expect(tooBig?.description.contains(absurd) == true, "\(String(describing: tooBig))")
        let error = strataError { _ = try TrainingExamples.file(try NPYRowFile(path: nan), blockRows: 4).validatedFingerprint(what: "training data") }
        #expect(error?.description.contains("row 4") == true, "\(String(describing: error))")
        guard case .invalidArgument? = strataError({ _ = try TrainingExamples.file(try NPYRowFile(path: nan), blockRows: 0).minibatches() })
        else { Issue.record("a block of no rows accepted"); return }
    }

    @Test func anEpochVisitsEveryRowOnceBlockByBlock() throws {
        let folder = TemporaryFolder()
        let x = matrix(103, 3)
        try NPY.write(x, to: folder.path + "/x.npy")
        let examples = TrainingExamples.file(try NPYRowFile(path: folder.path + "/x.npy"), blockRows: 20)
        var random = RandomSource(seed: 8)
        let order = examples.epochOrder(using: &random)
        #expect(order.sorted() == Array(0 ..< 103))
        // Blocks follow one another: the order changes block 5 times (6 blocks), and within a block the rows are shuffled.
        let blockChanges = zip(order, order.dropFirst()).filter { $0.0 / 20 != $0.1 / 20 }.count
        #expect(blockChanges == 5)
        let firstFull = order.firstIndex { $0 < 100 }!
        #expect(Array(order[firstFull ..< firstFull + 20]) != order[firstFull ..< firstFull + 20].sorted())
        // Gathered minibatches are the memory rows, and each block is read once.
        let gatherer = try examples.minibatches()
        var batch = Tensor(zeros: [0, 0])
        try EpochLoop.forEachMinibatch(of: gatherer, order: order, batchSize: 7, batch: &batch) { rows, batch in
            #expect(batch == x.gatherRows(Array(rows)))
        }
        #expect(gatherer.blocksRead == 6)
        // One block holding every row gives the in-memory order itself.
        var a = RandomSource(seed: 8), b = RandomSource(seed: 8)
        #expect(TrainingExamples.file(try NPYRowFile(path: folder.path + "/x.npy"), blockRows: 500).epochOrder(using: &a) == b.permutation(103))
    }

    @Test func oneBlockTrainsExactlyAsInMemoryAndSmallBlocksTrainToo() throws {
        let folder = TemporaryFolder()
        let x = matrix(200, 12)
        try NPY.write(x, to: folder.path + "/x.npy")
        let file = try NPYRowFile(path: folder.path + "/x.npy")
        var inMemory = try autoencoder(), onDisk = try autoencoder(), inBlocks = try autoencoder()
        try trainer(TemporaryFolder(), epochs: 3).train(&inMemory, data: x)
        try trainer(TemporaryFolder(), epochs: 3).train(&onDisk, examples: .file(file, blockRows: 1000))
        #expect(onDisk.parameters == inMemory.parameters)
        let report = try trainer(TemporaryFolder(), epochs: 3).train(&inBlocks, examples: .file(file, blockRows: 30))
        let objective = report.log.values("train_objective").compactMap { $0 }
        #expect(objective.last! < objective.first!, "\(objective)")
        #expect(inBlocks.parameters != inMemory.parameters)
    }

    @Test func aRunOnDiskStoppedMidEpochResumesExactly() throws {
        let folder = TemporaryFolder(), runFolder = TemporaryFolder()
        try NPY.write(matrix(120, 12), to: folder.path + "/x.npy")
        let examples = TrainingExamples.file(try NPYRowFile(path: folder.path + "/x.npy"), blockRows: 25)
        var whole = try autoencoder(), stopped = try autoencoder()
        try trainer(TemporaryFolder(), epochs: 2).train(&whole, examples: examples)
        guard case .interrupted(_, _, let epoch, let position)? = strataError({ try trainer(runFolder, epochs: 2, stopAfter: 17).train(&stopped, examples: examples) })
        else { Issue.record("the run did not stop"); return }
        #expect(epoch == 2 && position == 50)
        var resumed = try autoencoder()
        try trainer(runFolder, epochs: 2).train(&resumed, examples: examples, resume: true)
        #expect(resumed.parameters == whole.parameters)
    }

    /// `strata features` writes its features a part at a time: the file holds
    /// what one extraction of every image in memory gives, and the labels.
    @Test func featuresWrittenInPartsAreTheWholeExtraction() throws {
        let folder = TemporaryFolder()
        let images = ImageSettings(dataset: try writeTinyImageFolder(folder), pixelScale: 255)
        let data = try Pretraining.prepare(.images(images, patches: .init(window: .init(height: 3, width: 3), count: 40)),
                                           preprocessing: PreprocessingPipeline([GlobalContrastNormalization()]), patchSeed: 1)
        let stack = try data.base.appending(try Autoencoder(.init(visibleCount: 9, hiddenCount: 5)))
        var settings = FeatureSettings()
        (settings.pooling, settings.encoding, settings.imagesPerBatch) = (Pooling(gridRows: 3, gridColumns: 3), .triangle, 3)
        let output = folder.path + "/features.npy"
        let shape = try FeatureExtraction.run(stack: stack, name: "tiny", images: images, features: settings, output: output,
                                              compute: Compute(cores: 2), imagesPerWrite: 7, log: { _ in })
        #expect(shape.rows == 60 && shape.columns == 45)
        let whole = try settings.extractor(for: stack, images: data.contract.image).extract(try images.load().examples, imagesPerBatch: 60, cores: 1)
        #expect(try NPY.read(output).tensor == whole)
        #expect(try NPY.readIntegers(FeatureExtraction.labelsPath(for: output)) == (try images.load().labels))
    }

    /// Fine-tuning reads its training examples from disk the same way: one
    /// block is the in-memory run exactly, small blocks still learn.
    @Test func fineTuningOnDiskMatchesMemoryWithOneBlock() throws {
        let (x, labels) = blobs(classes: 3, perClass: 100, dimensions: 6, spread: 0.6, seed: 5)
        let folder = TemporaryFolder()
        try NPY.write(x.rows(0 ..< 240), to: folder.path + "/x.npy")
        let file = try NPYRowFile(path: folder.path + "/x.npy")
        func run(_ examples: TrainingExamples) throws -> (SoftmaxNetwork, FineTuner.Report) {
            var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 6, hiddenSizes: [10], classes: 3, seed: 2)
            var configuration = FineTuningConfiguration()
            (configuration.maxEpochs, configuration.batchSize, configuration.learningRate) = (6, 20, 0.5)
            var tuner = FineTuner(configuration: configuration, folder: TemporaryFolder().path)
            tuner.showProgress = false
            let report = try tuner.train(&network, examples: examples, labels: Array(labels[..<240]),
                                         validationX: x.rows(240 ..< 300), validationLabels: Array(labels[240...]))
            return (network, report)
        }
        let (inMemory, _) = try run(.memory(x.rows(0 ..< 240)))
        let (oneBlock, _) = try run(.file(file, blockRows: 1000))
        #expect(oneBlock.output.weights == inMemory.output.weights && oneBlock.hidden[0].weights == inMemory.hidden[0].weights)
        let (_, blocks) = try run(.file(file, blockRows: 50))
        #expect(blocks.bestValidationError < 0.2, "\(blocks.bestValidationError)")
    }

    /// `strata finetune softmax --train-features`: a network on feature files,
    /// the training rows in memory or on disk; one block gives the same classifier.
    @Test func theSoftmaxStageTrainsOnFeatureFilesFromDisk() throws {
        let (x, labels) = blobs(classes: 3, perClass: 100, dimensions: 6, spread: 0.6, seed: 9)
        let folder = TemporaryFolder()
        let (train, test) = (folder.path + "/train.npy", folder.path + "/test.npy")
        try NPY.write(x.rows(0 ..< 240), to: train)
        try NPY.write(integers: Array(labels[..<240]), to: FeatureExtraction.labelsPath(for: train))
        try NPY.write(x.rows(240 ..< 300), to: test)
        try NPY.write(integers: Array(labels[240...]), to: FeatureExtraction.labelsPath(for: test))
        func run(_ blockRows: Int?, _ name: String) throws -> SoftmaxFineTuning.Result {
            var s = SoftmaxFineTuning.Settings(network: .random(hidden: [8], activation: .relu), images: ImageSettings())
            (s.validation, s.folder) = (40, folder.path + "/" + name)
            (s.training.maxEpochs, s.training.batchSize, s.training.learningRate) = (8, 20, 0.3)
            return try SoftmaxFineTuning.run(s, features: .init(train: train, test: test, blockRows: blockRows), compute: Compute(cores: 1),
                                             showProgress: false, log: { _ in })
        }
        let inMemory = try run(nil, "memory"), oneBlock = try run(1000, "one"), blocks = try run(30, "blocks")
        #expect(try Data(contentsOf: URL(fileURLWithPath: oneBlock.evaluation.classifierPath)) == Data(contentsOf: URL(fileURLWithPath: inMemory.evaluation.classifierPath)))
        #expect(inMemory.evaluation.confusion.accuracy > 0.8 && blocks.evaluation.confusion.accuracy > 0.8,
                "\(inMemory.evaluation.confusion.accuracy) \(blocks.evaluation.confusion.accuracy)")
        // The saved classifier takes the features themselves.
        let classifier = try Classifier.read(oneBlock.evaluation.classifierPath)
        #expect(try classifier.predict(x.rows(240 ..< 300)).count == 60)
        // A pretrained stack takes images, not features.
        var pretrained = SoftmaxFineTuning.Settings(network: .pretrained(try LayerStack(layers: [try Autoencoder(.init(visibleCount: 6, hiddenCount: 3))]), name: "s"),
                                                    images: ImageSettings())
        pretrained.folder = folder.path + "/refused"
        guard case .invalidArgument(let name, _)? = strataError({ _ = try SoftmaxFineTuning.run(pretrained, features: .init(train: train, test: test), compute: Compute(cores: 1), log: { _ in }) })
        else { Issue.record("a pretrained stack on feature files was accepted"); return }
        #expect(name == "network")
    }
}
