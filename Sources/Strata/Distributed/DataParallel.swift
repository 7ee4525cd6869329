import Foundation

/// Synchronous data parallelism over the ranks of an ``MPIWorld`` (as
/// Horovod and PyTorch's DistributedDataParallel do it): every rank holds the
/// same model, takes its own share of each global minibatch (the same
/// shuffled order on every rank, from the same seed), makes its local step,
/// and the ranks' changes are combined with one allreduce, so that every rank
/// ends the step with the same parameters without broadcasting them.
///
/// The combined change is `sum over ranks of (n_r / m) * (theta_r - theta)`,
/// with `n_r` the rank's rows and `m` the global batch's. For SGD, momentum
/// and Nesterov the step is linear in the batch-mean gradient, so this is the
/// step one process makes on the whole global batch (with per-example random
/// numbers, ``ExampleStreams``), up to the order of float additions: `N` ranks
/// with `--batch-size b` train as one process with batch `N·b`. (Adam's step is
/// not linear in the gradient; ``Trainer`` refuses it across ranks.)
///
/// The same allreduce carries the batch's objective (weighted the same way,
/// so every rank sees the global batch's value) and a stop flag (a SIGINT that
/// reached any rank stops all of them after the same batch).
public struct DataParallel {
    public let world: MPIWorld
    /// Whether velocities are combined too (a momentum optimizer).
    public let velocities: Bool
    /// The trained values before the step, then the changes, then the objective and the stop flag.
    private var before: [Float] = []
    private var change: [Float] = []

    public init(world: MPIWorld, velocities: Bool) { (self.world, self.velocities) = (world, velocities) }

    /// This rank's rows of a global minibatch of `count` rows: a contiguous
    /// band, as even as the count allows.
    public func share(of count: Int) -> Range<Int> { Self.share(of: count, rank: world.rank, size: world.size) }

    /// Rank `rank`'s band of `count` rows among `size` ranks.
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> {
        (count * rank / size) ..< (count * (rank + 1) / size)
    }

    /// Remembers `learner`'s trained values before the local step.
    public mutating func snapshot<L: UnsupervisedLearner>(_ learner: inout L) throws {
        var total = 0
        try learner.forEachTrainedBuffer(velocities: velocities) { total += $0.count }
        if before.count != total { (before, change) = ([Float](repeating: 0, count: total), [Float](repeating: 0, count: total + 2)) }
        var saved = before
        before = []  // `saved` is the storage's only owner: filled in place, no copy
        defer { before = saved }
        try saved.withUnsafeMutableBufferPointer { copy in
            var offset = 0
            try learner.forEachTrainedBuffer(velocities: velocities) { buffer in
                (copy.baseAddress! + offset).update(from: buffer.baseAddress!, count: buffer.count)
                offset += buffer.count
            }
        }
    }

    /// Replaces `learner`'s values by the snapshot plus the ranks' combined
    /// change; returns the global batch's objective and whether any rank asked to stop.
    public mutating func combine<L: UnsupervisedLearner>(_ learner: inout L, localRows: Int, globalRows: Int,
                                                         objective: Double, stop: Bool) throws -> (objective: Double, stop: Bool) {
        let weight = Float(localRows) / Float(max(globalRows, 1))
        let values = before.count
        var (saved, sum) = (before, change)
        (before, change) = ([], [])  // the locals own the storage while the learner's buffers are visited
        defer { (before, change) = (saved, sum) }
        try sum.withUnsafeMutableBufferPointer { delta in
            try saved.withUnsafeBufferPointer { old in
                var offset = 0
                try learner.forEachTrainedBuffer(velocities: velocities) { buffer in
                    for i in 0 ..< buffer.count { delta[offset + i] = weight * (buffer[i] - old[offset + i]) }
                    offset += buffer.count
                }
                delta[values] = Float(objective) * weight
                delta[values + 1] = stop ? 1 : 0
                world.sum(delta)
                offset = 0
                try learner.forEachTrainedBuffer(velocities: velocities) { buffer in
                    for i in 0 ..< buffer.count { buffer[i] = old[offset + i] + delta[offset + i] }
                    offset += buffer.count
                }
            }
        }
        return (Double(sum[values]), sum[values + 1] > 0)
    }
}
