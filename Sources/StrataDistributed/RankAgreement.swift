import CMPI
import Foundation
import StrataCore

/// What the ranks of one job must hold alike before any collective that
/// depends on it: the data's sizes, a fingerprint of its values and labels,
/// the settings. ``MPIWorld/requireAgreement(_:what:)`` compares them in one
/// collective, so a rank with other data stops the job with a message
/// instead of corrupting a gather or waiting for ever in one.
public struct RankAgreement: Sendable {
    /// One thing compared: a size shown as a number, or text (a fingerprint,
    /// settings) compared by its 64-bit FNV-1a hash and shown as on this rank.
    public struct Item: Sendable {
        public var name: String
        public var value: Int64
        public var shown: String
        public var isSize: Bool
    }

    public private(set) var items: [Item] = []

    public init() {}

    /// A size (`rows`, `columns`, a count of labels).
    public mutating func size(_ name: String, _ value: Int) {
        items.append(Item(name: name, value: Int64(value), shown: String(value), isSize: true))
    }

    /// Text that must be the same on every rank (a fingerprint, encoded settings).
    public mutating func text(_ name: String, _ value: String) {
        var hasher = FingerprintHasher()
        hasher.add(text: value)
        items.append(Item(name: name, value: Int64(bitPattern: hasher.value), shown: value.count > 80 ? String(value.prefix(77)) + "..." : value, isSize: false))
    }

    /// The fingerprint of up to `count` rows of `x` spread evenly over it:
    /// data too large to hash whole before every solve (an SVM's features).
    public mutating func sampledRows(_ name: String, _ x: Tensor, count: Int = 256) {
        var hasher = FingerprintHasher()
        let (step, width) = (max(1, x.rows / max(1, count)), x.columns)
        x.withUnsafeBufferPointer { p in
            for i in stride(from: 0, to: x.rows, by: step) { hasher.add(UnsafeBufferPointer(rebasing: p[i * width ..< (i + 1) * width])) }
        }
        text(name, hasher.fingerprint(shape: x.shape))
    }

    /// The first difference in `table` (rank by rank, items in order), in words, or nil.
    func difference(_ table: [[Int64]], rank: Int) -> String? {
        for (r, row) in table.enumerated() where r != 0 {
            for (i, item) in items.enumerated() where row[i] != table[0][i] {
                let here = rank == 0 || rank == r ? " (\(item.shown) on rank \(rank))" : ""
                if item.isSize { return "rank \(r)'s \(item.name): \(row[i]), rank 0's: \(table[0][i])" }
                return "rank \(r)'s \(item.name) differs from rank 0's\(here)"
            }
        }
        return nil
    }
}

extension MPIWorld {
    /// Every rank's `values` (the same count on each), in rank order, on every rank (`MPI_Allgather`).
    public func allGather(_ values: [Int64]) -> [[Int64]] {
        guard size > 1 else { return [values] }
        var all = [Int64](repeating: 0, count: values.count * size)
        var mine = values
        mine.withUnsafeMutableBufferPointer { send in
            all.withUnsafeMutableBufferPointer { receive in
                _ = MPI_Allgather(send.baseAddress, Int32(send.count), strata_mpi_int64(), receive.baseAddress, Int32(send.count), strata_mpi_int64(), communicator)
            }
        }
        return (0 ..< size).map { Array(all[$0 * values.count ..< ($0 + 1) * values.count]) }
    }

    /// Compares `agreement` over the ranks in one collective (first its item
    /// count, then its items) and throws, on every rank alike, naming the
    /// first rank that differs from rank 0 and what differs.
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` named `ranks`.
    public func requireAgreement(_ agreement: RankAgreement, what: String) throws {
        guard size > 1 else { return }
        let counts = allGather([Int64(agreement.items.count)])
        if let r = counts.indices.first(where: { counts[$0] != counts[0] }) {
            throw StrataError.invalidArgument(name: "ranks", reason: "rank \(r) compares \(counts[r][0]) things for \(what), rank 0 \(counts[0][0]): the ranks are not running the same command")
        }
        let table = allGather(agreement.items.map(\.value))
        if let difference = agreement.difference(table, rank: rank) {
            throw StrataError.invalidArgument(name: "ranks", reason: "\(difference) for \(what): every rank must read the same data with the same settings")
        }
    }
}
