import Foundation
import StrataCore
import StrataData
import StrataModels

/// Hands a body each buffer of a model's shared parameters, in a fixed order, in place.
public typealias ParameterVisitor = ((UnsafeMutableBufferPointer<Float>) -> Void) throws -> Void

/// Downpour SGD (Dean et al. 2012, "Large Scale Distributed Deep Networks",
/// section 4.1): asynchronous data parallelism. Every rank is a model
/// replica working through its own share of the data; the parameters live
/// on a parameter server sharded over the first `shards` ranks (``MPIWindow``s
/// that every rank reads and writes without their owners' help, so the
/// owners train too; each shard served under its own lock). A replica:
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
/// A push holding a NaN or an infinite value is refused (the server's
/// parameters never see it; the replica refetches), and with `maxStaleness`
/// a push computed on parameters more than that many server updates old is
/// dropped and the replica refetches; the ledger counts both per replica, and
/// ``report()`` names them at the end of a run.
///
/// The shards also hold the AdaGrad accumulators; the replicas read them
/// at each epoch's meeting (``accumulators``), the checkpoint keeps them
/// (`downpour.adagrad`), and a resumed run puts them back on the server, so
/// each parameter's rate goes on falling from where it was.
public struct Downpour {
    public let world: MPIWorld
    public let fetchEvery: Int
    public let pushEvery: Int
    /// Server updates a push may lag behind (0: any).
    public let maxStaleness: Int
    private let server: ParameterServer
    private let count: Int
    /// The parameters when the accrual began (the last fetch or push).
    private var base: [Float]
    /// This rank's parameters at a push.
    private var current: [Float]
    /// Each shard's update count as of this replica's parameters (its fetch and its own pushes since).
    private var seenUpdates: [Float]
    private var steps = 0, pushes = 0
    /// The push at which this replica sends NaN instead of its gradients (a fault for tests: `STRATA_DOWNPOUR_POISON=RANK:PUSH`).
    private let poisonedPush: Int?
    /// The server's AdaGrad accumulators as of the last ``synchronize(learningRate:stop:visit:)``
    /// (or as restored), one per parameter in the visitor's order.
    public private(set) var accumulators: Tensor

    /// The environment variable of the fault hook: `RANK:PUSH` makes that
    /// replica push NaN at its PUSH-th push (1-based), as a replica gone wrong would.
    public static let poisonVariable = "STRATA_DOWNPOUR_POISON"

