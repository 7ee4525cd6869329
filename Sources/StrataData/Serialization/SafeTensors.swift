import Foundation
import StrataCore

/// Checkpoints in the safetensors format (Hugging Face): an 8-byte
/// little-endian header length N, N bytes of JSON mapping each tensor's name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional
/// `"__metadata__"` object of string values, then the raw little-endian data.
///
/// Strata writes float32 tensors and free-form string metadata (a model's
/// configuration as JSON text, for example); Python's
/// `safetensors.numpy.load_file` reads the result. Strata reads F32, F64, F16,
/// BF16 and integer tensors written by other tools, converting them to Float32.
public struct SafeTensors: Sendable {
    /// The tensors by name.
    public var tensors: [String: Tensor]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]
    /// Tensors whose values are made while the file is written, a piece at a
    /// time (a model split across processes, its parts' values received as
    /// they are written), so no process holds them whole. Written, not read:
    /// a file read back holds every tensor in ``tensors``.
    public var streamed: [String: StreamedTensor] = [:]

    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, or an error naming the file and the key.
    public func tensor(_ name: String, in path: String = "<checkpoint>") throws -> Tensor {
        guard let tensor = tensors[name] else {
            throw StrataError.badKey(path: path, key: name, reason: "no such tensor (present: \(tensors.keys.sorted().joined(separator: ", ")))")
        }
        return tensor
    }

    // MARK: Writing

    /// The file's bytes: tensors in name order, laid out contiguously.
    public func encoded() throws -> Data {
        let (header, names, size) = layout()
        var data = Data(capacity: size)
        data.append(header)
        for name in names {
            try values(of: name) { data.append($0) } // Float32 is little-endian here
        }
        return data
    }

    /// Passes the values of the tensor `name` (held or streamed) to `body`, a piece at a time;
    /// a streamed tensor that makes other than its shape's count is an error, so no file is written with it.
    private func values(of name: String, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        if let tensor = tensors[name] {
            try tensor.withUnsafeBufferPointer { try body($0) }
            return
        }
        let stream = streamed[name]!
        var made = 0
        try stream.produce { piece in
            made += piece.count
            if made <= stream.count { try body(piece) }
        }
        guard made == stream.count else {
            throw StrataError.invalidArgument(name: name, reason: "a streamed tensor of shape \(stream.shape) made \(made) values, not \(stream.count)")
        }
    }

    /// The length field and JSON header, the tensors' names in file order, and the file's size.
    private func layout() -> (header: Data, names: [String], size: Int) {
        let names = Set(tensors.keys).union(streamed.keys).sorted()
        var entries: [String] = []
        var offset = 0
        for name in names {
            let shape = tensors[name]?.shape ?? streamed[name]!.shape
            let bytes = shape.reduce(1, *) * 4
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.insert("\"__metadata__\":{\(pairs.joined(separator: ","))}", at: 0)
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
        var data = Data(capacity: 8 + header.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        return (data, names, data.count + offset)
    }

    /// Writes the checkpoint to `path` atomically (temporary file, then
    /// rename), each tensor straight from its buffer (a streamed one piece by
    /// piece): no copy of the whole file is made.
    public func write(to path: String) throws {
        let (header, names, _) = layout()
        try AtomicFile.write(to: path) { handle in
            try handle.write(contentsOf: header)
            for name in names {
                try values(of: name) { values in
                    guard let base = values.baseAddress, !values.isEmpty else { return }
                    try handle.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: values.count * 4, deallocator: .none))
                }
            }
        }
    }

    // MARK: Reading

    /// Reads and validates a safetensors file.
    public static func read(_ path: String) throws -> SafeTensors {
        try parse(readWholeFile(path), path: path)
    }

    /// Parses and validates the bytes of a safetensors file: the header length
    /// fits the file, the header is a JSON object, each dtype is known, each
    /// shape matches its byte count, and offsets lie inside the data without
    /// overlapping.
    public static func parse(_ data: Data, path: String) throws -> SafeTensors {
        guard data.count >= 8 else {
            throw StrataError.truncated(path: path, expected: 8, found: data.count, what: "the safetensors header length")
        }
        let headerLength = data.littleEndianUInt64(at: 0)
        guard headerLength <= maxHeaderLength else {
            throw StrataError.corrupt(path: path, offset: 0, reason: "the header length field says \(headerLength) bytes, more than the format's limit of \(maxHeaderLength) (is this a safetensors file?)")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw StrataError.truncated(path: path, expected: 8 + Int(headerLength), found: data.count,
                                        what: "the safetensors JSON header (its length field says \(headerLength) bytes)")
        }
        let headerEnd = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data.subdata(in: 8 ..< headerEnd))
        } catch {
            throw StrataError.corrupt(path: path, offset: 8, reason: "the header is not valid JSON (is this a safetensors file?)")
        }
        guard let header = json as? [String: Any] else {
            throw StrataError.corrupt(path: path, offset: 8, reason: "the header is not a JSON object")
        }
        let bufferSize = data.count - headerEnd
        var result = SafeTensors()
        var ranges: [(Range<Int>, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: Any] else {
                    throw StrataError.badKey(path: path, key: name, reason: "must be an object of strings")
                }
                for (key, text) in meta {
                    guard let text = text as? String else {
                        throw StrataError.badKey(path: path, key: "__metadata__.\(key)", reason: "metadata values must be strings")
                    }
                    result.metadata[key] = text
                }
                continue
            }
            guard let entry = value as? [String: Any] else {
                throw StrataError.badKey(path: path, key: name, reason: "must be an object with dtype, shape and data_offsets")
            }
            guard let dtypeName = entry["dtype"] as? String, let dtype = DType(rawValue: dtypeName) else {
                throw StrataError.badKey(path: path, key: "\(name).dtype", reason: "unknown dtype \(String(describing: entry["dtype"] ?? "missing")) (known: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let shapeValues = entry["shape"] as? [Any], let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
                throw StrataError.badKey(path: path, key: "\(name).shape", reason: "must be a list of non-negative integers")
            }
            guard let offsetValues = entry["data_offsets"] as? [Any], let offsets = integers(offsetValues), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw StrataError.badKey(path: path, key: "\(name).data_offsets", reason: "must be [begin, end] with 0 <= begin <= end")
            }
            guard offsets[1] <= bufferSize else {
                throw StrataError.truncated(path: path, expected: headerEnd + offsets[1], found: data.count,
                                            what: "tensor '\(name)' (data_offsets \(offsets))")
            }
            let count = try Limits.checkedElementCount(shape, path: path, key: "\(name).shape")
            guard let bytes = Limits.bytes(count, of: dtype.size), offsets[1] - offsets[0] == bytes else {
                throw StrataError.badKey(path: path, key: "\(name).data_offsets",
                                         reason: "\(offsets[1] - offsets[0]) bytes do not hold shape \(shape) of \(dtypeName)")
            }
            ranges.append((offsets[0] ..< offsets[1], name))
            let start = headerEnd + offsets[0]
            result.tensors[name] = Tensor(shape: shape) { out in
                data.withUnsafeBytes { raw in dtype.convert(raw.baseAddress! + start, into: out) }
            }
        }
        ranges.sort { $0.0.lowerBound < $1.0.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.0.upperBound > b.0.lowerBound {
            throw StrataError.corrupt(path: path, offset: headerEnd + b.0.lowerBound, reason: "tensors '\(a.1)' and '\(b.1)' overlap")
        }
        return result
    }

    /// The largest JSON header accepted, as in the reference implementation
    /// (100 MB): a bigger length field means a damaged or foreign file.
    public static let maxHeaderLength: UInt64 = 100_000_000

    private static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        for value in values {
            guard let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded(),
                  abs(number.doubleValue) < 0x1p53 else { return nil }
            out.append(number.intValue)
        }
        return out
    }

    /// The element types of the safetensors format that Strata reads.
    public enum DType: String, CaseIterable, Sendable {
        case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16"
        case i8 = "I8", u8 = "U8", i16 = "I16", u16 = "U16", i32 = "I32", u32 = "U32", i64 = "I64", u64 = "U64", bool = "BOOL"

        var size: Int {
            switch self {
            case .i8, .u8, .bool: return 1
            case .f16, .bf16, .i16, .u16: return 2
            case .f32, .i32, .u32: return 4
            case .f64, .i64, .u64: return 8
            }
        }

        func convert(_ base: UnsafeRawPointer, into out: UnsafeMutableBufferPointer<Float>) {
            @inline(__always) func word<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
                T(littleEndian: base.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
            for i in 0 ..< out.count {
                switch self {
                case .f32: out[i] = Float(bitPattern: word(i, UInt32.self))
                case .f64: out[i] = Float(Double(bitPattern: word(i, UInt64.self)))
                case .f16: out[i] = Float(Float16(bitPattern: word(i, UInt16.self)))
                case .bf16: out[i] = Float(bitPattern: UInt32(word(i, UInt16.self)) << 16)
                case .i8: out[i] = Float(word(i, Int8.self))
                case .u8, .bool: out[i] = Float(word(i, UInt8.self))
                case .i16: out[i] = Float(word(i, Int16.self))
                case .u16: out[i] = Float(word(i, UInt16.self))
                case .i32: out[i] = Float(word(i, Int32.self))
                case .u32: out[i] = Float(word(i, UInt32.self))
                case .i64: out[i] = Float(word(i, Int64.self))
                case .u64: out[i] = Float(word(i, UInt64.self))
                }
            }
        }
    }
}

/// A JSON string literal for `text`, with the escapes JSON requires.
package func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case let s where s.value < 0x20: out += String(format: "\\u%04x", s.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
