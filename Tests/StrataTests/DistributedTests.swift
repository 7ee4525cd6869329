import Foundation
@testable import Strata
import Testing

/// Open MPI's launcher, for the tests that start ranks on loopback.
enum MPIRun {
    static let path: String? = {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init) + ["/usr/bin"]
        return folders.map { $0 + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// `mpirun -np RANKS strata ARGUMENTS` in `folder` (as root too, more
    /// ranks than cores allowed, shared memory between the ranks), its output
    /// into `folder/mpirun.txt`.
    static func start(ranks: Int, _ arguments: [String], in folder: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader", BuiltTool.path!] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        (environment["OMPI_ALLOW_RUN_AS_ROOT"], environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"]) = ("1", "1")
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        FileManager.default.createFile(atPath: folder + "/mpirun.txt", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/mpirun.txt"))
        (process.standardOutput, process.standardError) = (log, log)
        try process.run()
        return process
    }

    /// Runs to the end (at most 120 s, then the job is killed); the exit status and the output.
    static func run(ranks: Int, _ arguments: [String], in folder: String) throws -> (status: Int32, output: String) {
        let process = try start(ranks: ranks, arguments, in: folder)
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: folder + "/mpirun.txt", encoding: .utf8)) ?? "")
    }
}

/// Synchronous data parallelism across `mpirun` ranks (``DataParallel``,
/// ``GradientAverage``): N ranks with batch b train as one process with batch
/// N·b and per-example random numbers; one rank is a plain process; a killed
/// rank ends the job with a message and leaves a loadable checkpoint.
@Suite(.serialized, .enabled(if: BuiltTool.path != nil, "needs the built strata (swift build --product strata builds it)"),
       .enabled(if: MPIRun.path != nil, "needs Open MPI's mpirun (apt install openmpi-bin; scripts/install-deps.sh installs it)"))
struct DistributedTests {
    static let rbm = ["pretrain", "--input", "data.npy", "--learner", "rbm", "--hidden", "24", "--epochs", "1", "--threads", "1", "--run", "run"]
    static let dae = ["pretrain", "--input", "data.npy", "--learner", "autoencoder", "--corruption", "masking:0.3", "--hidden", "24",
                      "--momentum", "0.5", "--epochs", "1", "--threads", "1", "--run", "run"]
    static let softmax = ["finetune", "softmax", "--dataset", "images", "--hidden", "16", "--hidden-dropout", "0.3", "--validation", "40",
                          "--epochs", "1", "--threads", "1", "--run", "run"]

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
    static func relativeDifference(_ a: String, _ b: String) throws -> Float {
        let (x, y) = (try SafeTensors.read(a), try SafeTensors.read(b))
        #expect(Set(x.tensors.keys) == Set(y.tensors.keys))
        var worst: Float = 0
        for (name, tensor) in x.tensors {
            guard let other = y.tensors[name], other.shape == tensor.shape, tensor.count > 0 else { Issue.record("\(name) differs in shape"); continue }
            let scale = max(tensor.scalars.map(abs).max() ?? 0, 1e-12)
            let difference = zip(tensor.scalars, other.scalars).map { abs($0 - $1) }.max() ?? 0
            worst = max(worst, difference / scale)
        }
        return worst
    }

    @Test(arguments: [(rbm, "model.safetensors"), (dae, "model.safetensors"), (softmax, "finetune.safetensors")])
    func twoRanksTrainAsOneProcessWithTwiceTheBatch(arguments: [String], file: String) throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 2, arguments + ["--batch-size", "10"], in: folder.path)
        #expect(status == 0, "\(output)")
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

    @Test func oneRankUnderMPIRunIsAPlainProcessBitForBit() throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 1, Self.rbm + ["--batch-size", "10"], in: folder.path)
        #expect(status == 0, "\(output)")
        let underMPI = try Data(contentsOf: URL(fileURLWithPath: folder.file("run/model.safetensors")))
        try FileManager.default.removeItem(atPath: folder.file("run"))
        #expect(try BuiltTool.run(Self.rbm + ["--batch-size", "10"], in: folder.path) == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/model.safetensors"))) == underMPI)
    }

    /// Adam's step is not linear in the gradient: pretraining refuses it across ranks, by name.
    @Test func adamAcrossRanksIsRefusedForPretraining() throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 2, Self.rbm + ["--optimizer", "adam"], in: folder.path)
        #expect(status != 0 && output.contains("Adam") && output.contains("rank"), "\(output)")
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
        let children = try String(contentsOfFile: "/proc/\(job.processIdentifier)/task/\(job.processIdentifier)/children", encoding: .utf8)
            .split(separator: " ").compactMap { Int32($0) }
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
