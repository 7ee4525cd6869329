import Foundation
import StrataCore
import StrataData

extension InputContract {
    /// Self-taught learning (Raina et al. 2007): features learned from one
    /// dataset's unlabeled images applied to another's. A stack trained on
    /// patches reads any images its window fits with the channels it was
    /// trained on; a stack trained on whole images reads images of its own
    /// geometry only. The pixel treatment and preprocessing carry over.
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` naming what does not fit.
    public func checkSelfTaught(images geometry: ImageGeometry?, dataset other: String, for what: String) throws {
        guard maps == nil else {
            throw StrataError.invalidArgument(name: "self-taught", reason: "\(what) was trained on another stack's maps; apply its lower stack to \(other) first")
        }
        guard let geometry else { throw StrataError.invalidArgument(name: "self-taught", reason: "\(other) has no image geometry; \(what) reads images") }
        guard let trained = exampleGeometry else { throw StrataError.invalidArgument(name: "self-taught", reason: "\(what) records no image geometry to check \(other)'s against") }
        guard geometry.channels == trained.channels else {
            throw StrataError.invalidArgument(name: "self-taught", reason: "\(what) was trained on \(trained.channels)-channel \(patchWindow == nil ? "images" : "patches"); \(other)'s images have \(geometry.channels) channels")
        }
        if let window = patchWindow {
            guard window.height <= geometry.height, window.width <= geometry.width else {
                throw StrataError.invalidArgument(name: "self-taught", reason: "\(what)'s \(window) window does not fit \(other)'s \(geometry) images")
            }
        } else if geometry != trained {
            throw StrataError.invalidArgument(name: "self-taught", reason: "\(what) was trained on whole \(trained) images, not patches; \(other)'s are \(geometry)")
        }
    }

    /// The contract of features of `other`'s images (of `geometry`) by a stack
    /// with this contract: the same pixel treatment and window, the new images,
    /// and the dataset the stack learned from recorded in ``taughtOn``.
    public func selfTaught(on other: String, geometry: ImageGeometry) -> InputContract {
        var moved = self
        moved.taughtOn = taughtOn ?? dataset
        (moved.dataset, moved.image, moved.split) = (other, geometry, "train")
        return moved
    }
}
