import Foundation
import Strata
@testable import StrataCore
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataPipeline
import Testing

/// Training that survives a lost process (`strata launch`, ``ElasticLaunch``):
/// a rank killed with SIGKILL at a random moment, the job restarted from its
/// latest checkpoint by itself; a synchronous run then ends with the model an
/// undisturbed one gives, byte for byte; a Downpour run ends, and a process
/// that joins pushes. The parameter server's shards, its refusal of NaN.
@Suite(.serialized, .needsBuiltTool, .needsMPIRun)
struct ElasticTests {
    static let mpirunOptions = ["--mpirun-options=--bind-to none --mca btl self,vader"]
    static func finetune(epochs: Int, _ more: [String] = []) -> [String] {
        ["finetune", "softmax", "--dataset", "images", "--hidden", "16", "--validation", "40", "--epochs", "\(epochs)", "--batch-size", "5",
         "--threads", "1", "--run", "run"] + more
    }
    static let environment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]

    /// Every process under `pid` (its children, theirs, ...).
    static func descendants(of pid: Int32) -> [Int32] {
        DistributedTests.children(of: pid).flatMap { [$0] + descendants(of: $0) }
    }

    /// The ranks of the launcher's current job: the `strata` processes under its `mpirun`.
    static func ranks(of launcher: Int32) -> [Int32] {
        descendants(of: launcher).filter { pid in
            let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            return command.contains("strata") && command.contains("finetune")
        }
    }

    /// Waits (up to `seconds`) until `condition` holds; whether it did.
    static func wait(seconds: Double = 120, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() && Date() < deadline { usleep(20_000) }
        return condition()
    }

    /// The launcher's run to its end (killed after `seconds`); its status and log.
    static func finish(_ launcher: Process, folder: TemporaryFolder, seconds: Double = 240) -> (status: Int32, log: String) {
        if !wait(seconds: seconds, until: { !launcher.isRunning }) {
            for pid in descendants(of: launcher.processIdentifier) { kill(pid, SIGKILL) }
            kill(launcher.processIdentifier, SIGKILL)
        }
        launcher.waitUntilExit()
        return (launcher.terminationStatus, (try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? "")
    }

    static func attempts(_ folder: TemporaryFolder) throws -> [ElasticLaunch.Attempt] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try String(contentsOfFile: folder.file("run/launch.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try decoder.decode(ElasticLaunch.Attempt.self, from: Data($0.utf8)) }
    }

    /// The MPI rank of process `pid` (Open MPI puts it in the environment).
    static func rankNumber(_ pid: Int32) -> Int? {
        let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
        return environment.split(separator: 0).lazy.map { String(decoding: $0, as: UTF8.self) }
            .first { $0.hasPrefix("OMPI_COMM_WORLD_RANK=") }.flatMap { Int($0.dropFirst("OMPI_COMM_WORLD_RANK=".count)) }
    }

    /// Kills rank `victim` (nil: one at random) once rank 0 has made `step` steps; the step it had made.
    static func killARank(of launcher: Process, afterStep step: Int, folder: TemporaryFolder, victim: Int? = nil, random: inout RandomSource) -> Int? {
        let progress = folder.file("run/launch.progress")
        guard wait(until: { (RunProgress.Reading.read(progress)?.steps ?? 0) >= step || !launcher.isRunning }), launcher.isRunning else { return nil }
        let ranks = ranks(of: launcher.processIdentifier)
        guard !ranks.isEmpty else { return nil }
        let chosen = victim.flatMap { v in ranks.first { rankNumber($0) == v } } ?? ranks[Int(random.next() % UInt64(ranks.count))]
        kill(chosen, SIGKILL)
        return RunProgress.Reading.read(progress)?.steps
    }

    /// Synchronous data parallelism over 3 ranks, one killed at a random
    /// step: the launcher restarts the job from the checkpoint (every 3
    /// steps), and the run ends with the classifier and checkpoint of a run
    /// never disturbed, byte for byte.
    @Test func aSyncRunRestartedAfterALostRankEndsWithTheUndisturbedModel() throws {
        let arguments = ["launch", "--ranks", "3"] + Self.mpirunOptions + ["--"] + Self.finetune(epochs: 40, ["--checkpoint-every-steps", "3", "--patience", "1000"]) // 160 steps
        let whole = TemporaryFolder()
        try DistributedTests.prepare(whole)
        let undisturbed = Self.finish(try BuiltTool.start(arguments, in: whole.path, environment: Self.environment), folder: whole)
        #expect(undisturbed.status == 0, "\(undisturbed.log)")
        let folder = TemporaryFolder()
        try DistributedTests.prepare(folder)
        var random = RandomSource(seed: UInt64(Date().timeIntervalSince1970))
        let step = 10 + Int(random.next() % 60)
        let launcher = try BuiltTool.start(arguments, in: folder.path, environment: Self.environment)
        let killedAt = Self.killARank(of: launcher, afterStep: step, folder: folder, random: &random)
        let (status, log) = Self.finish(launcher, folder: folder)
        #expect(killedAt != nil && status == 0, "killed after step \(killedAt ?? -1): \(log)")
        let attempts = try Self.attempts(folder)
        print("sync: a rank killed after step \(killedAt ?? -1); starts: \(attempts.map { "\($0.outcome) (\($0.stepsRedone.map { "\($0) steps redone" } ?? "-"))" })")
        #expect(attempts.map(\.outcome) == ["lost_process", "finished"] && (attempts.first?.stepsRedone ?? 99) <= 3, "\(attempts)") // at most K = 3
        #expect(log.contains("a process was lost") && log.contains("redoing"), "\(log)")
        for file in ["run/classifier.safetensors", "run/finetune.safetensors"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file(file))) == Data(contentsOf: URL(fileURLWithPath: whole.file(file))),
                    "\(file): the restarted run differs from the undisturbed one")
        }
    }

    /// Downpour over 3 replicas, the server in 2 shards (on ranks 0 and 1);
    /// rank 1, a replica holding a shard, killed with SIGKILL at a random
    /// step: the job goes on from its checkpoint and ends with exit 0 and a
    /// model that evaluates; a process that then joins (`strata launch
    /// --join`) makes the job 4 replicas, and its pushes are counted.
    @Test func aDownpourRunSurvivesAKilledReplicaAndTakesOneThatJoins() throws {
        let folder = TemporaryFolder()
        try DistributedTests.prepare(folder)
        var random = RandomSource(seed: UInt64(Date().timeIntervalSince1970) ^ 0x5eed)
        let arguments = ["launch", "--ranks", "3"] + Self.mpirunOptions + ["--"]
            + Self.finetune(epochs: 400, ["--distributed", "async:2:2", "--server-shards", "2", "--checkpoint-every-steps", "2", "--patience", "1000"])
        let launcher = try BuiltTool.start(arguments, in: folder.path, environment: Self.environment)
        let killedAt = Self.killARank(of: launcher, afterStep: 5 + Int(random.next() % 40), folder: folder, victim: 1, random: &random)
        // Once the launcher has recorded the lost start, a fourth process asks to join; the launcher
        // keeps the request until the restarted job has stepped, then stops it with a checkpoint.
        var seen = "nothing"
        let restarted = Self.wait {
            let recorded = ((try? Self.attempts(folder)) ?? []).count
            seen = "\(recorded) starts recorded, launcher running: \(launcher.isRunning)"
            return !launcher.isRunning || recorded == 1
        } && launcher.isRunning
        let joiner = TemporaryFolder() // its own log.txt
        let joined = restarted ? try BuiltTool.run(["launch", "--join", folder.file("run")], in: joiner.path) : -1
        let (status, log) = Self.finish(launcher, folder: folder)
        #expect(killedAt != nil && joined == 0 && status == 0, "killed after step \(killedAt ?? -1), join \(joined) (last seen: \(seen)): \(log)")
        let attempts = try Self.attempts(folder)
        print("Downpour: a replica killed after step \(killedAt ?? -1); starts: \(attempts.map { "\($0.ranks) ranks, \($0.outcome)" })")
        #expect(attempts.map(\.outcome) == ["lost_process", "joined", "finished"] && attempts.map(\.ranks) == [3, 3, 4], "\(attempts) \(log)")
        let pushes = log.split(separator: "\n").last { $0.hasPrefix("pushes applied by replica:") }.map(String.init) ?? ""
        let counts = pushes.split(separator: ",").compactMap { $0.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        #expect(counts.count == 4 && counts.allSatisfy { $0 > 0 }, "the joined replica's pushes: \(pushes)")
        let evaluated = try BuiltTool.run(["evaluate", "run/classifier.safetensors", "--dataset", "images", "--out", "evaluation"], in: folder.path)
        #expect(evaluated == 0, "the model evaluates")
    }

    /// A replica that pushes NaN (the fault hook `STRATA_DOWNPOUR_POISON`) is
    /// refused, named in the log, and the parameters stay finite and learn.
    @Test func aPushOfNaNIsRefusedAndNamed() throws {
        let folder = TemporaryFolder()
        try DistributedTests.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 2, Self.finetune(epochs: 5, ["--distributed", "async:2:2"]), in: folder.path,
                                              environment: [Downpour.poisonVariable: "1:3"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("pushes refused (NaN or infinite values; they never reached the parameters): replica 1: 1"), "\(output)")
        let classifier = try SafeTensors.read(folder.file("run/classifier.safetensors"))
        #expect(classifier.tensors.values.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
        let errors = try MonitorLog.read(folder.file("run/monitor.jsonl")).rows.compactMap { $0["valid_y_misclass"] }
        #expect((errors.min() ?? 1) < 0.2, "\(errors)")
    }

    /// Replicas that fetch every 4 steps and push every step, with pushes
    /// more than 1 server update old dropped: the other replica's pushes
    /// make some stale, and they are counted and named.
    @Test func stalePushesAreDroppedAndNamed() throws {
        let folder = TemporaryFolder()
        try DistributedTests.prepare(folder)
        let (status, output) = try MPIRun.run(ranks: 2, Self.finetune(epochs: 5, ["--distributed", "async:4:1", "--max-staleness", "1"]), in: folder.path)
        #expect(status == 0 && output.contains("pushes more than 1 server updates old dropped"), "\(output)")
        #expect(output.contains("pushes dropped as stale (the replica refetched): replica "), "\(output)")
    }

    /// One replica (`mpirun -np 1`, a deterministic schedule): the server in
    /// 2 shards gives the parameters of 1 shard, byte for byte, and each
    /// shard carries half the traffic.
    @Test func twoShardsServeWhatOneServesWithHalfTheTrafficEach() throws {
        var traffic: [[Double]] = []
        var classifiers: [Data] = []
        for shards in [1, 2] {
            let folder = TemporaryFolder()
            try DistributedTests.prepare(folder)
            let (status, output) = try MPIRun.run(ranks: 1, Self.finetune(epochs: 4, ["--distributed", "async:2:2", "--server-shards", "\(shards)"]), in: folder.path)
            #expect(status == 0, "\(output)")
            classifiers.append(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/classifier.safetensors"))))
            let line = output.split(separator: "\n").first { $0.hasPrefix("parameter server:") } ?? ""
            traffic.append(line.split(separator: ";").dropFirst().map { shard in
                let words = shard.split(separator: " ")
                return zip(words, words.dropFirst()).compactMap { $1 == "MB" ? Double($0) : nil }.reduce(0, +)
            })
        }
        #expect(classifiers[0] == classifiers[1], "2 shards trained other parameters than 1")
        #expect(traffic[0].count == 1 && traffic[1].count == 2, "\(traffic)")
        if traffic[0].count == 1, traffic[1].count == 2 {
            for share in traffic[1] { #expect(abs(share / traffic[0][0] - 0.5) < 0.02, "each shard's traffic against one server's: \(traffic)") }
        }
    }
}

/// The launcher's pieces that need no MPI.
struct ElasticUnitTests {
    @Test func theProgressLineRoundTrips() throws {
        let folder = TemporaryFolder()
        let progress = try #require(RunProgress(path: folder.file("progress")))
        for batch in 1 ... 12 { progress.stepped(epoch: 1, batch: batch) }
        progress.checkpointed(epoch: 1, batch: 12)
        for batch in 1 ... 1234 { progress.stepped(epoch: 2, batch: batch) }
        let reading = try #require(RunProgress.Reading.read(folder.file("progress")))
        #expect(reading == RunProgress.Reading(steps: 1246, checkpointSteps: 12, epoch: 2, batch: 1234, checkpointEpoch: 1, checkpointBatch: 12))
        #expect(reading.stepsSinceCheckpoint == 1234)
        #expect(ElasticLaunch.redoneSentence(reading).contains("redoing 1234 steps"))
    }

    @Test func theLauncherNeedsACommandWithARunFolder() throws {
        var settings = ElasticLaunch.Settings()
        settings.command = ["finetune", "softmax", "--hidden", "10"]
        #expect(throws: StrataError.self) { try settings.validate() }
        settings.command += ["--run=runs/a"]
        #expect(try settings.folder() == "runs/a")
        settings.command = ["sweep", "x.yaml", "--out", "s"]
        #expect { try settings.validate() } throws: { "\($0)".contains("does not run as MPI ranks") }
        let flags = FlagSettings(["ranks": "0"])
        #expect { _ = try ElasticLaunch.Settings.read(from: flags, command: []) } throws: { "\($0)".contains("--ranks") }
    }

    @Test func downpourSettingsAreRefusedForSynchronousTraining() throws {
        var configuration = FineTuningConfiguration()
        #expect { try configuration.readMinibatchSGD(from: FlagSettings(["server_shards": "2"])) } throws: { "\($0)".contains("synchronous training has none") }
        try configuration.readMinibatchSGD(from: FlagSettings(["distributed": "async:2:2", "server_shards": "2", "max_staleness": "8", "checkpoint_every_steps": "50"]))
        #expect(configuration.serverShards == 2 && configuration.maxStaleness == 8 && configuration.checkpointEverySteps == 50)
    }

    @Test func onlyFiniteValuesPass() {
        var values = [Float](repeating: 1, count: 37)
        #expect(values.withUnsafeBufferPointer(allFinite))
        for (i, bad) in [(3, Float.nan), (35, Float.infinity), (20, -Float.infinity)] {
            values[i] = bad
            #expect(!values.withUnsafeBufferPointer(allFinite))
            values[i] = 1
        }
    }

    /// Checkpoints inside epochs change what a crash costs, never the run: the same classifier as without them.
    @Test(.needsBuiltTool) func checkpointsInsideEpochsLeaveTheRunAsItWas() throws {
        var files: [Data] = []
        for every in ["0", "2"] {
            let folder = TemporaryFolder()
            try DistributedTests.prepare(folder)
            let status = try BuiltTool.run(ElasticTests.finetune(epochs: 3, ["--checkpoint-every-steps", every]), in: folder.path)
            #expect(status == 0)
            files.append(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/classifier.safetensors"))))
        }
        #expect(files[0] == files[1])
    }
}

/// Ranks on test hosts of their own (`scripts/netns-cluster.sh`: network
/// namespaces on a bridge, links shaped by tc), so the allreduce crosses a
/// real TCP/IP stack: two hosts train the classifier two ranks on one host
/// (shared memory) train, byte for byte, and Downpour's server serves across them.
@Suite(.serialized, .needsBuiltTool, .needsMPIRun, .enabled(if: NetworkHosts.reason == nil, "\(NetworkHosts.reason ?? "")"))
struct NetworkHostsTests {
    @Test func twoHostsOverTCPTrainWhatTwoLocalRanksTrain() throws {
        let local = TemporaryFolder(), hosts = TemporaryFolder()
        try DistributedTests.prepare(local)
        try DistributedTests.prepare(hosts)
        let arguments = ElasticTests.finetune(epochs: 3)
        #expect(try MPIRun.run(ranks: 2, arguments, in: local.path).status == 0)
        let (status, output) = try NetworkHosts.run(hosts: 2, arguments, in: hosts.path)
        #expect(status == 0 && output.contains("netns-cluster: 2 hosts"), "\(output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: hosts.file("run/classifier.safetensors")))
                == Data(contentsOf: URL(fileURLWithPath: local.file("run/classifier.safetensors"))), "two hosts over TCP trained another classifier")
    }

    /// Downpour's server, a one-sided window, reached over TCP (Open MPI's osc/pt2pt, which the script selects).
    @Test func downpourRunsAcrossTwoHosts() throws {
        let folder = TemporaryFolder()
        try DistributedTests.prepare(folder)
        let (status, output) = try NetworkHosts.run(hosts: 2, ElasticTests.finetune(epochs: 3, ["--distributed", "async:2:2"]), in: folder.path)
        #expect(status == 0 && output.contains("pushes applied by replica: 0: ") && output.contains("test accuracy"), "\(output)")
    }
}

/// `scripts/netns-cluster.sh`, run by the tests.
enum NetworkHosts {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/netns-cluster.sh").path

    /// Why test hosts cannot be made here (the script's `--check`), or nil when they can.
    static let reason: String? = {
        guard MPIRun.path != nil else { return "needs Open MPI's mpirun" }
        let (status, output) = (try? run(["--check"], in: NSTemporaryDirectory())) ?? (1, "cannot run \(script)")
        return status == 0 ? nil : output.trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    /// `strata ARGUMENTS` across `hosts` test hosts; the status and the output.
    static func run(hosts: Int, _ arguments: [String], in folder: String) throws -> (status: Int32, output: String) {
        try run(["--hosts", "\(hosts)", "--strata", BuiltTool.path!, "--"] + arguments, in: folder)
    }

    private static func run(_ arguments: [String], in folder: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let log = folder + "/netns.txt"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        (process.standardOutput, process.standardError) = (handle, handle)
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}
