import CMPI
import Foundation
import StrataCore
import StrataData
import StrataModels

/// Floats on one rank (the owner) that every rank reads and writes without
/// the owner's help: MPI's one-sided communication with passive-target locks
/// (`MPI_Win_allocate`, `MPI_Win_lock`, `MPI_Get`, `MPI_Put`). Downpour SGD's
/// parameter server lives in one (``Downpour``). Creating and freeing a
/// window are collective: every rank of the world calls them.
public final class MPIWindow: @unchecked Sendable {
    public let world: MPIWorld
    /// The rank whose memory the window is.
    public let owner: Int
    /// Floats in the window.
    public let count: Int
    private var window: MPI_Win?

    /// Allocates `count` floats on `owner` (nothing elsewhere), zeroed. Collective.
    public init(world: MPIWorld, count: Int, owner: Int = 0) {
        precondition(count <= Int(Int32.max), "a window of more than 2^31 floats")
        (self.world, self.count, self.owner) = (world, count, owner)
        var base: UnsafeMutableRawPointer?
        let bytes = world.rank == owner ? count * MemoryLayout<Float>.size : 0
        MPI_Win_allocate(MPI_Aint(bytes), Int32(MemoryLayout<Float>.size), strata_mpi_info_null(), world.communicator, &base, &window)
        if world.rank == owner, let base { base.initializeMemory(as: Float.self, repeating: 0, count: count) }
        world.barrier()
    }

    /// Runs `body` holding the owner's memory alone (`exclusive`) or beside
    /// other readers; the operations `body` makes are complete when it returns.
    public func locked(exclusive: Bool, _ body: () -> Void) {
        MPI_Win_lock(exclusive ? strata_mpi_lock_exclusive() : strata_mpi_lock_shared(), Int32(owner), 0, window)
        body()
        MPI_Win_unlock(Int32(owner), window)
    }

    /// Reads floats `offset ..< offset + buffer.count` into `buffer` (inside ``locked(exclusive:_:)``).
    public func get(_ buffer: UnsafeMutableBufferPointer<Float>, at offset: Int) {
        guard buffer.count > 0 else { return }
        MPI_Get(buffer.baseAddress, Int32(buffer.count), strata_mpi_float(), Int32(owner), MPI_Aint(offset), Int32(buffer.count), strata_mpi_float(), window)
    }

    /// Writes `buffer` to floats `offset ..< offset + buffer.count` (inside ``locked(exclusive:_:)``).
    public func put(_ buffer: UnsafeBufferPointer<Float>, at offset: Int) {
        guard buffer.count > 0 else { return }
        MPI_Put(buffer.baseAddress, Int32(buffer.count), strata_mpi_float(), Int32(owner), MPI_Aint(offset), Int32(buffer.count), strata_mpi_float(), window)
    }

    /// Completes the operations issued so far inside the lock (before reading what a get brought).
    public func flush() {
        MPI_Win_flush(Int32(owner), window)
    }

    /// Frees the window. Collective.
    public func free() {
        guard window != nil else { return }
        MPI_Win_free(&window)
        window = nil
    }
}
