import Foundation
import StrataCore
import StrataDistributed

/// A sweep spread over the ranks of an `mpirun` job (one rank per machine,
/// each running `parallel` runs at once): the next unclaimed run is handed to
/// whichever rank asks (a counter on rank 0, taken under an exclusive lock,
/// as Sandblaster's chunks are), successive halving's rungs are one table in
/// the same window, and every rank's results are summed into one table at
/// the end.
final class SweepRanks {
    let world: MPIWorld
    let runs: Int
    let rungs: Int
    private let window: MPIWindow

    /// Collective: every rank makes it with the same `runs` and `rungs`.
    init(world: MPIWorld, runs: Int, rungs: Int) {
        (self.world, self.runs, self.rungs) = (world, runs, rungs)
        window = MPIWindow(world: world, count: 1 + runs * rungs) // [next run, errors + 1 by rung and run (0: none)]
    }

    /// The next run nobody has taken, or nil when all are taken.
    func claim() -> Int? {
        var next: [Float] = [0]
        window.locked(exclusive: true) {
            next.withUnsafeMutableBufferPointer { window.get($0, at: 0) }
            window.flush()
            let taken: [Float] = [next[0] + 1]
            taken.withUnsafeBufferPointer { window.put($0, at: 0) }
        }
        let index = Int(next[0])
        return index < runs ? index : nil
    }

    /// Runs `body` on the rung table as every rank has recorded it, under the
    /// window's lock, and keeps what `body` recorded for the others.
    func withSharedRungs(_ table: inout RungTable, _ body: (inout RungTable) -> Void) {
        guard rungs > 0 else { return body(&table) }
        var shared = [Float](repeating: 0, count: runs * rungs)
        window.locked(exclusive: true) {
            shared.withUnsafeMutableBufferPointer { window.get($0, at: 1) }
            window.flush()
            for r in 0 ..< rungs {
                for run in 0 ..< runs where shared[r * runs + run] > 0 && table.errors[r][run] == nil {
                    table.errors[r][run] = Double(shared[r * runs + run] - 1)
                }
            }
            body(&table)
            for r in 0 ..< rungs { for (run, error) in table.errors[r] { shared[r * runs + run] = Float(error) + 1 } }
            shared.withUnsafeBufferPointer { window.put($0, at: 1) }
        }
    }

    /// Lets the window's owner serve the others while it waits on its runs.
    func progress() { world.progress() }

    /// Every rank's results, summed into one list on every rank. Collective.
    func gather(_ mine: [Int: SweepResult]) -> [Int: SweepResult] {
        let fields = 7
        var values = [Double](repeating: 0, count: runs * fields)
        for (run, r) in mine {
            let status: Double = switch r.status { case .finished: 1; case .stopped: 2; case .failed: 3 }
            values.replaceSubrange(run * fields ..< (run + 1) * fields,
                                   with: [status, r.validationAccuracy ?? -1, r.testAccuracy ?? -1, Double(r.epochs ?? -1), r.seconds, Double(r.rank ?? -1), r.labelsPerClass ?? -1])
        }
        world.sum(&values)
        var all: [Int: SweepResult] = [:]
        for run in 0 ..< runs {
            let v = Array(values[run * fields ..< (run + 1) * fields])
            guard let status: SweepResult.Status = [1: .finished, 2: .stopped, 3: .failed][Int(v[0])] else { continue }
            all[run] = mine[run] ?? SweepResult(run: run, status: status, validationAccuracy: v[1] >= 0 ? v[1] : nil, testAccuracy: v[2] >= 0 ? v[2] : nil,
                                               epochs: v[3] >= 0 ? Int(v[3]) : nil, seconds: v[4])
            all[run]!.rank = v[5] >= 0 ? Int(v[5]) : nil
            all[run]!.labelsPerClass = v[6] >= 0 ? v[6] : nil
        }
        return all
    }

    /// Collective.
    func free() { window.free() }
}
