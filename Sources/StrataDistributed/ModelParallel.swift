import CMPI
import Foundation
import StrataCore
import StrataModels

/// DistBelief's layout of an `mpirun` job (Dean et al. 2012): `R x P` ranks
/// are `R` model replicas of `P` parts each. Rank `w` is part `w mod P` of
/// replica `w / P`. The parts of a replica hold one model between them and
/// exchange only border values (``ModelPartExchange``, point to point);
/// the replicas of one part train as data parallelism does (``replicas``:
/// synchronous averaging or Downpour across them, as `distributed:` says).
public final class ModelParallel: ModelPartExchange, @unchecked Sendable {
    /// This replica's parts.
    public let group: MPIWorld
    /// The same part of every replica: what data parallelism and Downpour run across.
    public let replicas: MPIWorld
    public private(set) var valuesSent = 0

    public var part: Int { group.rank }
    public var parts: Int { group.size }

    /// Splits `world` into replicas of `parts` parts. Collective.
    /// - Throws: when `parts` does not divide the job's ranks, with the nearest that do.
    public init(world: MPIWorld, parts: Int) throws {
        guard parts >= 1, world.size % parts == 0 else {
            let divisors = (1 ... world.size).filter { world.size % $0 == 0 }.map(String.init)
            throw StrataError.invalidArgument(name: "model_parallel", reason: """
                \(parts) parts do not divide the \(world.size) ranks of this job into whole replicas \
                (ranks = replicas x parts); valid choices for \(world.size) ranks: model_parallel \(divisors.joined(separator: ", ")), \
                or mpirun -np a multiple of \(parts)
                """)
        }
        group = world.split(color: world.rank / parts, key: world.rank % parts)
        replicas = world.split(color: world.rank % parts, key: world.rank / parts)
    }

    /// The split of a job into replicas of `parts` parts, or nil when `parts`
    /// is 1 (the whole model on every rank). Collective.
    /// - Throws: when `parts` > 1 outside `mpirun`, saying how to start it, or when `parts` does not divide the ranks.
    public static func split(_ parts: Int, world: MPIWorld?) throws -> ModelParallel? {
        guard parts > 1 else { return nil }
        guard let world else {
            throw StrataError.invalidArgument(name: "model_parallel", reason: "\(parts) parts run as \(parts) processes: start them with mpirun -np \(parts) (or a multiple, for replicas)")
        }
        return try ModelParallel(world: world, parts: parts)
    }

    /// The log's plan of layers of `sizes` hidden units cut by units over the
    /// parts (as ``HiddenUnitBands`` cuts them): `split P ways by hidden units
    /// (R replicas): part 0: units 0-499, 0-249; part 1: ...` (one layer's parts apart by commas).
    public func hiddenUnitPlan(layerSizes sizes: [Int]) -> String {
        let parts = (0 ..< self.parts).map { p in "part \(p): units " + sizes.map { "\(p * $0 / self.parts)-\((p + 1) * $0 / self.parts - 1)" }.joined(separator: ", ") }
        return "split \(self.parts) ways by hidden units (\(replicas.size) replica\(replicas.size == 1 ? "" : "s")): " + parts.joined(separator: sizes.count > 1 ? "; " : ", ")
    }

    /// Runs `body` on one part's replicas at a time, part 0's first, the
    /// other parts waiting; every process gets its own part's result.
    /// Collective over the job. For what the replicas of each part make
    /// together that must not be made at once by another part: Open MPI
    /// 4.1's shared-memory windows (Downpour's server) name their backing
    /// file by the communicator's context id, which the replicas of
    /// different parts share, so two parts making theirs at once can remove
    /// each other's file.
    public func inTurn<R>(_ body: () throws -> R) rethrows -> R {
        var result: R?
        for turn in 0 ..< parts {
            if turn == part { result = try body() }
            group.barrier()
        }
        return result!
    }

