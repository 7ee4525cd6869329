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

/// The built `strata` next to the test bundle (scripts/test.sh builds both:
/// `swift build --product strata`), for the tests that must signal a real process.
enum BuiltTool {
    static let path: String? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidate = root.appendingPathComponent(".build/debug/strata").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    /// Starts `strata ARGUMENTS` in `folder`, its output into `folder/log.txt`;
    /// `environment` is added to this process's (a kernel choice, ``KernelSetting``).
    static func start(_ arguments: [String], in folder: String, environment extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment.merge(extra) { $1 }
        process.environment = environment
        _ = FileManager.default.createFile(atPath: folder + "/log.txt", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/log.txt"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    /// Runs `strata ARGUMENTS` in `folder` to the end; its exit status.
    static func run(_ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> Int32 {
        let process = try start(arguments, in: folder, environment: environment)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Waits (up to 60 s) until `file` exists.
    static func waitFor(_ file: String) {
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: file) && Date() < deadline { usleep(20_000) }
    }
}

/// Runs stop cleanly and resume exactly: SIGINT finishes the batch in
/// progress, writes a checkpoint, exits non-zero saying how to resume, and
/// `--resume` ends with the same bytes as a run never interrupted; kill -9 at
/// any moment leaves a loadable last checkpoint and no temporary file after
/// the next start.
@Suite(.serialized, .needsBuiltTool)
struct InterruptionTests {
    static let pretrain = ["pretrain", "--input", "data.npy", "--learner", "rbm", "--hidden", "32", "--epochs", "4",
                           "--batch-size", "5", "--threads", "1", "--run", "run"]
    static let finetune = ["finetune", "softmax", "--dataset", "images", "--hidden", "32", "--validation", "40", "--epochs", "30",
                           "--patience", "30", "--batch-size", "1", "--threads", "1", "--run", "run"]
    /// An experiment: a pretrained layer, then fine-tuning (stopped in either stage, `train --resume` goes on).
    static let experiment = ["train", "tiny.yaml"]
    static let experimentYAML = """
        name: tiny
        dataset: {name: images}
        layers:
          - learner: autoencoder
            hidden: 16
            corruption: {masking: 0.2}
            training: {batch_size: 1, epochs: 12}
        finetune:
          softmax: {batch_size: 1, epochs: 12, patience: 12}
        validation: 40
        threads: 1
        outputs: {folder: run}
        """

    /// Small data beside the run, so that a run takes about a second and the
    /// signal lands inside it: `data.npy` (binary, 1,000 x 64) and `images/`
    /// (240 labeled 8x8 PNGs in two classes).
    static func prepare(_ folder: TemporaryFolder) throws {
        var random = RandomSource(seed: 11)
        let bits = (0 ..< 64_000).map { _ in Float(random.next() % 2) }
        try NPY.write(Tensor(shape: [1000, 64], scalars: bits), to: folder.file("data.npy"))
        for i in 0 ..< 240 {
            let label = i % 2
            let pixels = (0 ..< 64).map { p in UInt8((p % 8 < 4) == (label == 0) ? 200 : 30) &+ UInt8(truncatingIfNeeded: random.next() % 40) }
            try PNGImage(width: 8, height: 8, channels: 1, pixels: pixels).write(to: folder.file("images/class\(label)/\(i).png"))
        }
        try Data(experimentYAML.utf8).write(to: URL(fileURLWithPath: folder.file("tiny.yaml")))
    }

    /// The bytes an uninterrupted run of `arguments` ends with in `file`.
    func reference(_ arguments: [String], file: String) throws -> Data {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        #expect(try BuiltTool.run(arguments, in: folder.path) == 0, "\((try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? "")")
        return try Data(contentsOf: URL(fileURLWithPath: folder.file("run/" + file)))
    }

    @Test(arguments: [(pretrain, "model.safetensors", "run/monitor.jsonl"), (finetune, "finetune.safetensors", "run/monitor.jsonl"),
                      (experiment, "finetune/classifier.safetensors", "run/layer1/monitor.jsonl"),
                      (experiment, "finetune/classifier.safetensors", "run/finetune/monitor.jsonl")])
    func sigintStopsWithACheckpointAndResumeIsExact(arguments: [String], file: String, started: String) throws {
        let expected = try reference(arguments, file: file)
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        let process = try BuiltTool.start(arguments, in: folder.path)
        BuiltTool.waitFor(folder.file(started)) // training has begun
        usleep(200_000)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let log = (try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 128 + SIGINT, "\(log)")
        #expect(log.contains("stopped by SIGINT") && log.contains("--resume"), "\(log)")
        #expect(try BuiltTool.run(arguments + ["--resume"], in: folder.path) == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/" + file))) == expected, "the resumed run differs from the uninterrupted one")
    }

    @Test(arguments: [(pretrain, "model.safetensors"), (finetune, "finetune.safetensors")])
    func killNineLeavesALoadableCheckpointAndResumeIsExact(arguments: [String], file: String) throws {
        let expected = try reference(arguments, file: file)
        for delay: useconds_t in [100_000, 700_000] {
            let folder = TemporaryFolder()
            try Self.prepare(folder)
            let process = try BuiltTool.start(arguments, in: folder.path)
            BuiltTool.waitFor(folder.file("run/monitor.jsonl"))
            usleep(delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let checkpoint = folder.file("run/" + file)
            let resumable = FileManager.default.fileExists(atPath: checkpoint)
            if resumable { _ = try SafeTensors.read(checkpoint) } // the last checkpoint always loads
            #expect(try BuiltTool.run(arguments + (resumable ? ["--resume"] : []), in: folder.path) == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == expected, "resumed after kill -9 at \(delay) µs: differs")
            let litter = try FileManager.default.contentsOfDirectory(atPath: folder.file("run")).filter { $0.hasSuffix(".tmp") }
            #expect(litter.isEmpty, "temporary files left: \(litter)")
        }
    }
}
