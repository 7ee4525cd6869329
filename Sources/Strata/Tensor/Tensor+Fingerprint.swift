extension Tensor {
    /// A short identity of the values: the shape and a 64-bit FNV-1a hash of
    /// the bytes, to tell whether a resumed run sees the same data.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        withUnsafeBufferPointer { values in
            for value in values {
                hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01B3
            }
        }
        return shape.map(String.init).joined(separator: "x") + ":" + String(hash, radix: 16)
    }

    /// The same identity for integer labels.
    public static func fingerprint(labels: [Int]) -> String {
        "labels:" + Tensor(shape: [labels.count], scalars: labels.map(Float.init)).fingerprint
    }
}
