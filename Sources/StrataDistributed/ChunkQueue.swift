import CMPI
import Foundation
import StrataCore
import StrataData
import StrataModels

/// Sandblaster's coordinator (Dean et al. 2012): the chunks of one pass over
/// the data are handed out one at a time to whichever rank asks next, so a
/// fast rank takes more of them and nobody waits long for the slowest (with
/// many more chunks than ranks, the last chunk is small against the pass).
///
/// Across ranks the queue is one 64-bit counter on rank 0 in an MPI window,
/// which each rank advances with an atomic `MPI_Fetch_and_op` (passive
/// target: rank 0 is a worker like the others, not a dedicated master). The
/// counter only grows: in every pass each rank makes exactly one request past
/// the end, so each rank knows where the next pass starts (`chunks + ranks`
/// later) without another message. In one process the chunks come in order.
public final class ChunkQueue: @unchecked Sendable {
    public let world: MPIWorld?
    private var window: MPI_Win?
    /// The counter's value where the current pass starts.
    private var start: Int64 = 0

    /// A queue over the ranks of `world` (collective: every rank creates it), or a local one.
    public init(world: MPIWorld?) {
        self.world = world.flatMap { $0.size > 1 ? $0 : nil }
        guard let world = self.world else { return }
        var base: UnsafeMutableRawPointer?
        let bytes = world.rank == 0 ? MemoryLayout<Int64>.size : 0
        MPI_Win_allocate(MPI_Aint(bytes), Int32(MemoryLayout<Int64>.size), strata_mpi_info_null(), world.communicator, &base, &window)
        if world.rank == 0, let base { base.storeBytes(of: 0, as: Int64.self) }
        world.barrier()
        MPI_Win_lock_all(0, window)
    }

    /// Runs `body` on each chunk `0 ..< chunks` this rank is handed, in the
    /// order handed. Every rank of the world calls it for every pass, with the same `chunks`.
    public func forEachChunk(_ chunks: Int, _ body: (Int) throws -> Void) rethrows {
        guard world != nil else {
            for chunk in 0 ..< chunks { try body(chunk) }
            return
        }
        while true {
            let ticket = takeTicket() - start
            guard ticket < Int64(chunks) else { break }
            try body(Int(ticket))
        }
        start += Int64(chunks + world!.size)
    }

    /// The counter's value before this rank's increment, atomically.
    private func takeTicket() -> Int64 {
        var one: Int64 = 1, ticket: Int64 = 0
        MPI_Fetch_and_op(&one, &ticket, strata_mpi_int64(), 0, 0, strata_mpi_sum(), window)
        MPI_Win_flush(0, window)
        return ticket
    }

    /// Frees the counter. Collective.
    public func free() {
        guard window != nil else { return }
        MPI_Win_unlock_all(window)
        MPI_Win_free(&window)
        window = nil
    }
}
