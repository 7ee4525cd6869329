import Foundation
import StrataCore

extension NPY {
    /// Writes a float32 `.npy` file of `rows x columns` whose rows arrive in
    /// batches, so that arrays larger than memory can be written. The file
    /// appears at `path` only when every row has been written (atomically).
    /// - Parameters:
    ///   - rows: the rows the file will hold.
    ///   - columns: values per row.
    ///   - path: the file to write.
    ///   - produce: called once with an `append` function; it must append
    ///     exactly `rows` rows in total.
    public static func writeStreaming(rows: Int, columns: Int, to path: String,
                                      _ produce: (_ append: (Tensor) throws -> Void) throws -> Void) throws {
        try AtomicFile.write(to: path) { handle in
            try handle.write(contentsOf: preamble(descr: "<f4", shape: [rows, columns]))
            var written = 0
            try produce { batch in
                guard batch.columns == columns else {
                    throw StrataError.shapeMismatch(context: "\(path): streamed batch", expected: [batch.rows, columns], found: batch.shape)
                }
                written += batch.rows
                guard written <= rows else {
                    throw StrataError.invalidArgument(name: "streamed rows", reason: "more than the \(rows) rows announced for \(path)")
                }
                try batch.withUnsafeBufferPointer { try handle.write(contentsOf: Data(buffer: $0)) }
            }
            guard written == rows else {
                throw StrataError.invalidArgument(name: "streamed rows", reason: "\(written) rows written to \(path), \(rows) announced")
            }
        }
    }
}
