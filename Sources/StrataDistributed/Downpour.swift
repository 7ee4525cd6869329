import Foundation
import StrataCore
import StrataData
import StrataModels

/// Hands a body each buffer of a model's shared parameters, in a fixed order, in place.
public typealias ParameterVisitor = ((UnsafeMutableBufferPointer<Float>) -> Void) throws -> Void

/// Downpour SGD (Dean et al. 2012, "Large Scale Distributed Deep Networks",
/// section 4.1): asynchronous data parallelism. Every rank is a model
/// replica working through its own share of the data; the parameters live
/// on a parameter server (an ``MPIWindow`` on rank 0, which every rank reads
/// and writes without rank 0's help, so rank 0 trains too). A replica:
///
/// - every `fetchEvery` steps replaces its parameters by the server's;
/// - steps on its own minibatch with its own optimizer at rate `α`
///   (the paper's local update), accruing the gradients it used,
///   `g = (theta_then - theta_now) / α` since its last push;
/// - every `pushEvery` steps sends them, and the server applies AdaGrad
///   with per-parameter rates as in the paper, `G_i += g_i^2`,
///   `theta_i -= α g_i / sqrt(1 + G_i)` (the accumulator starts at 1, so the
///   first pushes are plain SGD steps at `α` and each parameter's rate then
///   falls with its own gradients' history), under an exclusive lock.
///
/// Nobody waits for anybody within an epoch: a slow replica only pushes
/// older gradients. At an epoch's end the replicas push what they accrued,
/// meet, and fetch, so they monitor, checkpoint and decide (early stopping,
/// the learning-rate schedule) on the same parameters. A stop request is a
/// flag on the server: the replica that got it sets it with its next push,
/// the others see it at theirs, and all stop together.
///
/// The window also holds the AdaGrad accumulators; the replicas read them
/// at each epoch's meeting (``accumulators``), the checkpoint keeps them
/// (`downpour.adagrad`), and a resumed run puts them back on the server, so
/// each parameter's rate goes on falling from where it was.
public struct Downpour {
    public let world: MPIWorld
    public let fetchEvery: Int
    public let pushEvery: Int
    private let server: MPIWindow
    private let count: Int
    /// The parameters when the accrual began (the last fetch or push).
    private var base: [Float]
    /// The server's parameters, accumulators and stop flag, read under the lock.
    private var remote: [Float]
    /// This rank's parameters at a push.
    private var current: [Float]
    private var steps = 0
    /// The server's AdaGrad accumulators as of the last ``synchronize(learningRate:stop:visit:)``
    /// (or as restored), one per parameter in the visitor's order.
    public private(set) var accumulators: Tensor

    /// Creates the server from rank 0's parameters and gives them to every
    /// rank; with `accumulators` (a resumed run's, one per parameter), the
    /// server's AdaGrad goes on from them. Collective.
    public init(world: MPIWorld, fetchEvery: Int, pushEvery: Int, accumulators saved: Tensor? = nil, visit: ParameterVisitor) throws {
        (self.world, self.fetchEvery, self.pushEvery) = (world, max(fetchEvery, 1), max(pushEvery, 1))
        var total = 0
        try visit { total += $0.count }
        count = total
        if let saved, saved.count != total {
            throw StrataError.shapeMismatch(context: "Downpour's saved AdaGrad accumulators (one per parameter)", expected: [total], found: saved.shape)
        }
        accumulators = saved ?? Tensor(zeros: [total])
        server = MPIWindow(world: world, count: 2 * total + 1)
        (base, current, remote) = ([Float](repeating: 0, count: total), [Float](repeating: 0, count: total), [Float](repeating: 0, count: 2 * total + 1))
        if world.rank == 0 {
            try gather(visit, into: &base)
            let (server, base, accumulators) = (self.server, self.base, self.accumulators)
            server.locked(exclusive: true) {
                base.withUnsafeBufferPointer { server.put($0, at: 0) }
                accumulators.withUnsafeBufferPointer { server.put($0, at: total) }
            }
        }
        world.barrier()
        _ = try fetch(visit)
    }

    /// After a local step at rate `learningRate`: pushes and fetches when due.
    /// Returns whether a stop was asked for (here, with `stop`, or by another rank).
    public mutating func afterStep(learningRate: Float, stop: Bool, visit: ParameterVisitor) throws -> Bool {
        steps += 1
        var stopping = stop
        if steps % pushEvery == 0 || stop { stopping = try push(learningRate: learningRate, stop: stop, visit) || stopping }
        if steps % fetchEvery == 0 { stopping = try fetch(visit) || stopping }
        return stopping
    }

