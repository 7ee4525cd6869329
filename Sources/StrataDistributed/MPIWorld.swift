import CMPI
import Foundation
import StrataCore
import StrataData
import StrataModels

/// The processes of one run started by `mpirun` (Open MPI): each is a rank
/// of `size`, and together they train one model (``DataParallel``).
///
/// MPI is touched only when the process was started by `mpirun` (Open MPI
/// sets `OMPI_COMM_WORLD_SIZE`, PMIx `PMIX_RANK`): a plain `strata` run never
/// initializes it and behaves exactly as it would without MPI. Calls are made
/// from one thread only (`MPI_THREAD_FUNNELED`); the cores' workers never call MPI.
///
/// Errors are MPI's default (`MPI_ERRORS_ARE_FATAL`): a failed or killed
/// rank ends the whole job through `mpirun`, which names the rank, rather
/// than leaving the others waiting in a collective.
public final class MPIWorld: @unchecked Sendable {
    /// This process's rank, `0 ..< size`.
    public let rank: Int
    /// How many processes the job has.
    public let size: Int
    /// The MPI communicator of these ranks: the whole job's, or a group of it (``split(color:key:)``).
    let communicator: MPI_Comm

    /// The world once ``startIfLaunched()`` has found `mpirun`; nil in a plain process.
    public private(set) nonisolated(unsafe) static var current: MPIWorld?

    /// Whether `mpirun` (or another PMIx launcher) started this process.
    public static var wasLaunchedByMPIRun: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    private init(rank: Int, size: Int, communicator: MPI_Comm) { (self.rank, self.size, self.communicator) = (rank, size, communicator) }

    /// The ranks of this world that give the same `color`, ranked by `key`
    /// (`MPI_Comm_split`): a model replica's parts, or one part's replicas. Collective.
    public func split(color: Int, key: Int) -> MPIWorld {
        var group: MPI_Comm?
        MPI_Comm_split(communicator, Int32(color), Int32(key), &group)
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(group, &rank)
        MPI_Comm_size(group, &size)
        return MPIWorld(rank: Int(rank), size: Int(size), communicator: group!)
    }

