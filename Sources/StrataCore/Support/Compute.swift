import Foundation
import Synchronization

/// How many cores a run may use: one value, set once by a front-end
/// (`--threads`, YAML `compute: {threads: N}`) and read by every parallel
/// piece: OpenBLAS's threads, the split training steps, patch extraction,
/// preprocessing, feature extraction and the SVM. With one core, every piece
/// runs on the calling thread.
public struct Compute: Equatable, Sendable {
    /// Cores to use (at least 1).
    public var cores: Int

    /// Every core of this machine.
    public static var allCores: Compute { Compute(cores: ProcessInfo.processInfo.activeProcessorCount) }

    public init(cores: Int) { self.cores = cores }

    /// `threads` cores, or all of them when nil; refuses a count below 1 or
    /// above 4 x the machine's cores (OpenBLAS can hang allocating buffers for hundreds).
    public init(threads: Int?) throws {
        let available = ProcessInfo.processInfo.activeProcessorCount
        guard let threads else { self.init(cores: available); return }
        guard threads >= 1, threads <= 4 * available else {
            throw StrataError.invalidArgument(name: "threads", reason: "\(threads) must lie in 1...\(4 * available) (this machine has \(available) cores)")
        }
        self.init(cores: threads)
    }

    private static let active = Atomic<Int>(ProcessInfo.processInfo.activeProcessorCount)

    /// The cores of the compute most recently applied (all cores before any).
    public static var activeCores: Int { active.load(ordering: .relaxed) }

    /// Makes this the process's compute: the cores that products
    /// (``FixedParts``), ``parallelChunks(_:minimumChunk:cores:_:)`` and the
    /// SVM spread over. OpenBLAS itself stays on one thread.
    public func apply() {
        BLAS.threadCount = 1 // Strata's own parts spread the products (see FixedParts)
        Self.active.store(cores, ordering: .relaxed)
    }
}
