import Foundation
import StrataCore

/// Asynchronous successive halving (ASHA, Li et al. 2018, "A System for
/// Massively Parallel Hyperparameter Tuning"), in the stopping form Ray Tune
/// uses: rungs at `grace`, `grace x reduction`, `grace x reduction^2`, ...
/// epochs (below the runs' epoch limit). A run reaching a rung records its
/// validation error there; it is stopped when that error is worse than the
/// best `1 / reduction` of the errors earlier runs recorded at that rung
/// (their `100 / reduction` percentile, linearly interpolated). The first
/// run at a rung always goes on, so no run waits for another.
public struct SuccessiveHalving: Sendable, Hashable {
    /// Epochs before the first rung (the least any run trains).
    public var grace = 1
    /// The fraction `1 / reduction` of runs kept at each rung.
    public var reduction = 3

    public init(grace: Int = 1, reduction: Int = 3) { (self.grace, self.reduction) = (grace, reduction) }

    /// `GRACE:REDUCTION` (`1:3`), or `on` for the defaults.
    public init(parsing text: String, key: String) throws {
        if ["on", "true", "yes"].contains(text.lowercased()) { return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let g = parts[0], let r = parts[1], g >= 1, r >= 2 else {
            throw StrataError.invalidArgument(name: key, reason: "'\(text)' is not GRACE:REDUCTION with GRACE >= 1 epoch and REDUCTION >= 2 (for example 1:3), or on")
        }
        (grace, reduction) = (g, r)
    }

    /// The rung epochs below `maxEpochs`, ascending.
    public func rungs(maxEpochs: Int) -> [Int] {
        var rungs: [Int] = [], r = grace
        while r < maxEpochs { rungs.append(r); r *= reduction }
        return rungs
    }

    /// The error a run must not exceed at a rung where `recorded` are the earlier runs' errors; nil when none is recorded.
    public func cutoff(_ recorded: [Double]) -> Double? {
        let sorted = recorded.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let position = Double(sorted.count - 1) / Double(reduction)
        let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
        return sorted[below] + (position - Double(below)) * (sorted[above] - sorted[below])
    }

    public var description: String { "successive halving: rungs every x\(reduction) epochs from \(grace), the best 1/\(reduction) at each go on" }
}

/// The errors recorded at each rung, by run: what ``SuccessiveHalving``
/// compares a run against. Kept in memory by one process, or in an MPI
/// window on rank 0 when the runs spread over ranks (`SweepRanks`).
public struct RungTable: Sendable {
    public let rungs: [Int]
    /// `errors[r][run]`: the error run `run` recorded at rung `r`.
    public var errors: [[Int: Double]]

    public init(rungs: [Int]) { (self.rungs, errors) = (rungs, rungs.map { _ in [:] }) }

    /// What a run whose monitor reached `epochs` (errors by epoch) does: the
    /// highest rung it reached and has not recorded is recorded, and the run
    /// stops when it lags there. Returns the rung epoch it stops at, or nil.
    public mutating func record(run: Int, errorsByEpoch: [Int: Double], rule: SuccessiveHalving) -> Int? {
        guard let reached = errorsByEpoch.keys.max() else { return nil }
        for r in rungs.indices.reversed() where rungs[r] <= reached {
            guard errors[r][run] == nil, let error = errorsByEpoch[rungs[r]] else { return nil }
            let cutoff = rule.cutoff(Array(errors[r].values))
            errors[r][run] = error
            if let cutoff, error > cutoff { return rungs[r] }
            return nil
        }
        return nil
    }
}