    public func exchange(toPrevious: UnsafeBufferPointer<Float>, fromPrevious: UnsafeMutableBufferPointer<Float>,
                         toNext: UnsafeBufferPointer<Float>, fromNext: UnsafeMutableBufferPointer<Float>) {
        var requests = [MPI_Request?](repeating: nil, count: 4)
        var used = 0
        let (previous, next) = (Int32(part - 1), Int32(part + 1))
        // Tag 1: towards higher parts; tag 2: towards lower ones.
        if fromPrevious.count > 0 {
            MPI_Irecv(fromPrevious.baseAddress, Int32(fromPrevious.count), strata_mpi_float(), previous, 1, group.communicator, &requests[used]); used += 1
        }
        if fromNext.count > 0 {
            MPI_Irecv(fromNext.baseAddress, Int32(fromNext.count), strata_mpi_float(), next, 2, group.communicator, &requests[used]); used += 1
        }
        if toPrevious.count > 0 {
            MPI_Isend(toPrevious.baseAddress, Int32(toPrevious.count), strata_mpi_float(), previous, 2, group.communicator, &requests[used]); used += 1
        }
        if toNext.count > 0 {
            MPI_Isend(toNext.baseAddress, Int32(toNext.count), strata_mpi_float(), next, 1, group.communicator, &requests[used]); used += 1
        }
        valuesSent += toPrevious.count + toNext.count
        guard used > 0 else { return }
        _ = MPI_Waitall(Int32(used), &requests, nil)
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Float>) {
        group.sum(values)
        valuesSent += parts > 1 ? values.count : 0
    }

    public func sum(_ values: inout [Double]) { group.sum(&values) }

    public func gatherBandsOnFirstPart(_ buffer: UnsafeMutableBufferPointer<Float>, bands: [Range<Int>]) {
        group.gatherBandsOnRankZero(buffer, bands: bands)
        valuesSent += parts > 1 && part > 0 ? bands[part].count : 0
    }

    // Tag 7: a request for a range of a tensor (its index, or -1: done; the
    // range's start and count); tag 8: the range's pieces.
    public func serveBands(_ tensors: [UnsafeBufferPointer<Float>]) {
        guard part > 0 else { return }
        while true {
            var request: [Int64] = [-1, 0, 0]
            MPI_Recv(&request, 3, strata_mpi_int64(), 0, 7, group.communicator, nil)
            let (index, first, count) = (Int(request[0]), Int(request[1]), Int(request[2]))
            guard index >= 0, index < tensors.count, let base = tensors[index].baseAddress,
                  first >= 0, count >= 0, first + count <= tensors[index].count else { return }
            for start in stride(from: first, to: first + count, by: bandPiece) {
                MPI_Send(base + start, Int32(min(bandPiece, first + count - start)), strata_mpi_float(), 0, 8, group.communicator)
            }
            valuesSent += count
        }
    }

    public func receiveBand(tensor index: Int, from part: Int, range: Range<Int>, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        var request: [Int64] = [Int64(index), Int64(range.lowerBound), Int64(range.count)]
        MPI_Send(&request, 3, strata_mpi_int64(), Int32(part), 7, group.communicator)
        var piece = [Float](repeating: 0, count: min(bandPiece, range.count))
        var failure: (any Error)?
        try piece.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: range.count, by: bandPiece) {
                let n = min(bandPiece, range.count - start)
                MPI_Recv(buffer.baseAddress, Int32(n), strata_mpi_float(), Int32(part), 8, group.communicator, nil)
                if failure == nil {
                    do { try body(UnsafeBufferPointer(rebasing: buffer[0 ..< n])) } catch { failure = error }
                }
            }
            if let failure { throw failure }
        }
    }

    public func endBandRequests() {
        var done: [Int64] = [-1, 0, 0]
        for other in 1 ..< max(parts, 1) { MPI_Send(&done, 3, strata_mpi_int64(), Int32(other), 7, group.communicator) }
    }

    public func gatherBands(_ buffer: UnsafeMutableBufferPointer<Float>, bands: [Range<Int>]) {
        group.gatherBands(buffer, bands: bands)
        valuesSent += parts > 1 ? bands[part].count : 0
    }
}
