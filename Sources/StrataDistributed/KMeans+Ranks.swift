import Foundation
import StrataCore
import StrataData
import StrataModels

/// K-means across MPI ranks: each rank assigns its share of every global
/// batch and adds it to its own sums, counts and reservoir; at the epoch's
/// end one allreduce of each makes them the whole epoch's, and every rank
/// moves the centroids alike (Lloyd's step over all the data). With the
/// reservoir drawn per example, the result is one process's with batch N·b
/// and `random_per_example`.
extension KMeans: RankState {
    /// Adds the ranks' sums, counts and examples seen, and merges their
    /// reservoirs: each slot keeps the example of the largest number in the
    /// epoch, as one process's sequential sampling leaves it. Collective.
    public mutating func combineEpoch(in world: MPIWorld) {
        guard world.size > 1 else { return }
        sums.withUnsafeMutableBufferPointer { world.sum($0) }
        counts.withUnsafeMutableBufferPointer { world.sum($0) }
        seen.withUnsafeMutableBufferPointer { world.sum($0) }
        var latest = owners.scalars.map(Double.init)
        world.maximum(&latest)
        let v = visibleCount
        reservoir.withUnsafeMutableBufferPointer { kept in
            for slot in latest.indices where Double(owners.scalars[slot]) != latest[slot] {
                (kept.baseAddress! + slot * v).update(repeating: 0, count: v) // another rank holds this slot's example
            }
            world.sum(kept)
        }
        owners = Tensor(shape: [hiddenCount], scalars: latest.map(Float.init))
    }

    /// A stopped epoch's partial sums and reservoir, as the whole job's (``combineEpoch(in:)``), for a checkpoint.
    public mutating func gatherRankState(in world: MPIWorld) { combineEpoch(in: world) }

    /// A resumed whole job's partial epoch: rank 0 carries it on, the other
    /// ranks start their sums from zero (the epoch's end adds them all).
    public mutating func keepRankBand(in world: MPIWorld) {
        guard world.size > 1, world.rank != 0 else { return }
        let (v, k) = (visibleCount, hiddenCount)
        (sums, counts, seen, owners) = (Tensor(zeros: [k, v]), Tensor(zeros: [k]), Tensor(zeros: [1]), Tensor(shape: [k], repeating: -1))
    }
}
