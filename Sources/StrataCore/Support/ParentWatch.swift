import CStrataKernels
import Foundation

/// A run started by another Strata process (a sweep's run, started by
/// `strata sweep`) stops, with its checkpoint, when that process ends: the
/// sweep names itself in ``variable``, and the run asks the kernel for
/// SIGTERM at its parent's exit, which ``StopRequest`` turns into a stop at
/// the next step. A sweep killed outright leaves no run training unwatched.
public enum ParentWatch {
    /// The environment variable holding the parent's process id.
    public static let variable = "STRATA_SWEEP_PARENT"

    /// Starts watching when ``variable`` names a parent; call after ``StopRequest/installSignalHandlers()``.
    public static func startIfAsked() {
        guard let text = ProcessInfo.processInfo.environment[variable], let parent = Int32(text), parent > 1 else { return }
        _ = strata_stop_with_parent(parent)
    }
}
