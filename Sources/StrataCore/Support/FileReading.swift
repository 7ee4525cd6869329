import Foundation

/// Reads a whole file into memory, turning the platform's errors into
/// ``StrataError`` values that name the file.
package func readWholeFile(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else {
        throw StrataError.fileNotFound(path: path)
    }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw StrataError.io(path: path, reason: "cannot read: \(error.localizedDescription)")
    }
}

extension Data {
    /// Big-endian 32-bit unsigned integer at `offset` (no bounds check).
    package func bigEndianUInt32(at offset: Int) -> UInt32 {
        withUnsafeBytes { raw in
            UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }
    }

    /// Little-endian 64-bit unsigned integer at `offset` (no bounds check).
    package func littleEndianUInt64(at offset: Int) -> UInt64 {
        withUnsafeBytes { raw in
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
    }
}
