import Foundation
import StrataCore
import StrataData

/// One layer that learns without labels: trained alone, saved, loaded,
/// applied (``transform(_:)`` gives the hidden means) and later stacked.
public protocol UnsupervisedLearner: Sendable {
    /// Values per input example.
    var visibleCount: Int { get }
    /// Hidden units (features per example after ``transform(_:)``).
    var hiddenCount: Int { get }
    /// The name of the learner kind stored in checkpoints ("rbm", "autoencoder").
    static var kind: String { get }

    /// The hidden means of `x`, `(n, visible) -> (n, hidden)`.
    func transform(_ x: Tensor) -> Tensor

    /// One minibatch update. Returns the batch's value of the training
    /// objective (the cost minimized; for CD, the reconstruction error).
    mutating func trainStep(_ batch: Tensor, hyper: StepHyperparameters, random: inout RandomSource) throws -> Double

    /// Monitor channels on `x` (pylearn2's names where the quantity is the
    /// same: `objective`, `reconstruction_error`, `h_mean`, ...).
    func monitor(_ x: Tensor, random: inout RandomSource) -> [String: Double]

    /// Learned parameters by name, for checkpoints and weight viewing.
    var parameters: [String: Tensor] { get }
    /// Optimizer and sampler state (velocities, persistent chains), so a
    /// resumed run continues exactly.
    var trainingState: [String: Tensor] { get }
    /// The configuration as JSON text, saved in the checkpoint's metadata.
    var configurationJSON: String { get }

    /// Rebuilds a learner from a checkpoint's configuration, parameters and state.
    init(configurationJSON: String, parameters: [String: Tensor], trainingState: [String: Tensor]) throws

    /// The weight matrix `(visible, hidden)`: column j is hidden unit j's filter.
    var filters: Tensor { get }

    /// ``transform(_:)`` as an affine layer with an activation, so a stack of
    /// learners becomes the initial hidden layers of a network for fine-tuning.
    var denseLayer: DenseLayer { get }

    /// Called after each epoch's last minibatch: a learner whose update is per
    /// epoch (K-means' Lloyd step) makes it here. The others do nothing.
    mutating func finishEpoch()

    /// Hands `body` each buffer a training step changes and every rank must
    /// hold alike (the parameters and, with `velocities`, their momentum), one
    /// at a time, in place and in a fixed order: ``DataParallel`` combines the
    /// ranks' changes through it (a learner with state of its own per rank also
    /// conforms to StrataDistributed's `RankState`). Throws when the learner cannot be trained
    /// across ranks (its update is not a per-example average: K-means' epoch step).
    mutating func forEachTrainedBuffer(velocities: Bool, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws

    /// Whether a training step writes the momentum buffers: always, except a
    /// plain-SGD step (no momentum, no decay) that adds the gradient straight
    /// into the parameters. Ranks combine the buffers a step writes.
    func writesVelocities(plainSGD: Bool) -> Bool
}

extension UnsupervisedLearner {
    public mutating func finishEpoch() {}
    public func writesVelocities(plainSGD: Bool) -> Bool { !plainSGD }
}

extension UnsupervisedLearner {
    /// The hidden means of `x` in batches of `batchSize` rows (bounded memory).
    public func transform(_ x: Tensor, batchSize: Int) -> Tensor {
        if x.rows <= batchSize { return transform(x) }
        var out = Tensor(zeros: [x.rows, hiddenCount])
        var start = 0
        while start < x.rows {
            let end = min(start + batchSize, x.rows)
            let h = transform(x.rows(start ..< end))
            out.withUnsafeMutableBufferPointer { dst in
                h.withUnsafeBufferPointer { (dst.baseAddress! + start * hiddenCount).update(from: $0.baseAddress!, count: $0.count) }
            }
            start = end
        }
        return out
    }
}

/// Non-finite floats are written as the strings "nan", "inf" and "-inf", so
/// encoding never fails (validation refuses them earlier; a value that slips
/// through still reaches the file and is refused when read back).
private let nonFiniteStrings = (positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

package func encodeJSON<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: nonFiniteStrings.positiveInfinity, negativeInfinity: nonFiniteStrings.negativeInfinity, nan: nonFiniteStrings.nan)
    do {
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    } catch {
        preconditionFailure("JSON encoding of a Strata value failed: \(error)") // only plain structs, strings and numbers are encoded
    }
}

