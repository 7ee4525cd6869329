import StrataCore
import StrataData

/// A split layer's checkpoint, written whole by the first part while the
/// others stream it their bands: no process holds the whole layer.
extension HiddenUnitSplit {
    /// The checkpoint tensors that differ between the parts, in name order
    /// (alike on every part), each with its hidden-unit axis.
    private var bandTensors: [(name: String, tensor: Tensor, axis: Int)] {
        band.splitTensors().compactMap { name, value in value.1.map { (name, value.0, $0) } }.sorted { $0.name < $1.name }
    }

    /// Calls `body` on the first part with the whole layer as a checkpoint
    /// holds it: the whole's configuration, the tensors alike on every part
    /// (the visible bias, sigma, PCD's chains) from this part, and each
    /// tensor split by hidden units streamed while the file is written, a
    /// piece of at most ``ModelPartExchange/bandPiece`` values at a time. The
    /// other parts serve their bands meanwhile and do not call `body`. So a
    /// checkpoint costs the first part its band and a piece, not the whole
    /// layer (DistBelief's reason to split a layer). Collective.
    public func withWhole(_ body: (WholeLearner) throws -> Void) throws {
        let tensors = bandTensors
        try split.exchange.onFirstPartServedBy(tensors.map(\.tensor)) {
            var whole = WholeLearner(self)
            for (index, entry) in tensors.enumerated() {
                let stream = split.streamed(entry.tensor, hiddenAxis: entry.axis, index: index)
                if entry.name.hasPrefix("training.") {
                    whole.trainingState[String(entry.name.dropFirst("training.".count))] = stream
                } else {
                    whole.parameters[entry.name] = stream
                }
            }
            try body(whole)
        }
    }
}
