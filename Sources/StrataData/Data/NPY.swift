import Foundation
import StrataCore

/// NumPy's `.npy` format (versions 1.0, 2.0 and 3.0): the magic `\x93NUMPY`,
/// a version, a header length, a Python-literal header dict with `descr`,
/// `fortran_order` and `shape`, then the raw C-order data.
///
/// Strata reads float32, float64, uint8, int8, int16, int32 and int64 arrays
/// of either byte order (converting to Float32), and writes float32 arrays
/// (features, weights) and int64 arrays (labels), which `numpy.load` reads.
public enum NPY {
    /// An array read from an `.npy` file: its shape, its on-disk type, and its
    /// values as Float32.
    public struct Array: Sendable {
        public var tensor: Tensor
        /// The file's `descr`, for example `<f4`.
        public var descr: String
    }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // \x93NUMPY

    /// Reads an `.npy` file as a Float32 tensor of the file's shape.
    public static func read(_ path: String) throws -> Array {
        try parse(readWholeFile(path), path: path)
    }

    /// Reads an `.npy` file of integers (labels) as `[Int]`.
    public static func readIntegers(_ path: String) throws -> [Int] {
        let array = try read(path)
        guard !array.descr.contains("f") else {
            throw StrataError.badKey(path: path, key: "descr", reason: "expected an integer array, found '\(array.descr)'")
        }
        guard let bad = array.tensor.scalars.first(where: { !(abs($0) < 0x1p31) }) else {
            return array.tensor.scalars.map { Int($0) }
        }
        throw StrataError.badKey(path: path, key: "data", reason: "value \(bad) is not a label (labels are integers of magnitude below 2^31)")
    }

    /// Parses the bytes of an `.npy` file.
    public static func parse(_ data: Data, path: String) throws -> Array {
        let header = try Header(data, path: path)
        guard data.count >= header.fileBytes else {
            throw StrataError.truncated(path: path, expected: header.fileBytes, found: data.count, what: "\(header.shape) elements of '\(header.descr)'")
        }
        let tensor = Tensor(shape: header.shape) { out in
            data.withUnsafeBytes { raw in header.scalar.convert(raw.baseAddress! + header.dataStart, into: out) }
        }
        return Array(tensor: tensor, descr: header.descr)
    }

    /// What an `.npy` file's preamble and header say: the element type, the
    /// shape, where the data starts and how long the whole file must be
    /// (checked arithmetic: an absurd shape is refused, not allocated).
    struct Header {
        var descr: String
        var shape: [Int]
        var scalar: ScalarType
        var dataStart: Int
        var fileBytes: Int

        /// Parses the header from the file's first bytes (`data` may hold the
        /// whole file or only its beginning; `Header.prefixLimit` bytes always suffice).
        init(_ data: Data, path: String) throws {
            guard data.count >= 10 else { throw StrataError.truncated(path: path, expected: 10, found: data.count, what: "the NPY preamble") }
            let bytes = [UInt8](data.prefix(12))
            guard Swift.Array(bytes.prefix(6)) == NPY.magic else {
                throw StrataError.badMagic(path: path, expected: "93 4e 55 4d 50 59 (\\x93NUMPY)", found: hexPrefix(data, count: 6))
            }
            let major = bytes[6]
            let headerLength: Int
            let headerStart: Int
            switch major {
            case 1:
                headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
                headerStart = 10
            case 2, 3:
                guard data.count >= 12 else { throw StrataError.truncated(path: path, expected: 12, found: data.count, what: "the NPY preamble") }
                headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
                headerStart = 12
            default:
                throw StrataError.corrupt(path: path, offset: 6, reason: "unknown NPY format version \(major).\(bytes[7])")
            }
            guard headerLength <= Header.prefixLimit - headerStart else {
                throw StrataError.badKey(path: path, key: "header length", reason: "\(headerLength) bytes; an NPY header describing one array is at most a few hundred")
            }
            guard data.count >= headerStart + headerLength else {
                throw StrataError.truncated(path: path, expected: headerStart + headerLength, found: data.count, what: "the NPY header")
            }
            let start = data.startIndex + headerStart
            guard let header = String(data: data.subdata(in: start ..< start + headerLength), encoding: major == 3 ? .utf8 : .isoLatin1) else {
                throw StrataError.corrupt(path: path, offset: headerStart, reason: "the header is not text")
            }
            descr = try NPY.stringValue(of: "descr", in: header, path: path)
            let fortran = try NPY.literalValue(of: "fortran_order", in: header, path: path)
            guard fortran == "False" else {
                throw StrataError.badKey(path: path, key: "fortran_order", reason: "Fortran-order arrays are not supported; save with numpy.ascontiguousarray")
            }
            shape = try NPY.shapeValue(in: header, path: path)
            guard let type = ScalarType(descr: descr) else {
                throw StrataError.badKey(path: path, key: "descr", reason: "unsupported dtype '\(descr)' (supported: f4, f8, u1, i1, i2, i4, i8)")
            }
            scalar = type
            let count = try Limits.checkedElementCount(shape, path: path, key: "shape")
            dataStart = headerStart + headerLength
            guard let bytes = Limits.bytes(count, of: type.size), case let (needed, false) = dataStart.addingReportingOverflow(bytes) else {
                throw StrataError.badKey(path: path, key: "shape", reason: "\(shape) of '\(descr)' has no valid byte count")
            }
            fileBytes = needed
        }

