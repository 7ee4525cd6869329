import Foundation
import Synchronization
import StrataCore
import StrataTraining

/// Joins asked for by `strata launch --join` (SIGUSR2), counted by the signal handler.
private let requestedJoins = Atomic<Int>(0)

/// Elastic training over MPI, in the manner of PyTorch's torchrun elastic
/// agent and Horovod Elastic: a supervisor runs the job under Open MPI's
/// `mpirun`, and when a process of it is lost (killed, its machine gone)
/// restarts the job from its latest checkpoint, the lost process replaced,
/// with no person's action; a process may also join a running job.
///
/// Open MPI 4.1 ends the whole job when one rank dies, so nothing survives
/// inside the job; what survives is the run folder: checkpoints at each
/// epoch's end and, with `checkpoint_every_steps: K`, every K steps inside
/// an epoch (Downpour's replicas meet first, so the checkpoint holds the
/// parameter server's parameters and AdaGrad state). A restart therefore
/// redoes at most K steps, and says how many it redid. Synchronous data
/// parallelism gives the same bits for any number of ranks and resumes
/// exactly, so a restarted synchronous run ends with the model an
/// undisturbed one gives.
///
/// A join (`strata launch --join RUN`, SIGUSR2 to the launcher) asks the job
/// to stop with its checkpoint (SIGUSR1, which `mpirun` forwards to every
/// rank) and starts it again with one more rank. Ctrl-C stops the job the
/// same way and ends the launcher. A job that fails with an error (exit 1:
/// a bad flag, a missing file) is not restarted: it would fail again.
public enum ElasticLaunch {
    /// What `strata launch` reads.
    public struct Settings: Sendable {
        /// Processes in the job (`mpirun -np`).
        public var ranks = 2
        /// Restarts after lost processes before the launcher gives up.
        public var restarts = 3
        /// Open MPI's launcher: a path, or found on `PATH`.
        public var mpirun = "mpirun"
        /// More `mpirun` options, such as `--hostfile hosts` or `--mca btl tcp,self`.
        public var mpirunOptions: [String] = []
        /// The `strata` command each rank runs, without the program's name.
        public var command: [String] = []

        public init() {}

        /// Reads `ranks`, `restarts`, `mpirun` and `mpirun_options` (split at spaces) onto the defaults.
        public static func read(from s: SettingSource, command: [String]) throws -> Settings {
            var settings = Settings()
            settings.command = command
            if let v = try s.positive("ranks", s.int) { settings.ranks = v }
            if let v = try s.int("restarts") {
                guard v >= 0 else { throw s.failure("restarts", "must not be negative, found \(v)") }
                settings.restarts = v
            }
            if let v = try s.text("mpirun") { settings.mpirun = v }
            if let v = try s.text("mpirun_options") { settings.mpirunOptions = v.split(separator: " ").map(String.init) }
            return settings
        }

        /// The run folder the command names (`--run` or `--out`), where the
        /// checkpoints, the progress line and the launch log live.
        public func folder() throws -> String {
            for (index, argument) in command.enumerated() {
                for flag in ["--run", "--out"] {
                    if argument == flag, index + 1 < command.count { return command[index + 1] }
                    if argument.hasPrefix(flag + "=") { return String(argument.dropFirst(flag.count + 1)) }
                }
            }
            throw StrataError.invalidArgument(name: "launch", reason: "the command must name its run folder (--run for pretrain and finetune, --out for train): the launcher restarts the job from the checkpoints there")
        }

        /// Checks the settings before anything starts.
        public func validate() throws {
            guard ranks >= 1 else { throw StrataError.invalidArgument(name: "ranks", reason: "\(ranks) must be at least 1") }
            guard restarts >= 0 else { throw StrataError.invalidArgument(name: "restarts", reason: "\(restarts) must not be negative") }
            guard let first = command.first, !first.hasPrefix("-") else {
                throw StrataError.invalidArgument(name: "launch", reason: "give the strata command to run after --, for example: strata launch --ranks 3 -- finetune softmax --hidden 500 --run runs/elastic")
            }
            guard !["launch", "sweep", "tutorial"].contains(first) else {
                throw StrataError.invalidArgument(name: "launch", reason: "'\(first)' does not run as MPI ranks under a launcher; launch train, pretrain or finetune")
            }
            _ = try folder()
        }
    }

