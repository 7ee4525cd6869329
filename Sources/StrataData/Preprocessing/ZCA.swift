import StrataCore

/// ZCA whitening (pylearn2's `ZCA`; Bell and Sejnowski 1997):
///
/// ```
/// mean = column means of X
/// C    = (X - mean)^T (X - mean) / N + filterBias * I
/// C    = V diag(l) V^T                      (LAPACK dsyevd)
/// P    = V diag(1 / sqrt(l)) V^T            transform: (X - mean) P
/// P^-1 = V diag(sqrt(l)) V^T                inverse:   Y P^-1 + mean
/// ```
///
/// The covariance is one GEMM per chunk of rows; the eigensolver runs in
/// Double so results do not vary with the platform's rounding. The quick start
/// uses pylearn2's default `filterBias: 0.1`.
public struct ZCA: Preprocessor {
    public static let kind = "zca"
    /// Added to the covariance's diagonal: regularizes small eigenvalues.
    public var filterBias: Float
    /// `(features)`, once fitted.
    public private(set) var mean: Tensor?
    /// The whitening matrix `P`, `(features, features)`.
    public private(set) var whitening: Tensor?
    /// Its inverse, for showing whitened filters in input space.
    public private(set) var inverse: Tensor?

    public init(filterBias: Float = 0.1) {
        self.filterBias = filterBias
    }

    public var isFitted: Bool { whitening != nil }

    public mutating func fit(_ data: Tensor) throws {
        guard data.rows >= 2 else { throw StrataError.invalidArgument(name: "zca", reason: "fitting needs at least 2 examples, got \(data.rows)") }
        guard filterBias >= 0 else { throw StrataError.invalidArgument(name: "zca filter_bias", reason: "\(filterBias) must not be negative") }
        let d = data.columns
        var (mean, covariance) = meanAndCovariance(data)
        for i in 0 ..< d { covariance[i * d + i] += Double(filterBias) }
        let (values, vectors) = try symmetricEigen(covariance, n: d)
        guard let smallest = values.first, smallest > 0 else {
            throw StrataError.numerical(routine: "zca", reason: "the covariance is singular (smallest eigenvalue \(values.first ?? 0)); use a positive filter_bias")
        }
        self.mean = mean
        whitening = spectralMatrix(values: values, vectors: vectors, n: d) { 1 / $0.squareRoot() }
        inverse = spectralMatrix(values: values, vectors: vectors, n: d) { $0.squareRoot() }
    }

    public func transform(_ data: inout Tensor) throws {
        guard let mean, let whitening else { return try requireFitted(features: 0, data: data) }
        try requireFitted(features: mean.count, data: data)
        var centered = data
        centered.addToEachRow(mean, alpha: -1)
        data.formProduct(centered, whitening)
    }

    /// Undoes the whitening: `data P^-1 + mean`.
    public func inverseTransform(_ data: inout Tensor) throws {
        guard let mean, let inverse else { return try requireFitted(features: 0, data: data) }
        try requireFitted(features: mean.count, data: data)
        let whitened = data
        data.formProduct(whitened, inverse)
        data.addToEachRow(mean)
    }

    public var settings: [String: Double] { ["filter_bias": Double(filterBias)] }
    public var state: [String: Tensor] {
        guard let mean, let whitening, let inverse else { return [:] }
        return ["mean": mean, "P": whitening, "P_inv": inverse]
    }

    public init(settings: [String: Double], state: [String: Tensor]) throws {
        filterBias = Float(try setting(settings, "filter_bias", kind: Self.kind))
        mean = try stateTensor(state, "mean", kind: Self.kind)
        whitening = try stateTensor(state, "P", kind: Self.kind)
        inverse = try stateTensor(state, "P_inv", kind: Self.kind)
        let d = mean!.count
        for (name, t) in [("P", whitening!), ("P_inv", inverse!)] where t.shape != [d, d] {
            throw StrataError.shapeMismatch(context: "zca.\(name)", expected: [d, d], found: t.shape)
        }
    }
}
