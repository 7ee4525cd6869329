import Foundation
import StrataCore
import StrataModels

/// A learner that keeps state of its own on each rank, beyond the parameters
/// ``DataParallel`` combines through ``UnsupervisedLearner/forEachTrainedBuffer(velocities:_:)``:
/// PCD's persistent chains (one per example of the rank's band of the batch)
/// and K-means' per-epoch sums. Learners without such state do not conform,
/// and the training loop leaves them alone (``UnsupervisedLearner/withRankState(_:)``).
public protocol RankState {
    /// Replaces the state each rank keeps for its own examples (PCD's
    /// persistent chains, one per row of the rank's band of the batch) by the
    /// whole job's, the ranks' parts in rank order: what one process with the
    /// global batch holds, for a checkpoint that any number of ranks can resume. Collective.
    mutating func gatherRankState(in world: MPIWorld)

    /// Keeps this rank's band of a whole job's per-example state (a resumed checkpoint's). The others: nothing.
    mutating func keepRankBand(in world: MPIWorld)

    /// Before ``UnsupervisedLearner/finishEpoch()`` across ranks: combines what each rank gathered
    /// over its share of the epoch (K-means' sums, counts and reservoir), so
    /// every rank makes the one process's epoch update. Collective. The others: nothing.
    mutating func combineEpoch(in world: MPIWorld)

}

extension RankState {
    public mutating func gatherRankState(in world: MPIWorld) {}
    public mutating func keepRankBand(in world: MPIWorld) {}
    public mutating func combineEpoch(in world: MPIWorld) {}
}

extension UnsupervisedLearner {
    /// Calls `body` with this learner as its ``RankState`` when it keeps state
    /// per rank, and keeps what `body` changed; does nothing otherwise.
    public mutating func withRankState(_ body: (inout any RankState) -> Void) {
        guard var state = self as? any RankState else { return }
        body(&state)
        self = state as! Self // swiftlint:disable:this force_cast (the same value, changed in place)
    }
}
