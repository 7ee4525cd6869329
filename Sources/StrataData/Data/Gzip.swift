import CZlib
import Foundation
import StrataCore

/// gzip (and zlib) decompression through zlib, in memory.
public enum Gzip {
    /// True when `data` starts with the gzip signature 1f 8b.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// The decompressed bytes of a gzip file's contents (all members, if the
    /// file holds several). `path` only names the file in errors.
    /// - Throws: ``StrataError/corrupt(path:offset:reason:)`` for a damaged
    ///   stream, ``StrataError/truncated(path:expected:found:what:)`` for one
    ///   that ends early.
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - path: the file, named in errors.
    ///   - limit: the most bytes the output may have (by default what the
    ///     largest tensor allowed by ``Limits`` needs).
    public static func decompress(_ data: Data, path: String, limit: Int = maxOutputBytes) throws -> Data {
        guard isGzip(data) else {
            throw StrataError.badMagic(path: path, expected: "gzip signature 1f 8b", found: hexPrefix(data))
        }
        // The trailer's ISIZE (size mod 2^32) is a good first guess at the output size.
        // deflate expands at most about 1032:1, so a larger ISIZE is a lie, not a reason to allocate.
        var capacity = data.count * 4
        if data.count >= 18 {
            let isize = data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: data.count - 4, as: UInt32.self)) }
            if isize > 0 { capacity = min(Int(isize), data.count * 1032) }
        }
        var output = Data(count: max(1, min(max(capacity, 1024), limit)))
        var produced = 0
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw StrataError.io(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }

        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress!)
            stream.avail_in = uInt(input.count)
            while true {
                if produced == output.count {
                    guard produced < limit else {
                        throw StrataError.corrupt(path: path, offset: Int(stream.total_in), reason: "the gzip stream decompresses to more than \(limit) bytes, the most a tensor may hold (set STRATA_MAX_TENSOR_ELEMENTS to allow more)")
                    }
                    output.count = min(output.count * 2, limit)
                }
                let status: Int32 = output.withUnsafeMutableBytes { out in
                    stream.next_out = out.bindMemory(to: Bytef.self).baseAddress! + produced
                    stream.avail_out = uInt(out.count - produced)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    produced = out.count - Int(stream.avail_out)
                    return status
                }
                switch status {
                case Z_STREAM_END:
                    // Another gzip member may follow (concatenated files).
                    if stream.avail_in >= 2, input[input.count - Int(stream.avail_in)] == 0x1f {
                        inflateReset(&stream)
                        continue
                    }
                    return
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 {
                        throw StrataError.truncated(path: path, expected: data.count + 1, found: data.count,
                                                    what: "the gzip stream (it ends before its end marker)")
                    }
                    continue
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw StrataError.corrupt(path: path, offset: Int(stream.total_in), reason: "corrupt gzip data: \(message)")
                }
            }
        }
        output.count = produced
        return output
    }
}

extension Gzip {
    /// The most bytes a decompression may produce: a tensor of
    /// ``Limits/maxTensorElements`` 4-byte values (8 GiB) plus a header.
    public static var maxOutputBytes: Int {
        (Limits.bytes(Limits.maxTensorElements, of: 4) ?? Int.max / 2) + (1 << 20)
    }

    /// `data` compressed as a gzip file (one member, default compression level).
    public static func compress(_ data: Data) throws -> Data {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw StrataError.io(path: "<gzip>", reason: "zlib could not start")
        }
        defer { deflateEnd(&stream) }
        var output = Data(count: Int(deflateBound(&stream, uLong(data.count))) + 32)
        let status: Int32 = data.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw StrataError.io(path: "<gzip>", reason: "deflate failed (\(status))") }
        output.count = Int(stream.total_out)
        return output
    }
}

func hexPrefix(_ data: Data, count: Int = 4) -> String {
    data.prefix(count).map { String(format: "%02x", $0) }.joined(separator: " ")
}