    /// One start of the job, as `launch.jsonl` records it.
    public struct Attempt: Codable, Equatable, Sendable {
        public var attempt: Int
        public var ranks: Int
        public var seconds: Double
        /// `finished`, `lost_process`, `joined`, `stopped` or `failed`.
        public var outcome: String
        /// How `mpirun` ended: `exit N` or `killed by SIGNAL`.
        public var ending: String
        /// Steps made after the last checkpoint, which the next start redoes (lost processes only).
        public var stepsRedone: Int?
        /// Whether this start resumed from the folder's checkpoint.
        public var resumed: Bool
    }

    /// The file, in the run folder, holding the launcher's process id for `--join`.
    public static let pidFile = "launch.pid"

    /// Runs the job until it finishes, fails, is stopped or has lost processes
    /// more than `settings.restarts` times; returns the exit status for the
    /// shell (0 when it finished). `executable` is the `strata` each rank runs.
    public static func run(_ settings: Settings, executable: String, log: @escaping StageLog) throws -> Int32 {
        try settings.validate()
        let folder = try settings.folder()
        try AtomicFile.makeFolder(folder)
        let mpirun = try locate(settings.mpirun)
        installJoinHandler()
        try AtomicFile.write(Data("\(getpid())\n".utf8), to: folder + "/" + pidFile)
        defer { try? FileManager.default.removeItem(atPath: folder + "/" + pidFile) }
        let progressPath = folder + "/launch.progress"
        var (ranks, restarts, attempts) = (settings.ranks, 0, [Attempt]())
        while true {
            let resume = resumes(settings.command, folder: folder, restart: !attempts.isEmpty)
            var arguments = ["-np", String(ranks)] + (ranks > ProcessInfo.processInfo.activeProcessorCount ? ["--oversubscribe"] : [])
            arguments += settings.mpirunOptions + [executable] + settings.command + (resume && !settings.command.contains("--resume") ? ["--resume"] : [])
            var environment = ProcessInfo.processInfo.environment
            environment[RunProgress.environmentKey] = progressPath
            log("launch: start \(attempts.count + 1): \(ranks) rank\(ranks == 1 ? "" : "s")\(resume ? ", resuming from the checkpoint in \(folder)" : "")")
            let started = Date()
            try? FileManager.default.removeItem(atPath: progressPath) // this start's steps only
            let job = try ChildProcess(executable: mpirun, arguments: arguments, environment: environment)
            var (stopping, joining) = (false, 0)
            let ending = job.wait {
                // SIGUSR1 waits for the job's first step: by then every rank answers it with a checkpoint.
                // Before it there is nothing to save, and a stop ends the job at once (mpirun ends its ranks on SIGTERM).
                let stepped = (RunProgress.Reading.read(progressPath)?.steps ?? 0) > 0
                if StopRequest.isRequested, !stopping { stopping = true; job.send(stepped ? SIGUSR1 : SIGTERM) }
                guard stepped else { return }
                let joins = requestedJoins.exchange(0, ordering: .relaxed)
                if joins > 0, !stopping {
                    if joining == 0 { log("launch: \(joins) process\(joins == 1 ? "" : "es") asked to join; the job stops at its next step with a checkpoint") }
                    joining += joins
                    job.send(SIGUSR1)
                }
            }
            var attempt = Attempt(attempt: attempts.count + 1, ranks: ranks, seconds: Date().timeIntervalSince(started), outcome: "failed",
                                  ending: ending.description, resumed: resume)
            defer { attempts.append(attempt); try? writeLog(attempts, folder: folder) }
            if ending == .exited(0) {
                attempt.outcome = "finished"
                let redone = attempts.compactMap(\.stepsRedone).reduce(0, +)
                log("launch: the job finished (\(attempts.count + 1) start\(attempts.isEmpty ? "" : "s"), \(restarts) after lost processes"
                    + (restarts > 0 ? ", \(redone) step\(redone == 1 ? "" : "s") redone)" : ")"))
                return 0
            }
            if stopping {
                attempt.outcome = "stopped"
                log("launch: stopped; `strata launch` with the same command resumes it")
                return ending.code
            }
            if joining > 0 {
                attempt.outcome = "joined"
                ranks += joining
                log("launch: the job stopped (\(ending)); starting it again with \(ranks) ranks")
                continue
            }
            guard ending.code > 128 else {
                log("launch: the job ended with an error (\(ending)); not restarted, since it would meet the same error")
                return ending.code
            }
            attempt.outcome = "lost_process"
            let progress = RunProgress.Reading.read(progressPath)
            attempt.stepsRedone = progress?.stepsSinceCheckpoint
            restarts += 1
            guard restarts <= settings.restarts else {
                log("launch: a process was lost (\(ending)) for the \(restarts)th time; giving up after \(settings.restarts) restart\(settings.restarts == 1 ? "" : "s")")
                return ending.code
            }
            log("launch: a process was lost (mpirun: \(ending)); " + redoneSentence(progress) + "; restart \(restarts) of at most \(settings.restarts)")
        }
    }

