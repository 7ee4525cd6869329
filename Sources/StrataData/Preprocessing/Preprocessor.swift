import StrataCore

/// A data transformation fitted on training data and applied to any data,
/// one example per row (pylearn2's `Preprocessor`).
///
/// Hyperparameters are ``settings`` (numbers; booleans as 0 or 1) and fitted
/// parameters are ``state`` (tensors), so that a fitted preprocessor saves into
/// the same safetensors checkpoint as the model and a trained model can be
/// applied to new images without refitting.
public protocol Preprocessor: Sendable {
    /// The name stored in checkpoints ("gcn", "zca", ...).
    static var kind: String { get }
    /// True once ``fit(_:)`` has run (always true for stateless steps).
    var isFitted: Bool { get }
    /// Learns the parameters from `data` (`(examples, features)`).
    mutating func fit(_ data: Tensor) throws
    /// Transforms `data` in place (the number of columns may change, as in PCA).
    /// - Throws: when not fitted, or fitted on a different number of features.
    func transform(_ data: inout Tensor) throws
    /// Hyperparameters, for saving.
    var settings: [String: Double] { get }
    /// Fitted parameters, for saving.
    var state: [String: Tensor] { get }
    /// Restores a fitted preprocessor from saved settings and state.
    init(settings: [String: Double], state: [String: Tensor]) throws
}

extension Preprocessor {
    /// `fit` then `transform` on the same data.
    public mutating func fitTransform(_ data: inout Tensor) throws {
        try fit(data)
        try transform(&data)
    }

    func requireFitted(features: Int, data: Tensor) throws {
        guard isFitted else { throw StrataError.invalidArgument(name: Self.kind, reason: "apply after fitting it on training data (call fit first)") }
        guard data.columns == features else {
            throw StrataError.shapeMismatch(context: "\(Self.kind) fitted on \(features) features applied to data of \(data.columns)",
                                            expected: [data.rows, features], found: data.shape)
        }
    }
}

/// A saved step's setting: present and finite.
func setting(_ settings: [String: Double], _ key: String, kind: String) throws -> Double {
    guard let value = settings[key] else { throw StrataError.badKey(path: "<checkpoint>", key: "\(kind).\(key)", reason: "missing setting") }
    guard value.isFinite else { throw StrataError.badKey(path: "<checkpoint>", key: "\(kind).\(key)", reason: "\(value) is not a finite number") }
    return value
}

/// A saved step's whole-number setting in `range`.
func countSetting(_ settings: [String: Double], _ key: String, kind: String, in range: ClosedRange<Int>) throws -> Int {
    let value = try setting(settings, key, kind: kind)
    guard value.rounded() == value, value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
        throw StrataError.badKey(path: "<checkpoint>", key: "\(kind).\(key)", reason: "\(value) is not a whole number in \(range)")
    }
    return Int(value)
}

/// A saved step's fitted tensor, with the shape its settings imply.
func stateTensor(_ state: [String: Tensor], _ key: String, kind: String, shape: [Int]) throws -> Tensor {
    let tensor = try stateTensor(state, key, kind: kind)
    guard tensor.shape == shape else {
        throw StrataError.shapeMismatch(context: "fitted \(kind).\(key)", expected: shape, found: tensor.shape)
    }
    return tensor
}

func stateTensor(_ state: [String: Tensor], _ key: String, kind: String) throws -> Tensor {
    guard let value = state[key] else { throw StrataError.badKey(path: "<checkpoint>", key: "\(kind).\(key)", reason: "missing fitted tensor") }
    return value
}
