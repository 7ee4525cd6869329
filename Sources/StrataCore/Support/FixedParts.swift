import Foundation

/// Work cut into parts by its size and the machine alone, never by the
/// number of cores a run uses, with the parts then shared among those cores:
/// the same inputs give bit-identical results with any `--threads`. This is
/// why Strata does its own threading around single-threaded OpenBLAS calls:
/// OpenBLAS's sgemm rounds differently under its own threading, and even
/// single-threaded when a product is cut differently (measured: entries up
/// to 1.7e-5 apart on a 100x784x500 product), so a result can only be
/// reproducible if the cut is fixed.
///
/// At most ``machineParts`` parts: as many as this machine has cores (a
/// power of two, at most 8), so that a run on fewer threads pays little for
/// the cut. Another machine may cut differently, as its OpenBLAS may run other
/// kernels anyway; on one machine, the thread count never matters.
public enum FixedParts {
    /// The most parts a piece of work is cut into on this machine: its
    /// processor count rounded down to a power of two, at most 8.
    public static let machineParts: Int = {
        var parts = 1
        while parts * 2 <= min(ProcessInfo.processInfo.processorCount, 8) { parts *= 2 }
        return parts
    }()

    /// How many parts `extent` is cut into: a power of two, each part at
    /// least `minimum` long (one part when the extent is shorter), at most `maximum`.
    public static func count(_ extent: Int, minimum: Int, maximum: Int = machineParts) -> Int {
        var parts = 1
        while parts * 2 <= maximum && extent / (parts * 2) >= max(minimum, 1) { parts *= 2 }
        return parts
    }

    /// Part `part` of `count` equal parts of `0..<extent`.
    @inline(__always)
    public static func range(_ part: Int, of count: Int, extent: Int) -> Range<Int> {
        (extent * part / count) ..< (extent * (part + 1) / count)
    }

    /// Runs `body(part)` for each of `count` parts, spread over `cores`
    /// (worker w takes parts w, w + workers, ...; one core runs them in order).
    public static func run(_ count: Int, cores: Int = Compute.activeCores, _ body: (Int) -> Void) {
        let workers = min(max(cores, 1), count)
        if workers <= 1 {
            for part in 0 ..< count { body(part) }
            return
        }
        CoreTeam.run(workers) { worker in
            for part in stride(from: worker, to: count, by: workers) { body(part) }
        }
    }
}
