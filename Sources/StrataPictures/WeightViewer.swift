import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

/// Turns a checkpoint's filters into tiles for ``TileGrid``: one tile per
/// hidden unit (a column of the weight matrix), in the image geometry the
/// layer was trained on.
public enum WeightViewer {
    /// The order of the tiles.
    public enum Order: String, CaseIterable, Sendable {
        /// As stored (hidden unit 0 first).
        case stored
        /// Largest filter norm first.
        case norm
    }

    /// The shape of one training example (a patch or an image) from the
    /// checkpoint's ``InputContract``, or a square gray guess from the number of inputs.
    public static func geometry(of checkpoint: LearnerCheckpoint) throws -> ImageGeometry {
        let inputs = checkpoint.learner.visibleCount
        if let known = try InputContract(metadata: checkpoint.extra).exampleGeometry, known.size == inputs {
            return known
        }
        for channels in [1, 3] where inputs % channels == 0 {
            let side = Int(Double(inputs / channels).squareRoot().rounded())
            if side * side * channels == inputs { return ImageGeometry(height: side, width: side, channels: channels) }
        }
        throw StrataError.invalidArgument(name: "filters", reason: "\(inputs) inputs are not a square image and the checkpoint names no image_geometry")
    }

    /// The filters as `(count, inputs)` tiles, optionally mapped back through
    /// the checkpoint's ZCA (`unwhiten`: each filter w becomes `w P^-1`, the
    /// pattern in input space), ordered and cut to `count`.
    public static func tiles(_ checkpoint: LearnerCheckpoint, count: Int? = nil, order: Order = .stored, unwhiten: Bool = false) throws -> Tensor {
        var tiles = checkpoint.learner.filters.transposed()          // (hidden, visible)
        if unwhiten {
            guard let zca = checkpoint.preprocessing.steps.compactMap({ $0 as? ZCA }).last, let inverse = zca.inverse else {
                throw StrataError.invalidArgument(name: "--unwhiten", reason: "the checkpoint has no fitted ZCA to undo")
            }
            tiles = tiles.matmul(inverse)
        }
        var indices = Array(0 ..< tiles.rows)
        if order == .norm {
            let norms = (0 ..< tiles.rows).map { r in tiles.rows(r ..< r + 1).squaredNorm() }
            indices.sort { norms[$0] > norms[$1] }
        }
        if let count {
            guard count > 0 else { throw StrataError.invalidArgument(name: "count", reason: "show at least one filter") }
            indices = Array(indices.prefix(count))
        }
        return tiles.gatherRows(indices)
    }
}
