import StrataCore

/// The tensors every fully connected learner saves (``Autoencoder``,
/// ``RBM``): weights `(visible, hidden)`, the hidden bias `(hidden)` and the
/// visible bias `(visible)`; as parameters by these names, and as velocities
/// in a training state named `velocity_` and the parameter.
struct DenseTensors {
    var weights: Tensor, hiddenBias: Tensor, visibleBias: Tensor

    init(weights: Tensor, hiddenBias: Tensor, visibleBias: Tensor) {
        (self.weights, self.hiddenBias, self.visibleBias) = (weights, hiddenBias, visibleBias)
    }

    /// The three read from `tensors` (their names after `prefix`), each checked against its shape.
    init(_ tensors: [String: Tensor], prefix: String = "", visible: Int, hidden: Int) throws {
        func read(_ name: String, _ shape: [Int]) throws -> Tensor { try requireTensor(tensors, prefix + name, shape: shape) }
        (weights, hiddenBias, visibleBias) = (try read("weights", [visible, hidden]), try read("hidden_bias", [hidden]), try read("visible_bias", [visible]))
    }

    /// The shapes by name, for `visible` inputs and `hidden` units (Adam's moments have them too).
    static func shapes(visible: Int, hidden: Int) -> [String: [Int]] {
        ["weights": [visible, hidden], "hidden_bias": [hidden], "visible_bias": [visible]]
    }

    /// The three by name, each after `prefix`.
    func named(prefix: String = "") -> [String: Tensor] {
        [prefix + "weights": weights, prefix + "hidden_bias": hiddenBias, prefix + "visible_bias": visibleBias]
    }
}

/// A fully connected learner's weights and biases with their velocities
/// (``Autoencoder``, ``RBM``): saved and read from a checkpoint by one
/// description, ``DenseTensors``.
protocol DenseParameters {
    var visibleCount: Int { get }
    var hiddenCount: Int { get }
    var weights: Tensor { get set }
    var hiddenBias: Tensor { get set }
    var visibleBias: Tensor { get set }
    var velocityW: Tensor { get set }
    var velocityC: Tensor { get set }
    var velocityB: Tensor { get set }
}

extension DenseParameters {
    /// The weights and biases by their checkpoint names.
    var denseParameters: [String: Tensor] { DenseTensors(weights: weights, hiddenBias: hiddenBias, visibleBias: visibleBias).named() }
    /// Their velocities by their checkpoint names (`velocity_` and the parameter).
    var denseVelocities: [String: Tensor] { DenseTensors(weights: velocityW, hiddenBias: velocityC, visibleBias: velocityB).named(prefix: "velocity_") }

    /// The weights and biases from a checkpoint's `parameters`, and their
    /// velocities when `trainingState` holds any, each checked against its shape.
    mutating func readDense(_ parameters: [String: Tensor], _ trainingState: [String: Tensor]) throws {
        let saved = try DenseTensors(parameters, visible: visibleCount, hidden: hiddenCount)
        (weights, hiddenBias, visibleBias) = (saved.weights, saved.hiddenBias, saved.visibleBias)
        guard !trainingState.isEmpty else { return }
        let velocities = try DenseTensors(trainingState, prefix: "velocity_", visible: visibleCount, hidden: hiddenCount)
        (velocityW, velocityC, velocityB) = (velocities.weights, velocities.hiddenBias, velocities.visibleBias)
    }
}

extension Autoencoder: DenseParameters {}
extension RBM: DenseParameters {}
extension Autoencoder.Configuration: DenseConfiguration {}
extension RBM.Configuration: DenseConfiguration {}
