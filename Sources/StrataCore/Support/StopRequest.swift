import Foundation
import Synchronization

/// The signal that asked the process to stop (0: none). A plain global so the
/// signal handler touches nothing but one lock-free atomic.
private let requestedSignal = Atomic<Int32>(0)

/// A request to stop a long run cleanly: SIGINT (Ctrl-C), SIGTERM (a batch
/// scheduler's notice) or SIGUSR1 (the signal `mpirun` forwards to every rank,
/// which `strata launch` sends to stop a job it will restart) sets it; the training loops look at it after every
/// minibatch, write a checkpoint of exactly where they are, and end with
/// ``StrataError/interrupted(signal:checkpoint:epoch:position:)``, from which
/// `--resume` continues bit for bit. A second signal ends the process at
/// once (the default action), for a run that does not answer.
///
/// Library users opt in with ``installSignalHandlers()`` (the `strata`
/// command does at start-up), or call ``request(_:)`` themselves.
public enum StopRequest {
    /// Installs handlers for SIGINT, SIGTERM and SIGUSR1 that set the request
    /// once and then restore the default action.
    public static func installSignalHandlers() {
        _ = requestedSignal.load(ordering: .relaxed) // initialize the global outside the handler
        installSignalHandler(for: [SIGINT, SIGTERM, SIGUSR1], once: true) { number in requestedSignal.store(number, ordering: .relaxed) }
    }

    /// Whether a stop was requested.
    public static var isRequested: Bool { requestedSignal.load(ordering: .relaxed) != 0 }

    /// The signal that requested the stop (nil when none did).
    public static var signal: Int32? {
        let number = requestedSignal.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// Requests a stop as if `signal` had arrived (tests, embedding applications).
    public static func request(_ signal: Int32 = SIGINT) { requestedSignal.store(signal, ordering: .relaxed) }

    /// Clears the request (after a stopped run, before the next).
    public static func clear() { requestedSignal.store(0, ordering: .relaxed) }

    /// The conventional name of `signal`, for messages.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGUSR1: return "SIGUSR1"
        default: return "signal \(signal)"
        }
    }
}

/// Installs `handler` for `signals` (with `once`, the default action comes
/// back after the first), and unblocks them in this thread: a parent may have
/// started the process with them blocked (some process launchers do, Foundation's
/// `Process` among them), and they would never arrive. The handler may touch
/// only lock-free atomics.
public func installSignalHandler(for signals: [Int32], once: Bool, _ handler: @convention(c) (Int32) -> Void) {
    var unblock = sigset_t()
    sigemptyset(&unblock)
    for signal in signals {
        var action = sigaction()
        #if os(Linux)
        action.__sigaction_handler.sa_handler = handler
        #else
        action.__sigaction_u.__sa_handler = handler
        #endif
        action.sa_flags = once ? Int32(truncatingIfNeeded: SA_RESETHAND) : 0 // SA_RESETHAND is 0x80000000 on Linux
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
        sigaddset(&unblock, signal)
    }
    pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
}
