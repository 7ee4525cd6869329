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

/// Synchronous data parallelism across `mpirun` ranks (``DataParallel``,
/// ``GradientAverage``): N ranks with batch b train as one process with batch
/// N·b and per-example random numbers; one rank is a plain process; a killed
/// rank ends the job with a message and leaves a loadable checkpoint.
@Suite(.serialized, .needsBuiltTool, .needsMPIRun)
struct DistributedTests {
    static let rbm = ["pretrain", "--input", "data.npy", "--learner", "rbm", "--hidden", "24", "--epochs", "1", "--threads", "1", "--run", "run"]
    static let dae = ["pretrain", "--input", "data.npy", "--learner", "autoencoder", "--corruption", "masking:0.3", "--hidden", "24",
                      "--momentum", "0.5", "--epochs", "1", "--threads", "1", "--run", "run"]
    static let softmax = ["finetune", "softmax", "--dataset", "images", "--hidden", "16", "--hidden-dropout", "0.3", "--validation", "40",
                          "--epochs", "1", "--threads", "1", "--run", "run"]

    /// The processes `mpirun` (process `pid`) started: the ranks.
    static func children(of pid: Int32) -> [Int32] {
        let list = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return list.split(separator: " ").compactMap { Int32($0) }
    }

    /// `arguments` with `flag`'s value replaced by `value`.
    static func setting(_ arguments: [String], _ flag: String, _ value: String) -> [String] {
        var changed = arguments
        if let i = changed.firstIndex(of: flag) { changed[i + 1] = value }
        return changed
    }

    /// `data.npy` (binary, 60 x 64: three steps of 20) and `images/` (100 labeled 8x8 PNGs, 40 held out: three steps of 20).
    static func prepare(_ folder: TemporaryFolder) throws {
        var random = RandomSource(seed: 5)
        try NPY.write(Tensor(shape: [60, 64], scalars: (0 ..< 3840).map { _ in Float(random.next() % 3 == 0 ? 1 : 0) }), to: folder.file("data.npy"))
        for i in 0 ..< 100 {
            let label = i % 2
            let pixels = (0 ..< 64).map { p in UInt8((p % 8 < 4) == (label == 0) ? 180 : 40) &+ UInt8(truncatingIfNeeded: random.next() % 60) }
            try PNGImage(width: 8, height: 8, channels: 1, pixels: pixels).write(to: folder.file("images/class\(label)/\(i).png"))
        }
    }

    /// The largest difference between the two files' tensors, relative to the largest magnitude of each.
    /// The largest difference between two files' tensors, relative to each
    /// tensor's largest value (at least `floor`: a tensor of rounding noise,
    /// such as a bias that batch normalization cancels, is measured against it).
    static func relativeDifference(_ a: String, _ b: String, floor: Float = 1e-12) throws -> Float {
        let (x, y) = (try SafeTensors.read(a), try SafeTensors.read(b))
        #expect(Set(x.tensors.keys) == Set(y.tensors.keys))
        var worst: Float = 0
        for (name, tensor) in x.tensors {
            guard let other = y.tensors[name], other.shape == tensor.shape, tensor.count > 0 else { Issue.record("\(name) differs in shape"); continue }
            let scale = max(tensor.scalars.map(abs).max() ?? 0, floor)
            let difference = zip(tensor.scalars, other.scalars).map { abs($0 - $1) }.max() ?? 0
            worst = max(worst, difference / scale)
        }
        return worst
    }

    static let kmeans = ["pretrain", "--input", "data.npy", "--learner", "kmeans", "--hidden", "40", "--epochs", "3", "--threads", "1", "--run", "run"]

