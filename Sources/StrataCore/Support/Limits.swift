import Foundation
import Synchronization

/// The largest sizes Strata will allocate for anything a file describes: a
/// tensor's shape in an NPY, IDX or safetensors header, a PNG's dimensions, a
/// configuration's layer sizes. Every reader checks a size against these
/// limits, with overflow-checked arithmetic, before it allocates, so a corrupt
/// or hostile file is refused with an error instead of exhausting memory.
///
/// The defaults suit this toolkit's data with room to spare (Fashion-MNIST's
/// training set is 47 million values; a 2 GB patch file is 537 million):
/// - ``maxTensorElements``: 2^31 Float32 values (8 GiB) per tensor;
/// - ``maxImageSide``: 16,384 pixels per side of one image.
///
/// A user who needs bigger sets `STRATA_MAX_TENSOR_ELEMENTS` or
/// `STRATA_MAX_IMAGE_SIDE` in the environment, or assigns the properties.
public enum Limits {
    private static let tensorElements = Atomic<Int>(environment("STRATA_MAX_TENSOR_ELEMENTS", default: 1 << 31))
    private static let imageSide = Atomic<Int>(environment("STRATA_MAX_IMAGE_SIDE", default: 16_384))

    /// The most elements one tensor read from or described by a file may have.
    public static var maxTensorElements: Int {
        get { tensorElements.load(ordering: .relaxed) }
        set { tensorElements.store(max(1, newValue), ordering: .relaxed) }
    }

    /// The most pixels one side of an image read from a file may have.
    public static var maxImageSide: Int {
        get { imageSide.load(ordering: .relaxed) }
        set { imageSide.store(max(1, newValue), ordering: .relaxed) }
    }

    private static func environment(_ name: String, default value: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment[name], let number = Int(text), number > 0 else { return value }
        return number
    }

    /// The product of `extents`, or nil when an extent is negative or the
    /// product overflows `Int`.
    public static func product(_ extents: [Int]) -> Int? {
        var total = 1
        for extent in extents {
            guard extent >= 0 else { return nil }
            let (next, overflow) = total.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            total = next
        }
        return total
    }

    /// The element count of `shape`, read from `path` under `key`, checked
    /// against ``maxTensorElements``.
    /// - Throws: ``StrataError/badKey(path:key:reason:)`` naming the file, the
    ///   key, the shape and the limit (and how to raise it).
    @discardableResult
    public static func checkedElementCount(_ shape: [Int], path: String, key: String) throws -> Int {
        guard let count = product(shape) else {
            throw StrataError.badKey(path: path, key: key, reason: "shape \(shape) has no valid element count (a negative extent, or more than \(Int.max) elements)")
        }
        guard count <= maxTensorElements else {
            throw StrataError.badKey(path: path, key: key, reason: "shape \(shape) has \(count) elements, more than the limit of \(maxTensorElements) (set STRATA_MAX_TENSOR_ELEMENTS to allow more)")
        }
        return count
    }

    /// The byte count of `count` elements of `size` bytes, or nil on overflow.
    public static func bytes(_ count: Int, of size: Int) -> Int? {
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        return overflow ? nil : total
    }

    /// Checks an image's dimensions, read from `path`, against ``maxImageSide``.
    public static func checkImage(width: Int, height: Int, path: String) throws {
        guard width >= 1, height >= 1, width <= maxImageSide, height <= maxImageSide else {
            throw StrataError.corrupt(path: path, offset: nil, reason: "image of \(width)x\(height) pixels: each side must lie in 1...\(maxImageSide) (set STRATA_MAX_IMAGE_SIDE to allow more)")
        }
    }
}
