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

extension Trait where Self == ConditionTrait {
    /// The built `strata` and Open MPI's `mpirun`, which tests that start ranks need (skipped, and said so, without them).
    static var needsBuiltTool: Self { .enabled(if: BuiltTool.path != nil, "needs the built strata (swift build --product strata builds it)") }
    static var needsMPIRun: Self { .enabled(if: MPIRun.path != nil, "needs Open MPI's mpirun (apt install openmpi-bin; scripts/install-deps.sh installs it)") }
}

/// Open MPI's launcher, for the tests that start ranks on loopback.
enum MPIRun {
    static let path: String? = {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init) + ["/usr/bin"]
        return folders.map { $0 + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// `mpirun -np RANKS strata ARGUMENTS` in `folder` (as root too, more
    /// ranks than cores allowed, shared memory between the ranks), its output
    /// into `folder/mpirun.txt`.
    static func start(ranks: Int, _ arguments: [String], in folder: String, environment extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader", BuiltTool.path!] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        (environment["OMPI_ALLOW_RUN_AS_ROOT"], environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"]) = ("1", "1")
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment.merge(extra) { $1 }
        process.environment = environment
        _ = FileManager.default.createFile(atPath: folder + "/mpirun.txt", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/mpirun.txt"))
        (process.standardOutput, process.standardError) = (log, log)
        try process.run()
        return process
    }

    /// One rank per entry of `perRank`, each with its own arguments (`mpirun -np 1 strata A : -np 1 strata B`),
    /// run to the end within `seconds` (then killed); the exit status, the output and the seconds taken.
    static func runEach(_ perRank: [[String]], in folder: String, seconds: Double = 60) throws -> (status: Int32, output: String, seconds: Double) {
        let contexts = perRank.map { ["-np", "1", BuiltTool.path!] + $0 }.joined(separator: [":"])
        let first = Array(contexts.dropFirst(3)) // start() puts "-np N strata" in front of its arguments
        let start = Date()
        let process = try self.start(ranks: 1, first, in: folder)
        let deadline = start.addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: folder + "/mpirun.txt", encoding: .utf8)) ?? "", Date().timeIntervalSince(start))
    }

    /// Runs to the end (at most 120 s, then the job is killed); the exit status and the output.
    static func run(ranks: Int, _ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = try start(ranks: ranks, arguments, in: folder, environment: environment)
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: folder + "/mpirun.txt", encoding: .utf8)) ?? "")
    }
}

/// The kernel choices the rank- and thread-independence tests run the built
/// tool under: what Strata chooses here (the environment as it is), and the
/// generic SSE kernels every x86-64 runs (OpenBLAS's Prescott table, Strata's
/// 4-lane loops), whose cuts differ from the wide kernels'. A result that
/// depended on how a kernel cuts a product would differ under one of them.
enum KernelSetting: String, CaseIterable, CustomTestStringConvertible {
    case chosen, generic

    var environment: [String: String] {
        switch self {
        case .chosen: return [:]
        case .generic: return ["OPENBLAS_CORETYPE": "Prescott", "STRATA_ISA": "sse2"]
        }
    }

    var testDescription: String { rawValue }
}
