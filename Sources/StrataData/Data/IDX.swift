import Foundation
import StrataCore

/// The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a 4-byte magic
/// number `00 00 TYPE RANK`, then RANK big-endian 32-bit extents, then the
/// elements, big-endian, row-major. Files may be gzip-compressed (`.gz`).
public enum IDX {
    /// The element types IDX defines, by their type byte.
    public enum ElementType: UInt8, CaseIterable, Sendable {
        case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .int32, .float32: return 4
            case .float64: return 8
            }
        }
    }

    /// Reads an IDX file (raw or gzip, told apart by content, not name) as a
    /// Float32 tensor of the file's shape, values unscaled.
    public static func read(_ path: String) throws -> (tensor: Tensor, elementType: ElementType) {
        var data = try readWholeFile(path)
        if Gzip.isGzip(data) { data = try Gzip.decompress(data, path: path) }
        return try parse(data, path: path)
    }

    /// Reads an IDX label file (rank 1, integer elements) as integers.
    public static func readLabels(_ path: String) throws -> [Int] {
        let (tensor, type) = try read(path)
        guard tensor.rank == 1 else {
            throw StrataError.corrupt(path: path, offset: 3, reason: "a label file has rank 1, this one has rank \(tensor.rank) (shape \(tensor.shape))")
        }
        guard type != .float32 && type != .float64 else {
            throw StrataError.corrupt(path: path, offset: 2, reason: "labels must be integers, found element type \(type)")
        }
        return tensor.scalars.map { Int($0) }
    }

    /// Parses the bytes of an uncompressed IDX file.
    public static func parse(_ data: Data, path: String) throws -> (tensor: Tensor, elementType: ElementType) {
        guard data.count >= 4 else {
            throw StrataError.truncated(path: path, expected: 4, found: data.count, what: "the IDX magic number")
        }
        let bytes = [UInt8](data.prefix(4))
        guard bytes[0] == 0, bytes[1] == 0, let type = ElementType(rawValue: bytes[2]), bytes[3] >= 1 else {
            throw StrataError.badMagic(path: path, expected: "00 00 <type 08|09|0b|0c|0d|0e> <rank 1..>", found: hexPrefix(data))
        }
        let rank = Int(bytes[3])
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else {
            throw StrataError.truncated(path: path, expected: headerSize, found: data.count, what: "the IDX header of rank \(rank)")
        }
        let shape = (0 ..< rank).map { Int(data.bigEndianUInt32(at: 4 + 4 * $0)) }
        let count = try Limits.checkedElementCount(shape, path: path, key: "shape")
        guard count <= (Int.max - headerSize) / type.size else {
            throw StrataError.corrupt(path: path, offset: 4, reason: "shape \(shape) is too large")
        }
        let needed = headerSize + count * type.size
        guard data.count >= needed else {
            throw StrataError.truncated(path: path, expected: needed, found: data.count,
                                        what: "\(shape.map(String.init).joined(separator: "x")) elements of type \(type)")
        }
        let tensor = Tensor(shape: shape) { out in
            data.withUnsafeBytes { raw in
                let base = raw.baseAddress! + headerSize
                convertBigEndian(base, type: type, into: out)
            }
        }
        return (tensor, type)
    }

    private static func convertBigEndian(_ base: UnsafeRawPointer, type: ElementType, into out: UnsafeMutableBufferPointer<Float>) {
        let n = out.count
        switch type {
        case .uint8:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for i in 0 ..< n { out[i] = Float(p[i]) }
        case .int8:
            let p = base.assumingMemoryBound(to: Int8.self)
            for i in 0 ..< n { out[i] = Float(p[i]) }
        case .int16:
            for i in 0 ..< n { out[i] = Float(Int16(bigEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .int32:
            for i in 0 ..< n { out[i] = Float(Int32(bigEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .float32:
            for i in 0 ..< n { out[i] = Float(bitPattern: UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .float64:
            for i in 0 ..< n { out[i] = Float(Double(bitPattern: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        }
    }

    /// Encodes `tensor` as an uncompressed IDX file of `elementType`
    /// (values are converted, so integer types truncate).
    public static func encode(_ tensor: Tensor, as elementType: ElementType) -> Data {
        var data = Data([0, 0, elementType.rawValue, UInt8(tensor.rank)])
        for extent in tensor.shape { withUnsafeBytes(of: UInt32(extent).bigEndian) { data.append(contentsOf: $0) } }
        data.reserveCapacity(data.count + tensor.count * elementType.size)
        for v in tensor.scalars {
            switch elementType {
            case .uint8: data.append(UInt8(clamping: Int(v)))
            case .int8: data.append(UInt8(bitPattern: Int8(clamping: Int(v))))
            case .int16: withUnsafeBytes(of: Int16(clamping: Int(v)).bigEndian) { data.append(contentsOf: $0) }
            case .int32: withUnsafeBytes(of: Int32(clamping: Int(v)).bigEndian) { data.append(contentsOf: $0) }
            case .float32: withUnsafeBytes(of: v.bitPattern.bigEndian) { data.append(contentsOf: $0) }
            case .float64: withUnsafeBytes(of: Double(v).bitPattern.bigEndian) { data.append(contentsOf: $0) }
            }
        }
        return data
    }
}
