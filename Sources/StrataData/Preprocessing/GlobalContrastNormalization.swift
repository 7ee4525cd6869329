import StrataCore

/// Global contrast normalization (pylearn2's `GlobalContrastNormalization`;
/// Coates, Lee and Ng 2011), per example x of n values:
///
/// ```
/// x = x - mean(x)                                   (if subtractMean)
/// d = sqrt(sqrtBias + var(x, ddof: 1)) / scale      (if useStd)
/// d = sqrt(sqrtBias + sum(x^2)) / scale             (otherwise)
/// x = x / (d < minDivisor ? 1 : d)
/// ```
///
/// Stateless: each example is normalized by its own statistics. The quick
/// start uses `sqrtBias: 10, useStd: true`.
public struct GlobalContrastNormalization: Preprocessor, Equatable {
    public static let kind = "gcn"
    public var scale: Float = 1
    public var subtractMean = true
    public var useStd = false
    public var sqrtBias: Float = 0
    public var minDivisor: Float = 1e-8

    public init(scale: Float = 1, subtractMean: Bool = true, useStd: Bool = false, sqrtBias: Float = 0, minDivisor: Float = 1e-8) {
        (self.scale, self.subtractMean, self.useStd, self.sqrtBias, self.minDivisor) = (scale, subtractMean, useStd, sqrtBias, minDivisor)
    }

    public var isFitted: Bool { true }
    public mutating func fit(_ data: Tensor) throws {}

    public func transform(_ data: inout Tensor) throws {
        let n = data.columns
        guard !useStd || n >= 2 else {
            throw StrataError.invalidArgument(name: "gcn", reason: "use_std needs at least 2 values per example (variance with ddof 1)")
        }
        let rows = data.rows
        data.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            parallelChunks(rows, minimumChunk: 1024) { chunk in
                for i in chunk {
                    let x = base + i * n
                    var sum: Float = 0
                    for j in 0 ..< n { sum += x[j] }
                    let mean = sum / Float(n)
                    var squares: Float = 0
                    if useStd {
                        for j in 0 ..< n { let d = x[j] - mean; squares += d * d }
                    } else if subtractMean {
                        for j in 0 ..< n { let d = x[j] - mean; squares += d * d }
                    } else {
                        for j in 0 ..< n { squares += x[j] * x[j] }
                    }
                    let spread = useStd ? squares / Float(n - 1) : squares
                    var divisor = (sqrtBias + spread).squareRoot() / scale
                    if divisor < minDivisor { divisor = 1 }
                    let inverse = 1 / divisor
                    let shift = subtractMean ? mean : 0
                    for j in 0 ..< n { x[j] = (x[j] - shift) * inverse }
                }
            }
        }
    }

    public var settings: [String: Double] {
        ["scale": Double(scale), "subtract_mean": subtractMean ? 1 : 0, "use_std": useStd ? 1 : 0,
         "sqrt_bias": Double(sqrtBias), "min_divisor": Double(minDivisor)]
    }
    public var state: [String: Tensor] { [:] }

    public init(settings: [String: Double], state: [String: Tensor]) throws {
        let k = Self.kind
        self.init(scale: Float(try setting(settings, "scale", kind: k)), subtractMean: try setting(settings, "subtract_mean", kind: k) != 0,
                  useStd: try setting(settings, "use_std", kind: k) != 0, sqrtBias: Float(try setting(settings, "sqrt_bias", kind: k)),
                  minDivisor: Float(try setting(settings, "min_divisor", kind: k)))
    }
}

/// Subtracts each example's own mean from its values (per-patch mean removal).
public struct RemoveExampleMean: Preprocessor, Equatable {
    public static let kind = "remove_mean"
    public init() {}
    public var isFitted: Bool { true }
    public mutating func fit(_ data: Tensor) throws {}
    public func transform(_ data: inout Tensor) throws {
        let means = data.sumOverColumns() * (1 / Float(max(data.columns, 1)))
        data.addToEachColumn(means, alpha: -1)
    }
    public var settings: [String: Double] { [:] }
    public var state: [String: Tensor] { [:] }
    public init(settings: [String: Double], state: [String: Tensor]) throws {}
}