        /// The most bytes of a file's beginning the header may occupy (1 MiB).
        static let prefixLimit = 1 << 20
    }

    /// Encodes a Float32 tensor as an `.npy` (`<f4`) file's bytes.
    public static func encode(_ tensor: Tensor) -> Data {
        var data = preamble(descr: "<f4", shape: tensor.shape)
        tensor.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        return data
    }

    /// Encodes integers (labels) as an `.npy` (`<i8`) file's bytes.
    public static func encode(integers values: [Int]) -> Data {
        var data = preamble(descr: "<i8", shape: [values.count])
        values.map { Int64($0).littleEndian }.withUnsafeBufferPointer { data.append($0) }
        return data
    }

    /// Writes a Float32 tensor to `path` atomically.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicFile.write(encode(tensor), to: path)
    }

    /// Writes integers (labels) to `path` atomically.
    public static func write(integers values: [Int], to path: String) throws {
        try AtomicFile.write(encode(integers: values), to: path)
    }

    static func preamble(descr: String, shape: [Int]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces and a newline so the data starts on a 64-byte boundary.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data(magic)
        data.append(contentsOf: [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Swift.Array(header.utf8))
        return data
    }

    // MARK: Header parsing

    private static func rawValue(of key: String, in header: String, path: String) throws -> Substring {
        guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\""),
              let colon = header[keyRange.upperBound...].firstIndex(of: ":") else {
            throw StrataError.badKey(path: path, key: key, reason: "missing from the NPY header \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return header[header.index(after: colon)...].drop { $0 == " " }
    }

    private static func stringValue(of key: String, in header: String, path: String) throws -> String {
        let rest = try rawValue(of: key, in: header, path: path)
        guard let quote = rest.first, quote == "'" || quote == "\"",
              let end = rest.dropFirst().firstIndex(of: quote) else {
            throw StrataError.badKey(path: path, key: key, reason: "expected a quoted string")
        }
        return String(rest[rest.index(after: rest.startIndex) ..< end])
    }

    private static func literalValue(of key: String, in header: String, path: String) throws -> String {
        let rest = try rawValue(of: key, in: header, path: path)
        return String(rest.prefix { $0.isLetter })
    }

    private static func shapeValue(in header: String, path: String) throws -> [Int] {
        let rest = try rawValue(of: "shape", in: header, path: path)
        guard rest.first == "(", let close = rest.firstIndex(of: ")") else {
            throw StrataError.badKey(path: path, key: "shape", reason: "expected a tuple such as (60000, 784)")
        }
        let inner = rest[rest.index(after: rest.startIndex) ..< close]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "")
            if text.isEmpty { continue }
            guard let extent = Int(text), extent >= 0 else {
                throw StrataError.badKey(path: path, key: "shape", reason: "'\(text)' is not a non-negative integer")
            }
            shape.append(extent)
        }
        return shape
    }

    // MARK: Scalar types

    struct ScalarType: Equatable {
        enum Kind { case float, signed, unsigned }
        let kind: Kind
        let size: Int
        let bigEndian: Bool

        init?(descr: String) {
            guard descr.count >= 2 else { return nil }
            let order = descr.first!
            let code = descr.dropFirst()
            switch order {
            case "<", "|", "=": bigEndian = false
            case ">": bigEndian = true
            default: return nil
            }
            switch code {
            case "f4": (kind, size) = (.float, 4)
            case "f8": (kind, size) = (.float, 8)
            case "u1": (kind, size) = (.unsigned, 1)
            case "b1": (kind, size) = (.unsigned, 1)
            case "i1": (kind, size) = (.signed, 1)
            case "i2": (kind, size) = (.signed, 2)
            case "i4": (kind, size) = (.signed, 4)
            case "i8": (kind, size) = (.signed, 8)
            default: return nil
            }
        }

        func convert(_ base: UnsafeRawPointer, into out: UnsafeMutableBufferPointer<Float>) {
            let n = out.count
            @inline(__always) func word<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
                let raw = base.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
                return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
            }
            switch (kind, size) {
            case (.float, 4): for i in 0 ..< n { out[i] = Float(bitPattern: word(i, UInt32.self)) }
            case (.float, 8): for i in 0 ..< n { out[i] = Float(Double(bitPattern: word(i, UInt64.self))) }
            case (.unsigned, 1): for i in 0 ..< n { out[i] = Float(word(i, UInt8.self)) }
            case (.signed, 1): for i in 0 ..< n { out[i] = Float(word(i, Int8.self)) }
            case (.signed, 2): for i in 0 ..< n { out[i] = Float(word(i, Int16.self)) }
            case (.signed, 4): for i in 0 ..< n { out[i] = Float(word(i, Int32.self)) }
            default: for i in 0 ..< n { out[i] = Float(word(i, Int64.self)) }
            }
        }
    }
}
