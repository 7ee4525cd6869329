import Foundation
import StrataCore

/// Downpour's parameter server, sharded as DistBelief's is: the parameters
/// (one flat vector, in a model's visiting order) are cut into `shards`
/// contiguous parts of nearly equal length, and part `s` lives, with its
/// AdaGrad accumulators and its update count, in an ``MPIWindow`` on rank
/// `s` (`s` modulo the ranks, when there are more shards than ranks). Replicas fetch and push each shard under that shard's own lock, so
/// the shards serve independently and each carries about 1/S of the traffic.
/// A small ledger on rank 0 holds the stop flag and, per replica, the pushes
/// applied, refused (NaN or infinite values) and dropped as stale.
///
/// Window layout, in floats: shard `s` is `[θ_s | G_s | updates]`; the ledger
/// is `[stop | applied × ranks | refused × ranks | stale × ranks]`. Counts are
/// Float32, exact up to 2^24 (16.7 million) updates per shard.
final class ParameterServer {
    let world: MPIWorld
    /// Each shard's range of the flat parameter vector; shard `s` is on rank `s % ranks`.
    let ranges: [Range<Int>]
    private let shards: [MPIWindow]
    private let ledger: MPIWindow
    /// Floats this rank read from and wrote to each shard.
    private(set) var fetchedFloats: [Int], pushedFloats: [Int]
    /// One shard's parameters, accumulators and update count, read under its lock (the largest shard's size).
    private var scratch: [Float]

    /// The ledger's rows.
    enum Count: Int { case applied = 0, refused = 1, stale = 2 }

    /// Makes the windows. Collective; `shards` must lie in 1 ... count. With
    /// more shards than ranks, rank `s % ranks` holds shard `s` (each shard still its own window and lock).
    init(world: MPIWorld, count: Int, shards: Int) throws {
        guard shards >= 1, shards <= max(count, 1) else {
            throw StrataError.invalidArgument(name: "server_shards", reason: "\(shards) shards of \(count) parameters: give 1 to \(count) (best: at most one per rank, \(world.size) here)")
        }
        self.world = world
        ranges = (0 ..< shards).map { s in (count * s / shards) ..< (count * (s + 1) / shards) }
        self.shards = ranges.enumerated().map { s, range in MPIWindow(world: world, count: 2 * range.count + 1, owner: s % world.size) }
        ledger = MPIWindow(world: world, count: 1 + 3 * world.size, owner: 0)
        (fetchedFloats, pushedFloats) = ([Int](repeating: 0, count: shards), [Int](repeating: 0, count: shards))
        scratch = [Float](repeating: 0, count: 2 * (ranges.map(\.count).max() ?? 0) + 1)
    }

    /// Puts `parameters` and `accumulators` (whole, one per parameter) on the shards.
    func store(parameters: UnsafeBufferPointer<Float>, accumulators: UnsafeBufferPointer<Float>) {
        for (s, range) in ranges.enumerated() {
            shards[s].locked(exclusive: true) {
                shards[s].put(UnsafeBufferPointer(rebasing: parameters[range]), at: 0)
                shards[s].put(UnsafeBufferPointer(rebasing: accumulators[range]), at: range.count)
            }
        }
    }

    /// Reads the AdaGrad accumulators of every shard into `accumulators`.
    func readAccumulators(into accumulators: UnsafeMutableBufferPointer<Float>) {
        for (s, range) in ranges.enumerated() {
            shards[s].locked(exclusive: false) { shards[s].get(UnsafeMutableBufferPointer(rebasing: accumulators[range]), at: range.count) }
        }
    }

    /// Reads every shard's parameters into `parameters` and its update count into `updates[s]`.
    func fetch(into parameters: UnsafeMutableBufferPointer<Float>, updates: inout [Float]) {
        for (s, range) in ranges.enumerated() {
            var count: Float = 0
            shards[s].locked(exclusive: false) {
                shards[s].get(UnsafeMutableBufferPointer(rebasing: parameters[range]), at: 0)
                withUnsafeMutablePointer(to: &count) { shards[s].get(UnsafeMutableBufferPointer(start: $0, count: 1), at: 2 * range.count) }
            }
            updates[s] = count
            fetchedFloats[s] += range.count + 1
        }
    }