    @Test(arguments: [(rbm, "model.safetensors"), (rbm + ["--objective", "pcd:1"], "model.safetensors"), (dae, "model.safetensors"),
                      (kmeans, "model.safetensors"), (softmax, "finetune.safetensors"),
                      (softmax + ["--augment-flip", "true", "--augment-shift", "1"], "finetune.safetensors")])
    func twoRanksTrainAsOneProcessWithTwiceTheBatch(arguments: [String], file: String) throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 2, arguments + ["--batch-size", "10"], in: folder.path)
        #expect(status == 0, "\(output)")
        #expect(output.contains("ranks: synchronous data parallelism over 2 ranks"), "the log names the ranks and the mode: \(output)")
        try FileManager.default.moveItem(atPath: folder.file("run"), toPath: folder.file("ranks"))
        #expect(try BuiltTool.run(arguments + ["--batch-size", "20", "--random-per-example"], in: folder.path) == 0,
                "\((try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? "")")
        let difference = try Self.relativeDifference(folder.file("ranks/" + file), folder.file("run/" + file))
        #expect(difference < 1e-5, "2 ranks x 10 against 1 process x 20: \(difference)")
        // Without per-example random numbers the single process draws otherwise: the agreement above is not an accident.
        try FileManager.default.removeItem(atPath: folder.file("run"))
        #expect(try BuiltTool.run(arguments + ["--batch-size", "20"], in: folder.path) == 0)
        #expect(try Self.relativeDifference(folder.file("ranks/" + file), folder.file("run/" + file)) > 1e-4)
    }

    /// Sandblaster L-BFGS: the ranks take the chunks of each full-batch
    /// gradient as they finish (the log says how many each took), and
    /// after three iterations the network is one process's to rounding.
    @Test func sandblasterLBFGSAcrossRanksIsOneProcesssLBFGS() throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let arguments = Self.setting(Self.setting(Self.softmax, "--hidden-dropout", "0"), "--epochs", "3") + ["--optimizer", "lbfgs", "--batch-size", "5"]
        let (status, output) = try MPIRun.run(ranks: 2, arguments, in: folder.path)
        #expect(status == 0, "\(output)")
        // "L-BFGS 1: ..., chunks by rank 7/5": every chunk of the pass taken once, however the ranks shared them.
        let totals = output.components(separatedBy: "\n").filter { $0.contains("chunks by rank ") }
            .map { $0.components(separatedBy: "chunks by rank ").last!.split(separator: "/").compactMap { Int($0) } }
        #expect(totals.count == 3 && totals.allSatisfy { $0.count == 2 && $0.reduce(0, +) == totals[0].reduce(0, +) && $0.reduce(0, +) > 2 }, "\(output)")
        try FileManager.default.moveItem(atPath: folder.file("run"), toPath: folder.file("ranks"))
        #expect(try BuiltTool.run(arguments, in: folder.path) == 0)
        let difference = try Self.relativeDifference(folder.file("ranks/finetune.safetensors"), folder.file("run/finetune.safetensors"))
        #expect(difference < 1e-5, "2 ranks against 1 process: \(difference)")
    }

    /// PCD across ranks: each rank keeps the chains of its band, and the
    /// checkpoint holds every rank's, in rank order (one process's 20
    /// chains), so 2 ranks resume it exactly and one process with the
    /// global batch resumes it as well, to the same network.
    @Test func pcdChainsAreCheckpointedWholeAndResumeOnAnyNumberOfRanks() throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let arguments = Self.rbm + ["--objective", "pcd:1", "--batch-size", "10"]
        #expect(try MPIRun.run(ranks: 2, arguments, in: folder.path).status == 0)
        let saved = try SafeTensors.read(folder.file("run/model.safetensors"))
        #expect(saved.tensors["training.persistent_chain"]?.shape == [20, 64], "the chains of both ranks")
        try FileManager.default.copyItem(atPath: folder.file("run"), toPath: folder.file("one"))
        let resumed = try MPIRun.run(ranks: 2, Self.setting(arguments, "--epochs", "2") + ["--resume"], in: folder.path)
        #expect(resumed.status == 0, "\(resumed.output)")
        try FileManager.default.moveItem(atPath: folder.file("run"), toPath: folder.file("ranks"))
        #expect(try MPIRun.run(ranks: 2, Self.setting(arguments, "--epochs", "2"), in: folder.path).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/model.safetensors")))
                == Data(contentsOf: URL(fileURLWithPath: folder.file("ranks/model.safetensors"))), "2 ranks resumed = 2 ranks never stopped")
        try FileManager.default.removeItem(atPath: folder.file("run"))
        try FileManager.default.moveItem(atPath: folder.file("one"), toPath: folder.file("run"))
        #expect(try BuiltTool.run(Self.setting(Self.setting(arguments, "--epochs", "2"), "--batch-size", "20") + ["--random-per-example", "--resume"],
                                  in: folder.path) == 0, "\((try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? "")")
        let difference = try Self.relativeDifference(folder.file("ranks/model.safetensors"), folder.file("run/model.safetensors"))
        #expect(difference < 1e-5, "one process resuming the 2 ranks' checkpoint: \(difference)")
    }

    @Test(arguments: KernelSetting.allCases) func oneRankUnderMPIRunIsAPlainProcessBitForBit(kernels: KernelSetting) throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 1, Self.rbm + ["--batch-size", "10"], in: folder.path, environment: kernels.environment)
        #expect(status == 0, "\(output)")
        let underMPI = try Data(contentsOf: URL(fileURLWithPath: folder.file("run/model.safetensors")))
        try FileManager.default.removeItem(atPath: folder.file("run"))
        #expect(try BuiltTool.run(Self.rbm + ["--batch-size", "10"], in: folder.path, environment: kernels.environment) == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/model.safetensors"))) == underMPI)
    }

    /// Adam's step is not linear in the gradient: pretraining refuses it across ranks, by name.
    @Test func adamAcrossRanksIsRefusedForPretraining() throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 2, Self.rbm + ["--optimizer", "adam"], in: folder.path)
        #expect(status != 0 && output.contains("Adam") && output.contains("rank"), "\(output)")
    }

    /// Downpour SGD (`--distributed async:2:2`): the replicas train
    /// without waiting for each other, and the objective still falls; the
    /// fine-tuned network learns the two classes, with batch norm too.
    @Test func downpourLowersTheObjectiveAndLearns() throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 2, Self.setting(Self.dae, "--epochs", "4") + ["--batch-size", "5", "--distributed", "async:2:2"],
                                              in: folder.path)
        #expect(status == 0, "\(output)")
        let objectives = try MonitorLog.read(folder.file("run/monitor.jsonl")).rows.compactMap { $0["train_objective"] }
        #expect(objectives.count == 5 && objectives.last! < objectives.first!, "\(objectives)")
        try FileManager.default.removeItem(atPath: folder.file("run"))
        let tuned = try MPIRun.run(ranks: 2, Self.setting(Self.softmax, "--epochs", "5") + ["--batch-size", "5", "--distributed", "async"], in: folder.path)
        #expect(tuned.status == 0 && tuned.output.contains("test accuracy"), "\(tuned.output)")
        let errors = try MonitorLog.read(folder.file("run/monitor.jsonl")).rows.compactMap { $0["valid_y_misclass"] }
        #expect((errors.min() ?? 1) < 0.2, "\(errors)")
        // With batch norm: gamma and beta live on the server, the running statistics are averaged at each meeting.
        try FileManager.default.removeItem(atPath: folder.file("run"))
        let normalized = try MPIRun.run(ranks: 2, Self.setting(Self.softmax, "--epochs", "5") + ["--batch-size", "5", "--distributed", "async", "--batch-norm", "true"],
                                        in: folder.path)
        #expect(normalized.status == 0 && normalized.output.contains("test accuracy"), "\(normalized.output)")
        let normalizedErrors = try MonitorLog.read(folder.file("run/monitor.jsonl")).rows.compactMap { $0["valid_y_misclass"] }
        #expect((normalizedErrors.min() ?? 1) < 0.2, "\(normalizedErrors)")
    }

    /// Downpour's AdaGrad accumulators are saved with the model and put back
    /// on the server by `--resume`: they only grow (`G += g²`), so after a
    /// resumed epoch every one is at least its saved value, which a server
    /// started afresh (from 0) would not give.
    @Test func downpoursAccumulatorsSurviveAResume() throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let arguments = Self.dae + ["--batch-size", "5", "--distributed", "async:2:2"]
        let first = try MPIRun.run(ranks: 2, arguments, in: folder.path)
        #expect(first.status == 0, "\(first.output)")
        let saved = try SafeTensors.read(folder.file("run/model.safetensors")).tensor("downpour.adagrad")
        #expect(saved.scalars.contains { $0 > 0 } && saved.scalars.allSatisfy { $0 >= 0 })
        let resumed = try MPIRun.run(ranks: 2, Self.setting(arguments, "--epochs", "2") + ["--resume"], in: folder.path)
        #expect(resumed.status == 0, "\(resumed.output)")
        let after = try SafeTensors.read(folder.file("run/model.safetensors")).tensor("downpour.adagrad")
        #expect(after.shape == saved.shape && zip(after.scalars, saved.scalars).allSatisfy { $0 >= $1 } && after != saved)
        #expect(try LearnerCheckpoint.read(folder.file("run/model.safetensors")).downpourAccumulators == after, "the checkpoint still loads, accumulators and all")
    }

    /// SIGTERM to one rank (as a scheduler or `mpirun` sends it): every
    /// rank stops after the same batch, the checkpoint is written, and
    /// `--resume` under `mpirun` ends with the bytes of a run never stopped.
    /// K-means stopped inside an epoch saves the ranks' partial sums added
    /// together; rank 0 carries them on after the resume, so the epoch's sum
    /// is added in another order: the same centroids to rounding.
    @Test(arguments: [(["--learner", "rbm", "--hidden", "32"], true), (["--learner", "kmeans", "--hidden", "48"], false)])
    func aStopReachesEveryRankAndResumeIsExact(learner: [String], bitForBit: Bool) throws {
        let arguments = ["pretrain", "--input", "data.npy"] + learner + ["--epochs", "3", "--batch-size", "5", "--threads", "1", "--run", "run"]
        func prepare(_ folder: TemporaryFolder) throws {
            var random = RandomSource(seed: 9)
            try NPY.write(Tensor(shape: [3000, 64], scalars: (0 ..< 192_000).map { _ in Float(random.next() % 2) }), to: folder.file("data.npy"))
        }
        let whole = TemporaryFolder()
        try prepare(whole)
        #expect(try MPIRun.run(ranks: 2, arguments, in: whole.path).status == 0)
        let folder = TemporaryFolder()
        try prepare(folder)
        let job = try MPIRun.start(ranks: 2, arguments, in: folder.path)
        BuiltTool.waitFor(folder.file("run/model.safetensors")) // the first epoch is done
        // The signal reaches one rank only: the other stops with it, after the same batch.
        let ranks = Self.children(of: job.processIdentifier)
        #expect(ranks.count == 2, "the ranks of the job: \(ranks)")
        if let one = ranks.first { kill(one, SIGTERM) }
        job.waitUntilExit()
        let output = (try? String(contentsOfFile: folder.file("mpirun.txt"), encoding: .utf8)) ?? ""
        #expect(job.terminationStatus != 0 && output.contains("stopped by SIG") && output.contains("--resume"), "\(output)")
        let resumed = try MPIRun.run(ranks: 2, arguments + ["--resume"], in: folder.path)
        #expect(resumed.status == 0, "\(resumed.output)")
        if bitForBit {
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/model.safetensors")))
                    == Data(contentsOf: URL(fileURLWithPath: whole.file("run/model.safetensors"))), "the resumed run differs from the uninterrupted one")
        } else {
            let difference = try Self.relativeDifference(folder.file("run/model.safetensors"), whole.file("run/model.safetensors"))
            #expect(difference < 1e-5, "the resumed run against the uninterrupted one: \(difference)")
        }
    }

    /// The one-vs-rest SVM across ranks: each rank solves its band of the
    /// classes, and the classifier (and the search for C) is one process's,
    /// byte for byte, under the wide kernels and the generic ones.
    @Test(arguments: KernelSetting.allCases) func theSVMsClassesSpreadOverRanksGiveOneProcesssClassifier(kernels: KernelSetting) throws {
        let folder = TemporaryFolder()
        let (x, labels) = blobs(classes: 4, perClass: 50, dimensions: 6, spread: 0.9, seed: 17)
        try writeFeatureFiles(x, labels: labels, trainRows: 160, in: folder)
        let arguments = ["finetune", "svm", "--train-features", "train.npy", "--test-features", "test.npy", "--validation", "40",
                         "--c-grid", "0.01,0.1,1", "--threads", "1", "--run", "run"]
        let (status, output) = try MPIRun.run(ranks: 2, arguments, in: folder.path, environment: kernels.environment)
        #expect(status == 0, "\(output)")
        let ranks = try Data(contentsOf: URL(fileURLWithPath: folder.file("run/classifier.safetensors")))
        try FileManager.default.removeItem(atPath: folder.file("run"))
        #expect(try BuiltTool.run(arguments, in: folder.path, environment: kernels.environment) == 0, "\((try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? "")")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/classifier.safetensors"))) == ranks)
    }

    /// Convolutional features split by image shards: each rank extracts a
    /// band of the images and one allgather completes them, so the SVM on a
    /// patch-trained stack is one process's classifier, byte for byte, under
    /// the wide kernels and the generic ones (whose products round a row by
    /// its place in the product: the cuts follow the images' global indices).
    @Test(arguments: KernelSetting.allCases) func featuresExtractedByImageShardsGiveOneProcesssClassifier(kernels: KernelSetting) throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        #expect(try BuiltTool.run(["pretrain", "--dataset", "images", "--window", "4", "--random", "200", "--learner", "rbm", "--hidden", "6",
                                   "--epochs", "1", "--threads", "1", "--run", "patches"], in: folder.path) == 0)
        let arguments = ["finetune", "svm", "--stack", "patches/stack.safetensors", "--dataset", "images", "--stride", "2", "--validation", "20",
                         "--c-grid", "0.1,1", "--threads", "1", "--run", "run"]
        let (status, output) = try MPIRun.run(ranks: 2, arguments, in: folder.path, environment: kernels.environment)
        #expect(status == 0 && output.contains("each rank a shard of"), "\(output)")
        let ranks = try Data(contentsOf: URL(fileURLWithPath: folder.file("run/classifier.safetensors")))
        try FileManager.default.removeItem(atPath: folder.file("run"))
        #expect(try BuiltTool.run(arguments, in: folder.path, environment: kernels.environment) == 0, "\((try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? "")")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/classifier.safetensors"))) == ranks)
        // `strata features` writes the same file from 2 ranks as from one process.
        let features = ["features", "patches/stack.safetensors", "--dataset", "images", "--stride", "2", "--images-per-batch", "4", "--threads", "1"]
        #expect(try MPIRun.run(ranks: 2, features + ["-o", "ranks.npy"], in: folder.path, environment: kernels.environment).status == 0)
        #expect(try BuiltTool.run(features + ["-o", "one.npy"], in: folder.path, environment: kernels.environment) == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("ranks.npy"))) == Data(contentsOf: URL(fileURLWithPath: folder.file("one.npy"))))
    }

    /// The thread count changes the speed, never the result, under the wide
    /// kernels and the generic ones: pretraining, fine-tuning and convolutional
    /// features give the same bytes on one core and on two.
    @Test(arguments: KernelSetting.allCases) func theThreadCountNeverChangesTheResult(kernels: KernelSetting) throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let features = ["features", "patches/stack.safetensors", "--dataset", "images", "--stride", "2", "--images-per-batch", "4"]
        let runs: [(arguments: [String], file: String)] = [
            (Self.dae + ["--batch-size", "10"], "run/model.safetensors"), (Self.softmax + ["--batch-size", "10"], "run/finetune.safetensors"),
            (features + ["-o", "features.npy"], "features.npy"),
        ]
        #expect(try BuiltTool.run(["pretrain", "--dataset", "images", "--window", "4", "--random", "200", "--learner", "rbm", "--hidden", "6",
                                   "--epochs", "1", "--threads", "1", "--run", "patches"], in: folder.path, environment: kernels.environment) == 0)
        for run in runs {
            var outputs: [Data] = []
            for threads in ["1", "2"] {
                for old in ["run", "features.npy"] { try? FileManager.default.removeItem(atPath: folder.file(old)) }
                let arguments = run.arguments.contains("--threads") ? Self.setting(run.arguments, "--threads", threads) : run.arguments + ["--threads", threads]
                #expect(try BuiltTool.run(arguments, in: folder.path, environment: kernels.environment) == 0,
                        "\((try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? "")")
                outputs.append(try Data(contentsOf: URL(fileURLWithPath: folder.file(run.file))))
            }
            #expect(outputs[0] == outputs[1], "\(run.arguments[0]) under \(kernels): 1 and 2 threads differ")
        }
    }

    /// kill -9 of one rank: `mpirun` ends the job non-zero, naming what
    /// happened, within seconds (no rank hangs in a collective), and the last
    /// checkpoint loads.
    @Test func aKilledRankEndsTheJobAndTheLastCheckpointLoads() throws {
        let folder = TemporaryFolder()
        var random = RandomSource(seed: 8)
        try NPY.write(Tensor(shape: [4000, 64], scalars: (0 ..< 256_000).map { _ in Float(random.next() % 2) }), to: folder.file("data.npy"))
        let job = try MPIRun.start(ranks: 2, ["pretrain", "--input", "data.npy", "--learner", "rbm", "--hidden", "64", "--epochs", "1000",
                                              "--batch-size", "5", "--threads", "1", "--run", "run"], in: folder.path)
        BuiltTool.waitFor(folder.file("run/model.safetensors")) // an epoch is done
        let children = Self.children(of: job.processIdentifier)
        #expect(children.count == 2, "the ranks of the job: \(children)")
        if let victim = children.last { kill(victim, SIGKILL) }
        let deadline = Date().addingTimeInterval(30)
        while job.isRunning && Date() < deadline { usleep(20_000) }
        let ended = !job.isRunning
        if !ended { kill(job.processIdentifier, SIGKILL) }
        job.waitUntilExit()
        let output = (try? String(contentsOfFile: folder.file("mpirun.txt"), encoding: .utf8)) ?? ""
        #expect(ended && job.terminationStatus != 0, "the job went on without a rank: \(output)")
        #expect(output.contains("signal 9") || output.contains("Killed"), "\(output)")
        _ = try SafeTensors.read(folder.file("run/model.safetensors"))
    }
}