    /// Asks the launcher running the job in `folder` to add a process. Returns its process id.
    public static func join(folder: String) throws -> pid_t {
        let path = folder + "/" + pidFile
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else {
            throw StrataError.io(path: path, reason: "no launcher is running this folder (start one with strata launch ... --run \(folder))")
        }
        guard kill(pid, SIGUSR2) == 0 else { throw StrataError.io(path: path, reason: "the launcher \(pid) it names has ended") }
        return pid
    }

    /// What a restart redoes, from the job's progress line.
    static func redoneSentence(_ progress: RunProgress.Reading?) -> String {
        guard let progress, progress.steps > 0 else { return "it had made no step; restarting from where it started" }
        guard progress.checkpointSteps > 0 else {
            return "it made \(progress.steps) steps and wrote no checkpoint; restarting from where it started, redoing them"
        }
        return "restarting from its checkpoint after step \(progress.checkpointBatch) of epoch \(progress.checkpointEpoch), "
            + "redoing \(progress.stepsSinceCheckpoint) step\(progress.stepsSinceCheckpoint == 1 ? "" : "s") (it had reached step \(progress.batch) of epoch \(progress.epoch))"
    }

    /// Whether a start resumes: `pretrain` and `finetune` when their
    /// checkpoint is in the folder; a `train` run (whose stages each resume
    /// or start) on a restart, or when the folder holds an earlier run's files.
    static func resumes(_ command: [String], folder: String, restart: Bool) -> Bool {
        if command.first == "train" {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return restart || entries.contains { !$0.hasPrefix("launch.") }
        }
        return [FineTuner.checkpointFile, Trainer.checkpointFile].contains { FileManager.default.fileExists(atPath: folder + "/" + $0) }
    }

    /// `name` as a path, or the first executable of that name on `PATH`.
    static func locate(_ name: String) throws -> String {
        if name.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else { throw StrataError.io(path: name, reason: "is not an executable") }
            return name
        }
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        guard let path = folders.map({ $0 + "/" + name }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw StrataError.invalidArgument(name: "mpirun", reason: "'\(name)' is not on PATH; install Open MPI (apt install openmpi-bin, which scripts/install-deps.sh does) or give its path with --mpirun")
        }
        return path
    }

    private static func installJoinHandler() {
        _ = requestedJoins.load(ordering: .relaxed) // initialize the global outside the handler
        installSignalHandler(for: [SIGUSR2], once: false) { _ in requestedJoins.add(1, ordering: .relaxed) }
    }

    private static func writeLog(_ attempts: [Attempt], folder: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = .sortedKeys
        let lines = try attempts.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: folder + "/launch.jsonl")
    }
}
