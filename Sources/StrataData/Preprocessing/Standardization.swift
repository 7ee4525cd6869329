import StrataCore

/// Per-feature standardization (pylearn2's `Standardize`):
/// `(x - mean) / (stdEps + std)`, with the mean and standard deviation
/// (ddof 0) of each column of the training data.
public struct Standardization: Preprocessor {
    public static let kind = "standardize"
    public var stdEps: Float
    public private(set) var mean: Tensor?
    public private(set) var std: Tensor?

    public init(stdEps: Float = 1e-4) { self.stdEps = stdEps }

    public var isFitted: Bool { mean != nil }

    public mutating func fit(_ data: Tensor) throws {
        guard data.rows >= 1 else { throw StrataError.invalidArgument(name: "standardize", reason: "fitting needs at least 1 example") }
        let m = data.meanOverRows()
        var centered = data
        centered.addToEachRow(m, alpha: -1)
        centered.apply { $0 * $0 }
        var s = centered.meanOverRows()
        s.apply { $0.squareRoot() }
        (mean, std) = (m, s)
    }

    public func transform(_ data: inout Tensor) throws {
        guard let mean, let std else { return try requireFitted(features: 0, data: data) }
        try requireFitted(features: mean.count, data: data)
        data.addToEachRow(mean, alpha: -1)
        var inverse = std
        let eps = stdEps
        inverse.apply { 1 / (eps + $0) }
        data.multiplyEachRow(by: inverse)
    }

    public var settings: [String: Double] { ["std_eps": Double(stdEps)] }
    public var state: [String: Tensor] {
        guard let mean, let std else { return [:] }
        return ["mean": mean, "std": std]
    }

    public init(settings: [String: Double], state: [String: Tensor]) throws {
        stdEps = Float(try setting(settings, "std_eps", kind: Self.kind))
        let mean = try stateTensor(state, "mean", kind: Self.kind)
        self.mean = mean
        std = try stateTensor(state, "std", kind: Self.kind, shape: mean.shape)
    }
}

/// Principal component analysis to `components` dimensions:
/// `(x - mean) V_k`, optionally divided by `sqrt(l_k)` (whitened PCA), where
/// `V_k` holds the covariance's top `components` eigenvectors.
public struct PCA: Preprocessor {
    public static let kind = "pca"
    public var components: Int
    public var whiten: Bool
    public private(set) var mean: Tensor?
    /// `(features, components)`: the projection, largest variance first.
    public private(set) var projection: Tensor?
    /// The variance along each kept component.
    public private(set) var explainedVariance: Tensor?

    public init(components: Int, whiten: Bool = false) {
        self.components = components
        self.whiten = whiten
    }

    public var isFitted: Bool { projection != nil }

    public mutating func fit(_ data: Tensor) throws {
        let d = data.columns
        guard components >= 1, components <= d else {
            throw StrataError.invalidArgument(name: "pca components", reason: "\(components) must be between 1 and the \(d) features")
        }
        guard data.rows >= 2 else { throw StrataError.invalidArgument(name: "pca", reason: "fitting needs at least 2 examples") }
        let (m, covariance) = meanAndCovariance(data)
        let (values, vectors) = try symmetricEigen(covariance, n: d)
        var p = Tensor(zeros: [d, components])
        var variance = Tensor(zeros: [components])
        for c in 0 ..< components {
            let k = d - 1 - c // eigenvalues ascend
            variance.scalars[c] = Float(max(values[k], 0))
            let divisor = whiten ? max(values[k], 1e-12).squareRoot() : 1
            for i in 0 ..< d { p[i, c] = Float(vectors[i * d + k] / divisor) }
        }
        (mean, projection, explainedVariance) = (m, p, variance)
    }

    public func transform(_ data: inout Tensor) throws {
        guard let mean, let projection else { return try requireFitted(features: 0, data: data) }
        try requireFitted(features: mean.count, data: data)
        var centered = data
        centered.addToEachRow(mean, alpha: -1)
        data = centered.matmul(projection)
    }

    public var settings: [String: Double] { ["components": Double(components), "whiten": whiten ? 1 : 0] }
    public var state: [String: Tensor] {
        guard let mean, let projection, let explainedVariance else { return [:] }
        return ["mean": mean, "projection": projection, "explained_variance": explainedVariance]
    }

    public init(settings: [String: Double], state: [String: Tensor]) throws {
        let mean = try stateTensor(state, "mean", kind: Self.kind)
        let features = mean.count
        components = try countSetting(settings, "components", kind: Self.kind, in: 1 ... max(1, features))
        whiten = try setting(settings, "whiten", kind: Self.kind) != 0
        self.mean = mean.reshaped([features])
        projection = try stateTensor(state, "projection", kind: Self.kind, shape: [features, components])
        explainedVariance = try stateTensor(state, "explained_variance", kind: Self.kind, shape: [components])
    }
}
