import StrataCore

/// A Float32 tensor of a known shape whose values are made while a file is
/// written, a piece at a time, in row-major order: the whole of a model split
/// across processes, each part's values received and written in turn, so
/// that the process writing the checkpoint never holds it whole
/// (``SafeTensors/streamed``).
public struct StreamedTensor: Sendable {
    public var shape: [Int]
    /// Passes the tensor's values, in order, to its argument a piece at a time; called once, when the file is written.
    public var produce: @Sendable (_ write: (UnsafeBufferPointer<Float>) throws -> Void) throws -> Void

    public init(shape: [Int], produce: @escaping @Sendable (_ write: (UnsafeBufferPointer<Float>) throws -> Void) throws -> Void) {
        self.shape = shape
        self.produce = produce
    }

    /// The number of values the shape holds.
    public var count: Int { shape.reduce(1, *) }
}
