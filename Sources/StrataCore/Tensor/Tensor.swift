import Foundation

/// A dense Float32 tensor over one contiguous, row-major buffer.
///
/// A rank-2 tensor of shape `(rows, columns)` holds one example per row: the
/// layout every model, loader and preprocessor in Strata uses. Vectors are
/// rank 1. The value has copy-on-write semantics (its storage is a Swift
/// array), so passing it around never copies the scalars unless one copy is
/// mutated while another is alive.
public struct Tensor: Equatable, Sendable {
    /// The extent of each axis, outermost first.
    public private(set) var shape: [Int]
    /// The scalars in row-major order; `scalars.count == shape.product`.
    public var scalars: [Float]

    /// Wraps `scalars` as a tensor of `shape`.
    /// - Precondition: the product of `shape` equals `scalars.count`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) scalars, not \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` with every scalar equal to `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of `shape` filled with zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, repeating: 0)
    }

    /// A tensor of `shape` whose scalars are written by `initializer`, which
    /// must write every one of them (no zero-fill is paid first).
    public init(shape: [Int], unsafeUninitialized initializer: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let count = shape.reduce(1, *)
        let scalars = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try initializer(buffer)
            initialized = count
        }
        self.init(shape: shape, scalars: scalars)
    }

    /// A rank-2 tensor `(rows, columns)` from a flat row-major array.
    public init(rows: Int, columns: Int, scalars: [Float]) {
        self.init(shape: [rows, columns], scalars: scalars)
    }

    /// The number of axes.
    public var rank: Int { shape.count }
    /// The number of scalars.
    public var count: Int { scalars.count }
    /// The outermost extent: the number of examples for a rank-2 tensor.
    public var rows: Int { shape.first ?? 1 }
    /// The number of scalars per row (the product of all extents but the first).
    public var columns: Int { shape.count <= 1 ? (shape.first ?? 1) : shape.dropFirst().reduce(1, *) }

    /// The scalar at `(row, column)` of a tensor viewed as `rows x columns`.
    public subscript(row: Int, column: Int) -> Float {
        get { scalars[row * columns + column] }
        set { scalars[row * columns + column] = newValue }
    }

    /// The same scalars under a new shape with the same number of scalars.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Changes the shape in place; the number of scalars must not change.
    public mutating func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    /// Rows `range` as a new tensor (one copy of those rows).
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) out of 0..<\(rows)")
        var newShape = shape
        if newShape.isEmpty { newShape = [1] }
        newShape[0] = range.count
        let width = columns
        return Tensor(shape: newShape, scalars: Array(scalars[(range.lowerBound * width) ..< (range.upperBound * width)]))
    }

    /// The rows at `indices`, in that order, as a new tensor.
    public func gatherRows(_ indices: [Int]) -> Tensor {
        var out = Tensor(zeros: [0, 0])
        gatherRows(indices, into: &out)
        return out
    }

    /// Writes the rows at `indices`, in that order, into `out`, reusing its
    /// storage when it already has the shape (a training loop's minibatch).
    public func gatherRows<Indices: Collection<Int>>(_ indices: Indices, into out: inout Tensor) {
        if out.shape.first != indices.count || !out.shape.dropFirst().elementsEqual(shape.dropFirst()) {
            var newShape = shape
            newShape[0] = indices.count
            out = Tensor(zeros: newShape)
        }
        let width = columns
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (k, i) in indices.enumerated() {
                    precondition(i >= 0 && i < rows, "row index \(i) out of 0..<\(rows)")
                    (dst.baseAddress! + k * width).update(from: src.baseAddress! + i * width, count: width)
                }
            }
        }
    }

    /// Calls `body` with a read-only pointer to the scalars.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with a mutable pointer to the scalars.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", ..." : "")])"
    }
}
