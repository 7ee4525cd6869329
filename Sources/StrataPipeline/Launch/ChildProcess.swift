import Foundation
import StrataCore

/// A process started with `posix_spawn` in a process group of its own, so a
/// Ctrl-C at the terminal reaches its supervisor (`strata launch`) alone,
/// which decides how to stop it (``ElasticLaunch``: SIGUSR1, which `mpirun`
/// forwards to every rank, and each rank writes its checkpoint).
final class ChildProcess {
    let pid: pid_t
    /// How it ended, once ``poll()`` saw it end.
    private(set) var ending: Ending?

    /// A process's end: its exit status, or the signal that killed it.
    enum Ending: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        /// The shell's number for it: the status, or 128 + the signal.
        var code: Int32 {
            switch self {
            case .exited(let status): status
            case .signaled(let signal): 128 + signal
            }
        }

        var description: String {
            switch self {
            case .exited(let status): "exit \(status)"
            case .signaled(let signal): "killed by \(StopRequest.name(of: signal))"
            }
        }
    }

    /// Starts `executable` with `arguments` (not counting the program's name) and `environment`.
    init(executable: String, arguments: [String], environment: [String: String]) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // The child starts with no signal blocked and the default actions, whatever this process has.
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child = pid_t()
        let status = posix_spawn(&child, executable, nil, &attributes, argv, envp)
        guard status == 0 else {
            throw StrataError.io(path: executable, reason: "cannot be started: \(String(cString: strerror(status)))")
        }
        pid = child
    }

    /// Whether it has ended (collecting its status when it has).
    func poll() -> Bool {
        if ending != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        // The <sys/wait.h> macros: the low 7 bits are the signal, 0 for a normal exit whose status is the next byte.
        let signal = status & 0x7f
        ending = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        return true
    }

    /// Sends `signal` to the process (not its group).
    func send(_ signal: Int32) { if ending == nil { kill(pid, signal) } }

    /// Waits for the end, polling every `interval` seconds and calling `tick` between polls.
    func wait(interval: Double = 0.2, tick: () -> Void) -> Ending {
        while !poll() {
            tick()
            Thread.sleep(forTimeInterval: interval)
        }
        return ending!
    }
}
