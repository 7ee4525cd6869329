import Foundation
import StrataCore

/// A 2-D `.npy` matrix read from disk by rows, never whole: the examples of a
/// training run larger than memory. Only the header is read when it is
/// opened; rows come in with `pread` into the caller's buffer (converted to
/// Float32 from the file's type, as ``NPY/read(_:)`` does).
///
/// The file must hold exactly the bytes its header announces (a shorter or
/// longer file is refused by name), so every row index below ``rows`` lies
/// inside the file.
public struct NPYRowFile: Sendable, Equatable {
    public let path: String
    /// The rows in use: all of the file's, or the first of them (``prefix(_:)``).
    public private(set) var rows: Int
    /// Values per row.
    public let columns: Int
    /// The file's element type, for example `<f4`.
    public let descr: String
    let dataStart: Int
    /// The rows the file holds (``rows`` may be fewer) and its exact size in bytes.
    let fileRows: Int, fileBytes: Int
    let scalar: NPY.ScalarType
    var elementBytes: Int { scalar.size }

    /// Opens `path` and checks its header: 2-D, C order, a supported type, at least one row and column, the file's size exactly right.
    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw StrataError.fileNotFound(path: path) }
        let reader = try RowReader(path: path)
        var prefix = [UInt8](repeating: 0, count: min(NPY.Header.prefixLimit, max(reader.fileSize, 0)))
        let got = try reader.read(into: &prefix, at: 0)
        let header = try NPY.Header(Data(prefix[..<got]), path: path)
        guard header.shape.count == 2, header.shape[0] > 0, header.shape[1] > 0 else {
            throw StrataError.shapeMismatch(context: "\(path): a training matrix is 2-D, one example per row", expected: [-1, -1], found: header.shape)
        }
        guard reader.fileSize == header.fileBytes else {
            if reader.fileSize < header.fileBytes {
                throw StrataError.truncated(path: path, expected: header.fileBytes, found: reader.fileSize, what: "\(header.shape) elements of '\(header.descr)'")
            }
            throw StrataError.corrupt(path: path, offset: header.fileBytes,
                                      reason: "\(reader.fileSize - header.fileBytes) bytes after the \(header.shape) elements the header announces")
        }
        self.path = path
        (rows, columns, descr) = (header.shape[0], header.shape[1], header.descr)
        (dataStart, fileRows, fileBytes, scalar) = (header.dataStart, header.shape[0], header.fileBytes, header.scalar)
    }

    private init(_ file: NPYRowFile, rows: Int) {
        self = file
        self.rows = rows
    }

    /// The same file with only its first `count` rows in use (the rest held out, say for validation).
    public func prefix(_ count: Int) -> NPYRowFile {
        precondition(count >= 0 && count <= rows, "prefix of \(count) rows out of \(rows)")
        return NPYRowFile(self, rows: count)
    }

    /// Reads rows `range` of the file (all may lie beyond ``rows``, up to the file's own count) into a tensor.
    public func read(rows range: Range<Int>) throws -> Tensor {
        let reader = try open()
        var out = Tensor(zeros: [range.count, columns])
        try out.withUnsafeMutableBufferPointer { try reader.read(rows: range, into: $0.baseAddress!) }
        return out
    }

    /// A reader of rows with its own open file (and scratch for types other than `<f4`).
    public func open() throws -> Reader { try Reader(file: self) }

    /// An open file reading rows of an ``NPYRowFile``. Not shared between threads.
    public final class Reader {
        let file: NPYRowFile
        private let handle: RowReader
        private var scratch: [UInt8] = []

        init(file: NPYRowFile) throws {
            self.file = file
            handle = try RowReader(path: file.path)
            guard handle.fileSize == file.fileBytes else {
                throw StrataError.corrupt(path: file.path, offset: nil, reason: "the file changed since it was opened (\(handle.fileSize) bytes, not \(file.fileBytes))")
            }
        }

        /// Writes rows `range` (consecutive, in the file's order) into `out`, `range.count · columns` values.
        public func read(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) throws {
            guard !range.isEmpty else { return }
            precondition(range.lowerBound >= 0 && range.upperBound <= file.fileRows, "rows \(range) of \(file.fileRows)")
            let count = range.count * file.columns
            let offset = file.dataStart + range.lowerBound * file.columns * file.elementBytes
            if file.descr == "<f4" || file.descr == "=f4" {
                let raw = UnsafeMutableRawBufferPointer(start: out, count: count * 4)
                try handle.read(into: raw, at: offset)
            } else {
                if scratch.count < count * file.elementBytes { scratch = [UInt8](repeating: 0, count: count * file.elementBytes) }
                try scratch.withUnsafeMutableBytes { raw in
                    try handle.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0 ..< count * file.elementBytes]), at: offset)
                    file.scalar.convert(UnsafeRawPointer(raw.baseAddress!), into: UnsafeMutableBufferPointer(start: out, count: count))
                }
            }
        }
    }
}

/// A file descriptor read at offsets with `pread`, closed when released.
final class RowReader {
    let path: String
    let descriptor: Int32
    let fileSize: Int

    init(path: String) throws {
        self.path = path
        descriptor = Foundation.open(path, O_RDONLY)
        guard descriptor >= 0 else { throw StrataError.io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw StrataError.io(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        fileSize = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Fills `buffer` from `offset` on, or throws: a short read means the file was cut since it was opened.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StrataError.io(path: path, reason: "cannot read at byte \(offset + done): \(String(cString: strerror(errno)))")
            }
            guard n > 0 else { throw StrataError.truncated(path: path, expected: offset + buffer.count, found: offset + done, what: "rows read from disk") }
            done += n
        }
    }

    /// Reads up to `bytes.count` bytes from `offset`; returns how many there were.
    func read(into bytes: inout [UInt8], at offset: Int) throws -> Int {
        let wanted = min(bytes.count, max(fileSize - offset, 0))
        try bytes.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0 ..< wanted]), at: offset) }
        return wanted
    }
}