    /// Initializes MPI when the process was started by `mpirun` and returns
    /// the world (the same one on later calls); nil, touching nothing, otherwise.
    @discardableResult
    public static func startIfLaunched() -> MPIWorld? {
        if let current { return current }
        guard wasLaunchedByMPIRun else { return nil }
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, strata_mpi_thread_funneled(), &provided)
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(strata_mpi_comm_world(), &rank)
        MPI_Comm_size(strata_mpi_comm_world(), &size)
        let world = MPIWorld(rank: Int(rank), size: Int(size), communicator: strata_mpi_comm_world())
        current = world
        return world
    }

    /// Ends MPI after a successful run (every rank must call it, or `mpirun` reports the job failed).
    public static func finish() {
        guard current != nil else { return }
        MPI_Finalize()
        current = nil
    }

    /// Ends every rank of the job at once with `code`: the way out of an
    /// error on one rank, which the others would otherwise wait for forever.
    public func abort(code: Int32) -> Never {
        MPI_Abort(strata_mpi_comm_world(), code)
        Foundation.exit(code) // not reached: MPI_Abort ends the process
    }

    /// Sums `buffer` over the ranks, in place on every rank (`MPI_Allreduce`).
    public func sum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        precondition(buffer.count <= Int(Int32.max), "an allreduce of more than 2^31 values")
        guard size > 1, buffer.count > 0 else { return }
        MPI_Allreduce(strata_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), strata_mpi_float(), strata_mpi_sum(), communicator)
    }

    /// Sums `values` over the ranks, in place on every rank.
    public func sum(_ values: inout [Double]) {
        guard size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            _ = MPI_Allreduce(strata_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), strata_mpi_double(), strata_mpi_sum(), communicator)
        }
    }

    /// The largest of each entry over the ranks, in place on every rank.
    public func maximum(_ values: inout [Double]) {
        guard size > 1, !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            _ = MPI_Allreduce(strata_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), strata_mpi_double(), strata_mpi_max(), communicator)
        }
    }

    /// Completes `buffer` on every rank from the ranks' bands: rank `r` has
    /// written the values `bands[r]`, and every rank ends with all of them
    /// (`MPI_Allgatherv` in place). The buffer holds fewer than 2^31 values.
    public func gatherBands(_ buffer: UnsafeMutableBufferPointer<Float>, bands: [Range<Int>]) {
        precondition(buffer.count <= Int(Int32.max) && bands.count == size, "bands of fewer than 2^31 values, one per rank")
        guard size > 1 else { return }
        var counts = bands.map { Int32($0.count) }, displacements = bands.map { Int32($0.lowerBound) }
        MPI_Allgatherv(strata_mpi_in_place(), 0, strata_mpi_float(), buffer.baseAddress, &counts, &displacements, strata_mpi_float(), communicator)
    }

    /// Completes `buffer` on rank 0 from the ranks' bands (`MPI_Gatherv`, in
    /// place on rank 0); the other ranks' buffers are only read. Collective.
    public func gatherBandsOnRankZero(_ buffer: UnsafeMutableBufferPointer<Float>, bands: [Range<Int>]) {
        precondition(buffer.count <= Int(Int32.max) && bands.count == size, "bands of fewer than 2^31 values, one per rank")
        guard size > 1 else { return }
        var counts = bands.map { Int32($0.count) }, displacements = bands.map { Int32($0.lowerBound) }
        let mine = buffer.baseAddress! + bands[rank].lowerBound
        if rank == 0 {
            MPI_Gatherv(strata_mpi_in_place(), 0, strata_mpi_float(), buffer.baseAddress, &counts, &displacements, strata_mpi_float(), 0, communicator)
        } else {
            MPI_Gatherv(mine, counts[rank], strata_mpi_float(), nil, nil, nil, strata_mpi_float(), 0, communicator)
        }
    }

    /// Every rank's `part` (`rows[r]` rows of `columns` values on rank r;
    /// `rows` the same on every rank) stacked in rank order, on every rank:
    /// one in-place ``gatherBands(_:bands:)``. Collective.
    public func stackRows(_ part: Tensor, rows: [Int], columns: Int) -> Tensor {
        let starts = rows.indices.map { rows[..<$0].reduce(0, +) }
        var all = Tensor(zeros: [rows.reduce(0, +), columns])
        all.withUnsafeMutableBufferPointer { out in
            part.withUnsafeBufferPointer { mine in
                if let source = mine.baseAddress { out.baseAddress!.advanced(by: starts[rank] * columns).update(from: source, count: mine.count) }
            }
            gatherBands(out, bands: rows.indices.map { starts[$0] * columns ..< (starts[$0] + rows[$0]) * columns })
        }
        return all
    }

    /// Lets MPI make progress on other ranks' one-sided operations on this
    /// rank's windows while it does no other MPI call (a sweep's rank 0
    /// waiting on its runs). Does nothing in one process.
    public func progress() {
        guard size > 1 else { return }
        var flag: Int32 = 0
        var status = MPI_Status()
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, communicator, &flag, &status)
    }

    /// Waits until every rank is here.
    public func barrier() {
        guard size > 1 else { return }
        MPI_Barrier(communicator)
    }
}

extension MPIWorld {
    /// On ranks other than 0, sends standard output and error to /dev/null
    /// (rank 0 speaks for the job: every rank holds the same model, so their
    /// logs would repeat it) and returns a stream to the original standard
    /// error, for a rank's own fatal error. On rank 0: standard error.
    public func silenceOutputUnlessRankZero() -> UnsafeMutablePointer<FILE> {
        guard rank != 0 else { return stderr }
        fflush(stdout); fflush(stderr)
        let saved = dup(STDERR_FILENO)
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 { dup2(null, STDOUT_FILENO); dup2(null, STDERR_FILENO); close(null) }
        return (saved >= 0 ? fdopen(saved, "w") : nil) ?? stderr
    }
}
