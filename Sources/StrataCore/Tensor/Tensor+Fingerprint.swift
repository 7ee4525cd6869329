extension Tensor {
    /// A short identity of the values: the shape and a 64-bit FNV-1a hash of
    /// the bytes, to tell whether a resumed run sees the same data.
    public var fingerprint: String {
        var hasher = FingerprintHasher()
        withUnsafeBufferPointer { hasher.add($0) }
        return hasher.fingerprint(shape: shape)
    }

    /// The same identity for integer labels.
    public static func fingerprint(labels: [Int]) -> String {
        "labels:" + Tensor(shape: [labels.count], scalars: labels.map(Float.init)).fingerprint
    }
}

/// ``Tensor/fingerprint`` computed piece by piece: the values added in order,
/// in any number of parts, give the same identity as the whole tensor (so a
/// matrix read from disk in blocks has the fingerprint it has in memory).
public struct FingerprintHasher: Sendable {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// Adds the next values.
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        var h = hash
        for value in values { h = (h ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01B3 }
        hash = h
    }

    /// Adds the bytes of `text` (UTF-8).
    public mutating func add(text: String) {
        var h = hash
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        hash = h
    }

    /// The 64-bit hash of everything added.
    public var value: UInt64 { hash }

    /// The identity of everything added, for a tensor of `shape`.
    public func fingerprint(shape: [Int]) -> String {
        shape.map(String.init).joined(separator: "x") + ":" + String(hash, radix: 16)
    }
}