    /// Creates the server, its parameters split over `shards` ranks, from rank 0's
    /// parameters and gives them to every rank; with `accumulators` (a resumed
    /// run's, one per parameter), the server's AdaGrad goes on from them. With
    /// `split` (`world` being one part's replicas), the parts make their servers
    /// in turn. Collective over the job.
    public init(world: MPIWorld, fetchEvery: Int, pushEvery: Int, shards: Int = 1, maxStaleness: Int = 0,
                accumulators saved: Tensor? = nil, split: ModelParallel? = nil, visit: ParameterVisitor) throws {
        (self.world, self.fetchEvery, self.pushEvery, self.maxStaleness) = (world, max(fetchEvery, 1), max(pushEvery, 1), max(maxStaleness, 0))
        var total = 0
        try visit { total += $0.count }
        count = total
        if let saved, saved.count != total {
            throw StrataError.shapeMismatch(context: "Downpour's saved AdaGrad accumulators (one per parameter)", expected: [total], found: saved.shape)
        }
        accumulators = saved ?? Tensor(zeros: [total])
        // The replicas of a split model's parts make their windows one part at a time (ModelParallel.inTurn says why).
        server = try split?.inTurn { try ParameterServer(world: world, count: total, shards: shards) } ?? ParameterServer(world: world, count: total, shards: shards)
        (base, current) = ([Float](repeating: 0, count: total), [Float](repeating: 0, count: total))
        seenUpdates = [Float](repeating: 0, count: shards)
        let poison = ProcessInfo.processInfo.environment[Self.poisonVariable].map { $0.split(separator: ":").compactMap { Int($0) } }
        poisonedPush = poison.flatMap { $0.count == 2 && $0[0] == world.rank ? $0[1] : nil }
        if world.rank == 0 {
            try gather(visit, into: &base)
            let server = self.server
            base.withUnsafeBufferPointer { base in accumulators.withUnsafeBufferPointer { server.store(parameters: base, accumulators: $0) } }
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
        let server = self.server
        accumulators.withUnsafeMutableBufferPointer { server.readAccumulators(into: $0) }
        let stopping = try fetch(visit) || pushed || stop
        world.barrier()
        return stopping
    }

    /// The server's shards and traffic, and each replica's pushes (applied,
    /// refused, dropped as stale), for the end of a run; nil when no replica pushed. Collective.
    public func report() -> String? { server.report() }

    /// Frees the server. Collective.
    public func free() { server.free() }

    private mutating func push(learningRate: Float, stop: Bool, _ visit: ParameterVisitor) throws -> Bool {
        let server = self.server
        var current = self.current
        self.current = [] // `current` owns the storage alone: filled in place
        defer { self.current = current }
        try gather(visit, into: &current)
        pushes += 1
        if pushes == poisonedPush { current.withUnsafeMutableBufferPointer { $0.update(repeating: .nan) } }
        guard current.withUnsafeBufferPointer(allFinite) else {
            let stopping = server.record(.refused, stop: stop)
            return try fetch(visit) || stopping
        }
        let maxStaleness = self.maxStaleness
        let applied = base.withUnsafeBufferPointer { base in
            current.withUnsafeBufferPointer { server.push(base: base, current: $0, seen: &seenUpdates, maxStaleness: maxStaleness, learningRate: learningRate) }
        }
        let stopping = server.record(applied ? .applied : .stale, stop: stop)
        guard applied else { return try fetch(visit) || stopping }
        base.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: current, count: count) }
        return stopping
    }

    private mutating func fetch(_ visit: ParameterVisitor) throws -> Bool {
        let server = self.server
        base.withUnsafeMutableBufferPointer { server.fetch(into: $0, updates: &seenUpdates) }
        var offset = 0
        let fetched = base
        try visit { buffer in
            fetched.withUnsafeBufferPointer { buffer.baseAddress!.update(from: $0.baseAddress! + offset, count: buffer.count) }
            offset += buffer.count
        }
        return server.stopRequested()
    }

    /// The server's AdaGrad step, eight parameters at a time (the last few
    /// too, padded): with the accrued gradient `g = (base - current) / α`,
    /// `G += g²` and `θ -= α g / √(1 + G)`.
    static func adagrad(parameters theta: UnsafeMutablePointer<Float>, accumulators: UnsafeMutablePointer<Float>, base: UnsafePointer<Float>,
                        current: UnsafePointer<Float>, count: Int, learningRate: Float) {
        let inverseRate = 1 / learningRate
        func step(_ theta: Float8, _ accumulator: Float8, _ base: Float8, _ current: Float8) -> (theta: Float8, accumulator: Float8) {
            let g = (base - current) * inverseRate
            let sum = accumulator + g * g
            return (theta - learningRate * g * fastReciprocalSquareRoot(1 + sum), sum)
        }
        var i = 0
        while i + 8 <= count {
            func load(_ p: UnsafePointer<Float>) -> Float8 { UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self) }
            let (t, a) = step(load(theta), load(accumulators), load(base), load(current))
            UnsafeMutableRawPointer(accumulators + i).storeBytes(of: a, as: Float8.self)
            UnsafeMutableRawPointer(theta + i).storeBytes(of: t, as: Float8.self)
            i += 8
        }
        // The last few through the same vector arithmetic, so each parameter's
        // step is the same wherever a shard's boundary puts it.
        guard i < count else { return }
        var lanes = (Float8(), Float8(), Float8(), Float8())
        for j in i ..< count { (lanes.0[j - i], lanes.1[j - i], lanes.2[j - i], lanes.3[j - i]) = (theta[j], accumulators[j], base[j], current[j]) }
        let (t, a) = step(lanes.0, lanes.1, lanes.2, lanes.3)
        for j in i ..< count { (theta[j], accumulators[j]) = (t[j - i], a[j - i]) }
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
