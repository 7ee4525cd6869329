import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataPipeline
import Testing

/// A stage split by image rows: the plan's arithmetic (no MPI).
@Suite struct LocalStagePartitionTests {
    @Test(arguments: [2, 3])
    func partsTileTheStageAndMeetOnlyTheirNeighbours(parts: Int) throws {
        let g = LocalStageGeometry(input: ImageGeometry(height: 28, width: 28), field: 8, stride: 2, maps: 8, poolSize: 3, poolStride: 1, normalizationSize: 5)
        let plan = try LocalStagePartition.plan(g, parts: parts)
        #expect(plan.count == parts)
        #expect(plan.first?.pools.lowerBound == 0 && plan.last?.pools.upperBound == g.poolRows)
        #expect(plan.first?.filterRows.lowerBound == 0 && plan.last?.filterRows.upperBound == g.filterRows)
        #expect(plan.first?.countedInputRows.lowerBound == 0 && plan.last?.countedInputRows.upperBound == g.inputHeight)
        for (a, b) in zip(plan, plan.dropFirst()) {
            #expect(a.pools.upperBound == b.pools.lowerBound && a.filterRows.upperBound == b.filterRows.lowerBound)
            #expect(a.countedInputRows.upperBound == b.countedInputRows.lowerBound)
            #expect(a.readRows.upperBound - a.filterRows.upperBound == b.rowsToPrevious, "the halo one reads is the rows the other sends")
            #expect(a.sharedWithNext == b.sharedWithPrevious && a.poolsToNext == b.poolsFromPrevious)
        }
        // Weights split evenly: no part owns more than one filter row more than another.
        let rows = plan.map(\.filterRows.count)
        #expect(rows.max()! - rows.min()! <= 1, "\(rows)")
        print("split \(parts) ways: filter rows \(rows), values sent per example \(plan.map { $0.valuesSentPerExample(g) })")
    }

    @Test func theLargestSplitsOfTheDocumentedStages() throws {
        let stage1 = LocalStageGeometry(input: ImageGeometry(height: 28, width: 28), field: 8, stride: 2, maps: 16, poolSize: 3, poolStride: 1, normalizationSize: 5)
        let stage2 = LocalStageGeometry(input: ImageGeometry(height: 9, width: 9, channels: 16), field: 4, stride: 1, maps: 32, poolSize: 2, poolStride: 1, normalizationSize: 3)
        var largest: [Int] = []
        for g in [stage1, stage2, ModelParallelCostModel.leEtAl] {
            let p = (1 ... g.poolRows).last { (try? LocalStagePartition.plan(g, parts: $0)) != nil } ?? 1
            #expect(throws: StrataError.self) { _ = try LocalStagePartition.plan(g, parts: p + 1) }
            largest.append(p)
        }
        print("largest splits: tutorial stage 1 \(largest[0]), stage 2 \(largest[1]), Le et al.'s first stage \(largest[2])")
        #expect(largest == [3, 2, 10], "BENCHMARKS.md states these")
    }

    @Test func aSplitThatCannotBeMadeIsRefusedWithTheNearestValidChoice() {
        let g = LocalStageGeometry(input: ImageGeometry(height: 12, width: 12), field: 4, stride: 2, maps: 4, poolSize: 2, poolStride: 1, normalizationSize: 3)
        let error = strataError { _ = try LocalStagePartition.plan(g, parts: 9) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("nearest valid choice is model_parallel: 4"), "\(String(describing: error))")
    }
}

