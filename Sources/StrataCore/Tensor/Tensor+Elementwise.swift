// MARK: - Element-wise kernels
//
// Each kernel is one tight loop over the contiguous buffer with no allocation,
// which the compiler vectorizes. The mutating forms are for hot paths; the
// non-mutating forms return a new tensor.

extension Tensor {
    /// Applies `transform` to every scalar in place. `transform` should be a
    /// simple inlinable expression so that the loop vectorizes.
    @inlinable
    public mutating func apply(_ transform: (Float) -> Float) {
        scalars.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = transform(buffer[i]) }
        }
    }

    /// `self[i] = combine(self[i], other[i])` for tensors of equal size.
    @inlinable
    public mutating func combine(with other: Tensor, _ combine: (Float, Float) -> Float) {
        precondition(other.count == count, "element-wise operation on \(shape) and \(other.shape)")
        other.scalars.withUnsafeBufferPointer { src in
            scalars.withUnsafeMutableBufferPointer { dst in
                for i in dst.indices { dst[i] = combine(dst[i], src[i]) }
            }
        }
    }

    /// The logistic sigmoid `1 / (1 + e^-x)` of every scalar, in place.
    public mutating func formSigmoid() { withUnsafeMutableBufferPointer { $0.map(.sigmoid) } }
    /// `log(1 + e^x)` of every scalar, in place.
    public mutating func formSoftplus() { withUnsafeMutableBufferPointer { $0.map(.softplus) } }
    /// The hyperbolic tangent of every scalar, in place.
    public mutating func formTanh() { withUnsafeMutableBufferPointer { $0.map(.tanh) } }
    /// `max(x, 0)` of every scalar, in place.
    public mutating func formRelu() { apply { Swift.max($0, 0) } }
    /// `e^x` of every scalar, in place.
    public mutating func formExp() { withUnsafeMutableBufferPointer { $0.map(.exp) } }
    /// The natural logarithm of every scalar, in place (see `fastLog` for
    /// zero and negative input).
    public mutating func formLog() { withUnsafeMutableBufferPointer { $0.map(.log) } }
    /// Clamps every scalar to `range`, in place.
    public mutating func clamp(to range: ClosedRange<Float>) {
        let (low, high) = (range.lowerBound, range.upperBound)
        apply { Swift.min(Swift.max($0, low), high) }
    }
    /// Multiplies every scalar by `factor`, in place.
    public mutating func scale(by factor: Float) { apply { $0 * factor } }
    /// Adds `value` to every scalar, in place.
    public mutating func shift(by value: Float) { apply { $0 + value } }

    /// `self += alpha * other` (BLAS's axpy), for tensors of equal size.
    public mutating func add(_ other: Tensor, scaledBy alpha: Float = 1) {
        combine(with: other) { $0 + alpha * $1 }
    }
    /// `self -= other`, element-wise.
    public mutating func subtract(_ other: Tensor) { combine(with: other) { $0 - $1 } }
    /// `self *= other`, element-wise (the Hadamard product: a dropout mask
    /// on a batch's gradients); large tensors are split over the cores.
    public mutating func multiply(by other: Tensor) {
        precondition(other.count == count, "element-wise operation on \(shape) and \(other.shape)")
        other.scalars.withUnsafeBufferPointer { pb in
            scalars.withUnsafeMutableBufferPointer { out in
                guard !out.isEmpty else { return }
                let (o, b) = (out.baseAddress!, pb.baseAddress!)
                parallelElements(out.count) { r in for i in r { o[i] = o[i] * b[i] } }
            }
        }
    }

    /// `self = a * b` element by element, into this tensor's storage (given
    /// `a`'s shape, reallocated only when that changes): a dropout mask
    /// applied into a buffer the training step keeps. Large tensors are split over the cores.
    public mutating func formElementwiseProduct(_ a: Tensor, _ b: Tensor) {
        precondition(a.count == b.count, "element-wise operation on \(a.shape) and \(b.shape)")
        if shape != a.shape { self = Tensor(zeros: a.shape) }
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                scalars.withUnsafeMutableBufferPointer { out in
                    guard !out.isEmpty else { return }
                    let (o, x, y) = (out.baseAddress!, pa.baseAddress!, pb.baseAddress!)
                    parallelElements(out.count) { r in for i in r { o[i] = x[i] * y[i] } }
                }
            }
        }
    }

    /// The sigmoid of every scalar, as a new tensor.
    public func sigmoid() -> Tensor { var t = self; t.formSigmoid(); return t }
    /// The softplus of every scalar, as a new tensor.
    public func softplus() -> Tensor { var t = self; t.formSoftplus(); return t }
    /// The hyperbolic tangent of every scalar, as a new tensor.
    public func tanh() -> Tensor { var t = self; t.formTanh(); return t }
    /// `max(x, 0)` of every scalar, as a new tensor.
    public func relu() -> Tensor { var t = self; t.formRelu(); return t }
    /// `e^x` of every scalar, as a new tensor.
    public func exp() -> Tensor { var t = self; t.formExp(); return t }
    /// The natural logarithm of every scalar, as a new tensor.
    public func log() -> Tensor { var t = self; t.formLog(); return t }
    /// Every scalar clamped to `range`, as a new tensor.
    public func clamped(to range: ClosedRange<Float>) -> Tensor { var t = self; t.clamp(to: range); return t }

    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { var t = lhs; t.add(rhs); return t }
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { var t = lhs; t.subtract(rhs); return t }
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { var t = lhs; t.multiply(by: rhs); return t }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { var t = lhs; t.scale(by: rhs); return t }
}