    /// Applies a replica's accrued gradient `(base - current) / α` shard by
    /// shard with AdaGrad (``Downpour``), each under its shard's lock; a shard
    /// whose update count is more than `maxStaleness` past `seen[s]` (0: any)
    /// is left alone. `seen[s]` counts the updates applied. Returns whether
    /// every shard took its part.
    func push(base: UnsafeBufferPointer<Float>, current: UnsafeBufferPointer<Float>, seen: inout [Float], maxStaleness: Int, learningRate: Float) -> Bool {
        var applied = 0
        for (s, range) in ranges.enumerated() {
            let (n, limit, last) = (range.count, Float(maxStaleness), seen[s])
            var took = false
            scratch.withUnsafeMutableBufferPointer { scratch in
                let shard = UnsafeMutableBufferPointer(rebasing: scratch[0 ..< 2 * n + 1])
                shards[s].locked(exclusive: true) {
                    shards[s].get(shard, at: 0)
                    shards[s].flush()
                    guard limit == 0 || shard[2 * n] - last <= limit else { return }
                    Downpour.adagrad(parameters: shard.baseAddress!, accumulators: shard.baseAddress! + n, base: base.baseAddress! + range.lowerBound,
                                     current: current.baseAddress! + range.lowerBound, count: n, learningRate: learningRate)
                    shard[2 * n] += 1
                    shards[s].put(UnsafeBufferPointer(shard), at: 0)
                    took = true
                }
            }
            fetchedFloats[s] += 2 * n + 1
            if took { (pushedFloats[s], seen[s], applied) = (pushedFloats[s] + 2 * n + 1, seen[s] + 1, applied + 1) }
        }
        return applied == ranges.count
    }

    /// Adds one to this rank's `count` and, with `stop`, sets the stop flag;
    /// returns the stop flag.
    func record(_ count: Count, stop: Bool) -> Bool {
        var flag: Float = 0
        let rank = world.rank, size = world.size
        ledger.locked(exclusive: true) {
            var values: (stop: Float, count: Float) = (0, 0)
            withUnsafeMutablePointer(to: &values.stop) { ledger.get(UnsafeMutableBufferPointer(start: $0, count: 1), at: 0) }
            withUnsafeMutablePointer(to: &values.count) { ledger.get(UnsafeMutableBufferPointer(start: $0, count: 1), at: 1 + count.rawValue * size + rank) }
            ledger.flush()
            values.count += 1
            if stop { values.stop = 1 }
            flag = values.stop
            withUnsafePointer(to: &values.count) { ledger.put(UnsafeBufferPointer(start: $0, count: 1), at: 1 + count.rawValue * size + rank) }
            withUnsafePointer(to: &values.stop) { ledger.put(UnsafeBufferPointer(start: $0, count: 1), at: 0) }
        }
        return flag > 0
    }

    /// The stop flag.
    func stopRequested() -> Bool {
        var flag: Float = 0
        ledger.locked(exclusive: false) { withUnsafeMutablePointer(to: &flag) { ledger.get(UnsafeMutableBufferPointer(start: $0, count: 1), at: 0) } }
        return flag > 0
    }

    /// The ledger's counts, `[row][rank]`.
    func counts() -> [[Int]] {
        var values = [Float](repeating: 0, count: 3 * world.size)
        values.withUnsafeMutableBufferPointer { out in ledger.locked(exclusive: false) { ledger.get(out, at: 1) } }
        return (0 ..< 3).map { row in (0 ..< world.size).map { Int(values[row * world.size + $0]) } }
    }

    /// What the server carried and the replicas did, for the end of a run:
    /// each shard's parameters and traffic (summed over the ranks), the pushes
    /// per replica, and any refused or dropped, naming the replica; nil when
    /// no replica pushed (a resumed stage that had no step left). Collective.
    func report() -> String? {
        var traffic = (fetchedFloats + pushedFloats).map(Double.init)
        world.sum(&traffic)
        let counts = counts()
        guard counts.joined().contains(where: { $0 > 0 }) else { return nil }
        let megabytes = { (floats: Double) in String(format: floats * 4 < 1e7 ? "%.3f MB" : "%.1f MB", floats * 4 / 1e6) }
        var lines = ["parameter server: \(ranges.count) shard\(ranges.count == 1 ? "" : "s")"
            + ranges.indices.map { s in
                "; shard \(s) on rank \(s % world.size), \(ranges[s].count) parameters: \(megabytes(traffic[s])) fetched, \(megabytes(traffic[ranges.count + s])) pushed"
            }.joined()]
        lines.append("pushes applied by replica: " + counts[0].enumerated().map { "\($0): \($1)" }.joined(separator: ", "))
        for (row, what) in [(1, "refused (NaN or infinite values; they never reached the parameters)"), (2, "dropped as stale (the replica refetched)")]
            where counts[row].contains(where: { $0 > 0 }) {
            lines.append("pushes \(what): " + counts[row].enumerated().filter { $0.1 > 0 }.map { "replica \($0): \($1)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// Frees the windows. Collective.
    func free() {
        shards.forEach { $0.free() }
        ledger.free()
    }
}