/// One model split across `mpirun` ranks (``ModelParallel``) trains as one process does, to the bit.
@Suite(.serialized, .needsBuiltTool, .needsMPIRun) struct ModelParallelTests {
    /// 60 labeled 16x16 images and a two-stage experiment over them: 3 steps of 20 per epoch.
    static func prepare(_ folder: TemporaryFolder, optimizer: String = "adam", epochs: Int = 1, stages: Int = 2, distributed: String = "sync") throws -> String {
        var random = RandomSource(seed: 9)
        for i in 0 ..< 60 {
            let label = i % 2
            let pixels = (0 ..< 256).map { p in UInt8(((p / 16 < 8) == (label == 0)) ? 170 : 50) &+ UInt8(truncatingIfNeeded: random.next() % 70) }
            try PNGImage(width: 16, height: 16, channels: 1, pixels: pixels).write(to: folder.file("images/class\(label)/\(i).png"))
        }
        let training = "{batch_size: 20, learning_rate: 0.01, optimizer: \(optimizer), epochs: \(epochs), distributed: \(distributed)}"
        let yaml = """
            name: split
            dataset: {name: images}
            validation: 12
            local_stages:
              single_unit: false
              c_grid: [0.1]
              stages:
                - {field: 4, stride: 2, maps: 4, pool: 2, pool_stride: 1, lcn: 3, training: \(training)}
            \(stages > 1 ? "    - {field: 2, stride: 1, maps: 4, pool: 2, pool_stride: 1, lcn: 0, training: \(training)}" : "")
            outputs: {folder: run}
            """
        try yaml.write(toFile: folder.file("split.yaml"), atomically: true, encoding: .utf8)
        return "split.yaml"
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test(arguments: KernelSetting.allCases) func twoPartsOfOneModelTrainAsOneProcessToTheBit(kernels: KernelSetting) throws {
        let folder = TemporaryFolder()
        let file = try Self.prepare(folder)
        #expect(try BuiltTool.run(["train", file, "--out", "one", "--threads", "2"], in: folder.path, environment: kernels.environment) == 0)
        let run = try MPIRun.run(ranks: 2, ["train", file, "--out", "two", "--model-parallel", "2", "--threads", "1"], in: folder.path,
                                 environment: kernels.environment)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("split 2 ways by image rows"), "the plan is printed: \(run.output)")
        #expect(run.output.contains("KB per training step to its neighbours"), "\(run.output)")
        for file in ["stage1/model.safetensors", "stage2/model.safetensors", "stack.safetensors"] {
            let (one, two) = (Self.bytes(folder.file("one/" + file)), Self.bytes(folder.file("two/" + file)))
            #expect(one != nil && one == two, "\(file): 2 parts after 3 Adam steps differ from one process")
        }
    }

