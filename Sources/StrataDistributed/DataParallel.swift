import Foundation
import StrataCore
import StrataData
import StrataModels

/// Synchronous data parallelism over the ranks of an ``MPIWorld`` (as
/// Horovod and PyTorch's DistributedDataParallel do it): every rank holds the
/// same model, takes its own share of each global minibatch (the same
/// shuffled order on every rank, from the same seed), makes its local step,
/// and the ranks' changes are combined with one allreduce, so that every rank
/// ends the step with the same parameters without broadcasting them.
///
/// Each rank's step starts from the same parameters `theta`; the combined
/// parameters are `sum over ranks of (n_r / m) * theta_r`, with `n_r` the
/// rank's rows and `m` the global batch's, which is `theta` plus the same
/// weighting of the ranks' changes. For SGD, momentum and Nesterov the step
/// is linear in the batch-mean gradient, so this is the step one process
/// makes on the whole global batch (with per-example random numbers,
/// ``ExampleStreams``), up to the rounding of float additions: `N` ranks with
/// `--batch-size b` train as one process with batch `N·b`. (Adam's step is
/// not linear in the gradient; ``Trainer`` refuses it across ranks.)
/// Averaging the parameters rather than the changes needs no copy of the
/// parameters before the step: one scaling pass and one allreduce per
/// buffer, in place (measured: the copy and the differences cost 5 times
/// the allreduce of a 784x500 RBM's 1.57 MB).
///
/// A second, small allreduce carries the batch's objective (weighted the
/// same way, so every rank sees the global batch's value) and a stop flag (a
/// SIGINT that reached any rank stops all of them after the same batch).
public struct DataParallel {
    public let world: MPIWorld
    /// Whether velocities are combined too (a momentum optimizer).
    public let velocities: Bool
    /// The objective and the stop flag, summed over the ranks.
    private var scalars: [Double] = [0, 0]

    public init(world: MPIWorld, velocities: Bool) { (self.world, self.velocities) = (world, velocities) }

    /// Rank `rank`'s rows of a global minibatch of `count` rows among `size`
    /// ranks: a contiguous band, as even as the count allows.
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> {
        (count * rank / size) ..< (count * (rank + 1) / size)
    }

    /// Whether every rank holds bit-identical trained values (a 52-bit
    /// FNV-1a hash of their bits, compared by one allreduce): checked after
    /// each epoch, so that ranks that drifted apart stop the run instead of
    /// training on silently.
    public func ranksAgree<L: UnsupervisedLearner>(_ learner: inout L) throws -> Bool {
        var hasher = FingerprintHasher()
        try learner.forEachTrainedBuffer(velocities: velocities) { hasher.add(UnsafeBufferPointer($0)) }
        let value = Double(hasher.value & ((1 << 52) - 1))
        var extremes = [value, -value]
        world.maximum(&extremes)
        return extremes[0] == -extremes[1]
    }

    /// Replaces `learner`'s values by the ranks' weighted average (each
    /// rank's weighted by `localRows / globalRows`); returns the global
    /// batch's objective and whether any rank asked to stop.
    public mutating func combine<L: UnsupervisedLearner>(_ learner: inout L, localRows: Int, globalRows: Int,
                                                         objective: Double, stop: Bool) throws -> (objective: Double, stop: Bool) {
        let weight = Float(localRows) / Float(max(globalRows, 1))
        let world = self.world
        try learner.forEachTrainedBuffer(velocities: velocities) { buffer in
            for i in buffer.indices { buffer[i] *= weight }
            world.sum(buffer)
        }
        (scalars[0], scalars[1]) = (objective * Double(weight), stop ? 1 : 0)
        world.sum(&scalars)
        return (scalars[0], scalars[1] > 0)
    }
}