    /// Pushes what this rank accrued, waits for every rank, and fetches the
    /// parameters and the ``accumulators``; a second barrier keeps any rank
    /// from pushing again before all have fetched, so all ranks hold the
    /// same server state. Collective. Returns whether a stop was asked for.
    public mutating func synchronize(learningRate: Float, stop: Bool, visit: ParameterVisitor) throws -> Bool {
        let pushed = try push(learningRate: learningRate, stop: stop, visit)
        world.barrier()
        let (server, count) = (self.server, self.count)
        accumulators.withUnsafeMutableBufferPointer { out in server.locked(exclusive: false) { server.get(out, at: count) } }
        let stopping = try fetch(visit) || pushed || stop
        world.barrier()
        return stopping
    }

    /// Frees the server. Collective.
    public func free() { server.free() }

    private mutating func push(learningRate: Float, stop: Bool, _ visit: ParameterVisitor) throws -> Bool {
        let (count, server) = (self.count, self.server)
        var current = self.current
        self.current = [] // `current` owns the storage alone: filled in place
        defer { self.current = current }
        try gather(visit, into: &current)
        var flag: Float = 0
        remote.withUnsafeMutableBufferPointer { remote in
            base.withUnsafeBufferPointer { base in
                server.locked(exclusive: true) {
                    server.get(remote, at: 0)
                    server.flush()
                    Self.adagrad(parameters: remote.baseAddress!, accumulators: remote.baseAddress! + count, base: base.baseAddress!,
                                 current: current, count: count, learningRate: learningRate)
                    if stop { remote[2 * count] = 1 }
                    flag = remote[2 * count]
                    server.put(UnsafeBufferPointer(remote), at: 0)
                }
            }
        }
        base.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: current, count: count) }
        return flag > 0
    }

    private mutating func fetch(_ visit: ParameterVisitor) throws -> Bool {
        let (count, server) = (self.count, self.server)
        remote.withUnsafeMutableBufferPointer { remote in
            server.locked(exclusive: false) {
                server.get(UnsafeMutableBufferPointer(rebasing: remote[0 ..< count]), at: 0)
                server.get(UnsafeMutableBufferPointer(rebasing: remote[(2 * count) ... (2 * count)]), at: 2 * count)
            }
        }
        var offset = 0
        let fetched = remote
        try visit { buffer in
            fetched.withUnsafeBufferPointer { buffer.baseAddress!.update(from: $0.baseAddress! + offset, count: buffer.count) }
            offset += buffer.count
        }
        base.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: fetched, count: count) }
        return fetched[2 * count] > 0
    }

    /// The server's AdaGrad step, eight parameters at a time: with the
    /// accrued gradient `g = (base - current) / α`, `G += g²` and
    /// `θ -= α g / √(1 + G)`.
    static func adagrad(parameters theta: UnsafeMutablePointer<Float>, accumulators: UnsafeMutablePointer<Float>, base: UnsafePointer<Float>,
                        current: UnsafePointer<Float>, count: Int, learningRate: Float) {
        let inverseRate = 1 / learningRate
        var i = 0
        while i + 8 <= count {
            let g = (UnsafeRawPointer(base + i).loadUnaligned(as: Float8.self) - UnsafeRawPointer(current + i).loadUnaligned(as: Float8.self)) * inverseRate
            let sum = UnsafeRawPointer(accumulators + i).loadUnaligned(as: Float8.self) + g * g
            UnsafeMutableRawPointer(accumulators + i).storeBytes(of: sum, as: Float8.self)
            let step = learningRate * g * fastReciprocalSquareRoot(1 + sum)
            UnsafeMutableRawPointer(theta + i).storeBytes(of: UnsafeRawPointer(theta + i).loadUnaligned(as: Float8.self) - step, as: Float8.self)
            i += 8
        }
        while i < count {
            let g = (base[i] - current[i]) * inverseRate
            accumulators[i] += g * g
            theta[i] -= learningRate * g / (1 + accumulators[i]).squareRoot()
            i += 1
        }
    }

    private func gather(_ visit: ParameterVisitor, into values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { out in
            var offset = 0
            try visit { buffer in
                (out.baseAddress! + offset).update(from: buffer.baseAddress!, count: buffer.count)
                offset += buffer.count
            }
        }
    }
}