    @Test func replicasOfSplitModelsTrainAsReplicasOfWholeOnes() throws {
        let folder = TemporaryFolder()
        let file = try Self.prepare(folder, optimizer: "momentum")
        let whole = try MPIRun.run(ranks: 2, ["train", file, "--out", "r2p1", "--threads", "1"], in: folder.path)
        #expect(whole.status == 0, "\(whole.output)")
        let split = try MPIRun.run(ranks: 4, ["train", file, "--out", "r2p2", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(split.status == 0, "\(split.output)")
        #expect(split.output.contains("(2 replicas)"), "\(split.output)")
        let difference = try DistributedTests.relativeDifference(folder.file("r2p1/stack.safetensors"), folder.file("r2p2/stack.safetensors"))
        print("R = 2, P = 2 against R = 2, P = 1: largest relative difference \(difference)")
        #expect(difference <= 1e-5)
    }

    /// DistBelief's layout with Downpour SGD: two replicas of a two-part
    /// model, each replica's parts fetching and pushing their own bands at the
    /// parameter server. Asynchronous, so not compared to a number: it must
    /// finish and lower the objective.
    @Test func downpourReplicasOfSplitModelsTrain() throws {
        let folder = TemporaryFolder()
        let file = try Self.prepare(folder, optimizer: "momentum", epochs: 3, stages: 1, distributed: "async:1:1")
        let run = try MPIRun.run(ranks: 4, ["train", file, "--out", "downpour", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("(2 replicas)"), "\(run.output)")
        let rows = try MonitorLog.read(folder.file("downpour/stage1/monitor.jsonl")).rows
        let objectives = rows.compactMap { $0["train_objective"] }
        print("Downpour over 2 replicas of 2 parts: objective by epoch \(objectives)")
        #expect(objectives.count == 4 && objectives.last! < objectives.first!, "\(objectives)")
        #expect(FileManager.default.fileExists(atPath: folder.file("downpour/stack.safetensors")))
    }

    @Test func aSplitResumesWholeOnAnotherNumberOfParts() throws {
        let folder = TemporaryFolder()
        // One stage: resuming a stage with more epochs changes the data of the stages above it, which are then refused.
        let file = try Self.prepare(folder, epochs: 2, stages: 1)
        #expect(try BuiltTool.run(["train", file, "--out", "straight", "--threads", "1"], in: folder.path) == 0)
        let first = try MPIRun.run(ranks: 2, ["train", file, "--out", "resumed", "--model-parallel", "2", "--max-epochs", "1", "--threads", "1"], in: folder.path)
        #expect(first.status == 0, "\(first.output)")
        #expect(try BuiltTool.run(["train", file, "--out", "resumed", "--resume", "--threads", "1"], in: folder.path) == 0)
        #expect(Self.bytes(folder.file("straight/stack.safetensors")) == Self.bytes(folder.file("resumed/stack.safetensors")),
                "two parts for an epoch, then one process, end where one process ends")
    }

    /// An autoencoder split by hidden units: its reconstruction summed over the parts.
    static let autoencoder = ["pretrain", "--dataset", "images", "--learner", "autoencoder", "--hidden", "24", "--corruption", "masking:0.2",
                              "--batch-size", "20", "--epochs", "1", "--learning-rate", "0.1", "--momentum", "0.5"]
    /// An RBM split by hidden units (CD-1, binary units sampled): its visible
    /// pre-activation summed over the parts each Gibbs step. A split RBM draws
    /// per example, so one process draws so too.
    static let rbm = ["pretrain", "--dataset", "images", "--learner", "rbm", "--hidden", "24", "--batch-size", "20", "--epochs", "1",
                      "--learning-rate", "0.05", "--momentum", "0.5"]

    /// A fine-tuned network's hidden layers split by units (maxout pieces
    /// together, dropout, the softmax layer's column norms summed over the
    /// parts; batch normalization, whose cancelled biases are rounding noise of 1e-11, measured against 1e-3). Momentum, not Adam: Adam scales a
    /// gradient of rounding noise up to a step of the learning rate.
    static let network = ["finetune", "softmax", "--dataset", "images", "--hidden", "24,16", "--activation", "maxout", "--maxout-pieces", "2",
                          "--hidden-dropout", "0.2", "--max-column-norm", "1", "--momentum", "0.5", "--epochs", "1", "--batch-size", "20",
                          "--learning-rate", "0.05", "--validation", "12"]
    static let normalizedNetwork = ["finetune", "softmax", "--dataset", "images", "--hidden", "24,16", "--batch-norm", "true", "--hidden-dropout", "0.2",
                                    "--epochs", "1", "--batch-size", "20", "--learning-rate", "0.05", "--validation", "12"]

    @Test(arguments: ["autoencoder", "rbm", "network", "normalized network"]) func aLayerSplitByHiddenUnitsTrainsAsOneProcess(learner: String) throws {
        let folder = TemporaryFolder()
        _ = try Self.prepare(folder)
        let arguments = ["autoencoder": Self.autoencoder, "rbm": Self.rbm, "network": Self.network, "normalized network": Self.normalizedNetwork][learner]!
        let oneProcess = learner == "rbm" ? ["--random-per-example"] : []
        let (file, floor): (String, Float) = learner.hasSuffix("network") ? ("finetune.safetensors", learner == "network" ? 1e-12 : 1e-3) : ("model.safetensors", 1e-12)
        #expect(try BuiltTool.run(arguments + oneProcess + ["--run", "one", "--threads", "2"], in: folder.path) == 0)
        let two = try MPIRun.run(ranks: 2, arguments + ["--run", "two", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(two.status == 0, "\(two.output)")
        let plan = learner.hasSuffix("network") ? "part 0: units 0-11, 0-7; part 1: units 12-23, 8-15" : "part 0: units 0-11, part 1: units 12-23"
        #expect(two.output.contains("split 2 ways by hidden units (1 replica): " + plan), "\(two.output)")
        let split = try MPIRun.run(ranks: 4, arguments + ["--run", "four", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(split.status == 0, "\(split.output)")
        let whole = try MPIRun.run(ranks: 2, arguments + ["--run", "replicas", "--threads", "1"], in: folder.path)
        #expect(whole.status == 0, "\(whole.output)")
        let (p2, r2p2) = (try DistributedTests.relativeDifference(folder.file("one/" + file), folder.file("two/" + file), floor: floor),
                          try DistributedTests.relativeDifference(folder.file("replicas/" + file), folder.file("four/" + file), floor: floor))
        print("\(learner) split by hidden units after 3 steps: P = 2 against one process \(p2); R = 2, P = 2 against R = 2, P = 1 \(r2p2)")
        #expect(p2 <= 1e-5 && r2p2 <= 1e-5)
    }

    /// A layer wider than one piece (256 x 4,200 weights: runs of 249 rows
    /// and then 7) is written by part 0 from the parts' streamed bands, the
    /// one process's checkpoint to rounding, and resumes on one process.
    @Test func aWideSplitLayersCheckpointIsStreamedInRunsOfRows() throws {
        let folder = TemporaryFolder()
        _ = try Self.prepare(folder)
        let wide = ["pretrain", "--dataset", "images", "--learner", "autoencoder", "--hidden", "4200", "--batch-size", "20",
                    "--learning-rate", "0.01", "--momentum", "0.5"]
        let firstEpoch = wide + ["--epochs", "1"]
        #expect(try BuiltTool.run(firstEpoch + ["--run", "one", "--threads", "2"], in: folder.path) == 0)
        let two = try MPIRun.run(ranks: 2, firstEpoch + ["--run", "two", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(two.status == 0, "\(two.output)")
        let difference = try DistributedTests.relativeDifference(folder.file("one/model.safetensors"), folder.file("two/model.safetensors"), floor: 1e-12)
        #expect(try BuiltTool.run(wide + ["--epochs", "2", "--run", "two", "--resume", "--threads", "2"], in: folder.path) == 0)
        #expect(try BuiltTool.run(wide + ["--epochs", "2", "--run", "one", "--resume", "--threads", "2"], in: folder.path) == 0)
        let resumed = try DistributedTests.relativeDifference(folder.file("one/model.safetensors"), folder.file("two/model.safetensors"), floor: 1e-12)
        print("a 256 x 4200 layer split in 2, streamed to its checkpoint: against one process \(difference); both resumed by one process for an epoch \(resumed)")
        #expect(difference <= 1e-5 && resumed <= 1e-5)
    }

    /// Two replicas of an RBM split in two, trained by PCD: the checkpoint
    /// holds both replicas' chains (the global batch's), and a resumed run
    /// gives each replica its band again, so it ends on the straight run's bytes.
    @Test func replicasOfASplitPCDRunResumeToTheStraightRunsBytes() throws {
        let folder = TemporaryFolder()
        _ = try Self.prepare(folder)
        let pcd = Self.rbm.filter { $0 != "--epochs" && $0 != "1" } + ["--objective", "pcd:1", "--model-parallel", "2", "--threads", "1"]
        let straight = try MPIRun.run(ranks: 4, pcd + ["--epochs", "2", "--run", "straight"], in: folder.path)
        #expect(straight.status == 0, "\(straight.output)")
        for extra in [["--epochs", "1"], ["--epochs", "2", "--resume"]] {
            let run = try MPIRun.run(ranks: 4, pcd + extra + ["--run", "resumed"], in: folder.path)
            #expect(run.status == 0, "\(run.output)")
        }
        let chains = try SafeTensors.read(folder.file("resumed/model.safetensors")).tensors["training.persistent_chain"]
        #expect(chains?.rows == 40, "both replicas' 20 chains")
        #expect(Self.bytes(folder.file("straight/model.safetensors")) == Self.bytes(folder.file("resumed/model.safetensors")))
    }

    /// A learner that is not split is refused with the reason, before it trains.
    @Test func aLearnerThatIsNotSplitIsRefused() throws {
        let folder = TemporaryFolder()
        _ = try Self.prepare(folder)
        let kmeans = try MPIRun.run(ranks: 2, ["pretrain", "--dataset", "images", "--learner", "kmeans", "--hidden", "8", "--epochs", "1",
                                               "--run", "kmeans", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(kmeans.status != 0 && kmeans.output.contains("splits an autoencoder or an RBM by hidden units"), "\(kmeans.output)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("kmeans/model.safetensors")))
    }

    @Test func partsThatDoNotDivideTheRanksAreRefused() throws {
        let folder = TemporaryFolder()
        let file = try Self.prepare(folder)
        let run = try MPIRun.run(ranks: 3, ["train", file, "--out", "three", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(run.status != 0)
        #expect(run.output.contains("valid choices for 3 ranks: model_parallel 1, 3"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("three/stack.safetensors")))
    }
}