package func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String, what: String) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: Data(text.utf8))
    } catch let error as DecodingError {
        let (path, reason) = describe(error)
        throw StrataError.badKey(path: "<checkpoint>", key: ([what] + path).joined(separator: "."), reason: reason)
    } catch {
        throw StrataError.badKey(path: "<checkpoint>", key: what, reason: "cannot read the configuration: \(error)")
    }
}

/// Where a JSON decoding failed (the keys down to the value) and what was wrong, in words.
package func describe(_ error: DecodingError) -> (path: [String], reason: String) {
    func keys(_ path: [CodingKey]) -> [String] { path.map { $0.intValue.map(String.init) ?? $0.stringValue } }
    switch error {
    case .dataCorrupted(let c): return (keys(c.codingPath), c.underlyingError == nil ? c.debugDescription : "not valid JSON")
    case .keyNotFound(let key, let c): return (keys(c.codingPath), "the key '\(key.stringValue)' is missing")
    case .typeMismatch(let type, let c): return (keys(c.codingPath), "expected \(type), \(c.debugDescription)")
    case .valueNotFound(let type, let c): return (keys(c.codingPath), "expected \(type), found null")
    @unknown default: return ([], "\(error)")
    }
}

func requireTensor(_ tensors: [String: Tensor], _ name: String, shape: [Int]) throws -> Tensor {
    guard let t = tensors[name] else { throw StrataError.badKey(path: "<checkpoint>", key: name, reason: "missing tensor") }
    guard t.shape == shape || (shape.count == 1 && t.count == shape[0]) else {
        throw StrataError.shapeMismatch(context: "checkpoint tensor '\(name)'", expected: shape, found: t.shape)
    }
    return t.reshaped(shape)
}

/// Checks a layer's size before anything of that size is allocated: both
/// counts positive and the weight matrix within ``Limits/maxTensorElements``.
func validateLayerSize(visible: Int, hidden: Int, what: String) throws {
    guard visible > 0, hidden > 0 else {
        throw StrataError.invalidArgument(name: "\(what) size", reason: "\(visible)-\(hidden): both must be positive")
    }
    guard let weights = Limits.product([visible, hidden]), weights <= Limits.maxTensorElements else {
        throw StrataError.invalidArgument(name: "\(what) size", reason: "\(visible)-\(hidden) needs a weight matrix larger than the limit of \(Limits.maxTensorElements) values (set STRATA_MAX_TENSOR_ELEMENTS to allow more)")
    }
}

/// A learner's configuration that checks its own values (read from a checkpoint by `decodeChecked`).
public protocol CheckedConfiguration: Decodable {
    /// Throws, naming the setting, when a value is out of its range.
    func validate() throws
}

/// A fully connected learner's configuration: `visibleCount` inputs, `hiddenCount` units.
public protocol DenseConfiguration: CheckedConfiguration {
    var visibleCount: Int { get }
    var hiddenCount: Int { get }
}

/// A configuration read from a checkpoint's JSON, `what` naming it in errors, and checked.
package func decodeChecked<T: CheckedConfiguration>(_ type: T.Type, _ text: String, what: String) throws -> T {
    let value = try decodeJSON(type, text, what: what)
    try value.validate()
    return value
}

/// A dense learner's configuration read from a checkpoint and checked, with
/// the saved `weights` `(visible, hidden)` checked against it before a model of its size is allocated.
package func decodeChecked<T: DenseConfiguration>(_ type: T.Type, _ text: String, parameters: [String: Tensor], what: String) throws -> T {
    let value = try decodeChecked(type, text, what: what)
    _ = try requireTensor(parameters, "weights", shape: [value.visibleCount, value.hiddenCount])
    return value
}
