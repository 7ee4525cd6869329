import Foundation
import StrataCore
import StrataData
import StrataModels

/// An RBM across MPI ranks: PCD's persistent chains are per-example state,
/// one band of rows per rank; a checkpoint gathers the whole job's chains and
/// a resumed run keeps its own band, so any number of ranks can resume it.
extension RBM: RankState {
    /// PCD's chains of every rank, in rank order (``RankState/gatherRankState(in:)``).
    /// Every rank takes part, one without chains too.
    public mutating func gatherRankState(in world: MPIWorld) {
        guard world.size > 1 else { return }
        var counts = [Double](repeating: 0, count: world.size)
        counts[world.rank] = Double(chain?.rows ?? 0)
        world.sum(&counts)
        let rows = counts.map { Int($0) }
        guard rows.reduce(0, +) > 0 else { return }
        chain = world.stackRows(chain ?? Tensor(zeros: [0, visibleCount]), rows: rows, columns: visibleCount)
    }

    /// This rank's band of a whole job's chains (``RankState/keepRankBand(in:)``).
    public mutating func keepRankBand(in world: MPIWorld) {
        guard world.size > 1, let whole = chain else { return }
        chain = whole.rows(DataParallel.share(of: whole.rows, rank: world.rank, size: world.size))
    }
}

/// A layer split by hidden units keeps its band's per-rank state (a split
/// RBM's PCD chains, alike on the parts of a replica) as its band does.
extension HiddenUnitSplit: RankState where Band: RankState {
    public mutating func gatherRankState(in world: MPIWorld) { updateBand { $0.gatherRankState(in: world) } }
    public mutating func keepRankBand(in world: MPIWorld) { updateBand { $0.keepRankBand(in: world) } }
    public mutating func combineEpoch(in world: MPIWorld) { updateBand { $0.combineEpoch(in: world) } }
}
