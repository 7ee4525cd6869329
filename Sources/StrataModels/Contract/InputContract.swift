import Foundation
import StrataCore
import StrataData

/// What a stack, a model or a classifier was trained on, and so what new
/// input must look like: the source dataset and split, the images' geometry
/// and channel order, the pixel treatment (scale, binarization), and for a
/// stack trained on patches the patch window. Saved under one metadata key,
/// `input`, as JSON, in every stack, checkpoint and classifier file; files of
/// earlier versions, which spread it over `source`, `pixel_scale`,
/// `binarize`, `image_geometry` and `patch_window`, still load.
public struct InputContract: Codable, Equatable, Sendable {
    /// A patch window, `height x width` pixels.
    public struct Window: Codable, Equatable, Sendable, CustomStringConvertible {
        public var height: Int
        public var width: Int
        public init(height: Int, width: Int) { (self.height, self.width) = (height, width) }
        public var description: String { "\(height)x\(width)" }
    }

    /// The dataset name (`fashion-mnist`) or PNG folder of the images; nil for
    /// an `.npy` matrix (then `matrix` names it).
    public var dataset: String?
    /// The split the first layer was trained on.
    public var split: String = "train"
    /// The `.npy` matrix trained on, when there were no images.
    public var matrix: String?
    /// The geometry (and channel order) of the source images, when known.
    public var image: ImageGeometry?
    /// Pixel values were multiplied by this after loading.
    public var pixelScale: Float = 1
    /// Pixels were thresholded at half their range to 0/1.
    public var binarize = false
    /// Set when the first layer was trained on random patches of this size:
    /// the stack then applies itself convolutionally to whole images.
    public var patchWindow: Window?
    /// The layers below, for a layer trained on a stack's features (`784-1000`).
    public var through: String?
    /// Self-taught features (``selfTaught(on:geometry:)``): the dataset the
    /// stack learned from, when ``dataset`` is another one it was applied to.
    public var taughtOn: String?
    /// Set for a stack trained on the pooled feature maps of a lower stack:
    /// ``image`` is then the maps' geometry, and features of new images go
    /// through that stack first (``LowerStage``).
    public var maps: LowerStage?

    public init(dataset: String? = nil, split: String = "train", image: ImageGeometry? = nil, pixelScale: Float = 1, binarize: Bool = false,
                patchWindow: Window? = nil) {
        (self.dataset, self.split, self.image, self.pixelScale, self.binarize, self.patchWindow) = (dataset, split, image, pixelScale, binarize, patchWindow)
    }

    /// The metadata key the contract is saved under.
    public static let key = "input"

    /// The contract saved in `metadata` (current or legacy keys); an empty one when there is none.
    public init(metadata: [String: String], path: String = "<file>") throws {
        if let text = metadata[Self.key] {
            do { self = try JSONDecoder().decode(InputContract.self, from: Data(text.utf8)) } catch let error as DecodingError {
                let (keys, reason) = describe(error)
                throw StrataError.badKey(path: path, key: (["__metadata__", Self.key] + keys).joined(separator: "."), reason: "not a valid input description: \(reason)")
            }
            try validate(path: path)
            return
        }
        self.init()
        if let source = metadata["source"] {
            let parts = source.split(separator: "/", maxSplits: 1).map(String.init)
            if source.hasSuffix(".npy") { matrix = source } else {
                guard let name = parts.first, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw StrataError.badKey(path: path, key: "__metadata__.source", reason: "'\(source)' names no dataset (expected NAME/SPLIT)")
                }
                dataset = name
                if parts.count == 2, let split = parts[1].split(separator: " ").first { self.split = String(split) }
            }
        }
        if let scale = metadata["pixel_scale"] {
            guard let value = Float(scale), value.isFinite, value > 0 else {
                throw StrataError.badKey(path: path, key: "__metadata__.pixel_scale", reason: "'\(scale)' is not a positive number")
            }
            pixelScale = value
        }
        binarize = metadata["binarize"] == "1"
        let geometry = try metadata["image_geometry"].map { try Self.parseGeometry($0, path: path) }
        if let window = metadata["patch_window"] {
            let (h, w) = try PairSetting(parsing: window, name: "__metadata__.patch_window", path: path).value
            patchWindow = Window(height: h, width: w)
            // Legacy files recorded the patches' geometry, not the images': keep its channels.
            legacyChannels = geometry?.channels
        } else {
            image = geometry
        }
        try validate(path: path)
    }

    /// The channels of a legacy patch stack, which recorded its patches' geometry but not its images'.
    private var legacyChannels: Int?

    /// Refuses sizes that are not positive or overflow.
    func validate(path: String) throws {
        func check(_ value: Int, _ name: String) throws {
            guard value >= 1, value <= 1 << 20 else { throw StrataError.badKey(path: path, key: "__metadata__.\(Self.key).\(name)", reason: "\(value) must lie in 1...\(1 << 20)") }
        }
        if let image {
            try check(image.height, "image.height"); try check(image.width, "image.width"); try check(image.channels, "image.channels")
            // Each side is at most 2^20, so the product cannot overflow.
            guard image.size <= 1 << 30 else {
                throw StrataError.badKey(path: path, key: "__metadata__.\(Self.key).image", reason: "\(image) is too large")
            }
        }
        if let patchWindow { try check(patchWindow.height, "patch_window.height"); try check(patchWindow.width, "patch_window.width") }
        guard pixelScale.isFinite, pixelScale > 0 else { throw StrataError.badKey(path: path, key: "__metadata__.\(Self.key).pixel_scale", reason: "\(pixelScale) must be a positive number") }
    }

    /// The metadata entry holding this contract.
    public var metadata: [String: String] { [Self.key: encodeJSON(self)] }

    /// The shape one training example had: the patch (window x channels) or the image.
    public var exampleGeometry: ImageGeometry? {
        if let patchWindow, let channels = image?.channels ?? legacyChannels { return ImageGeometry(height: patchWindow.height, width: patchWindow.width, channels: channels) }
        return image
    }

    /// A short description, for example `fashion-mnist/train, 28x28 gray, 8x8 patches, pixels x255`.
    public var summary: String {
        var parts = [dataset.map { "\($0)/\(split)" } ?? matrix ?? "unknown data"]
        if let image { parts.append("\(image)") }
        if let patchWindow { parts.append("\(patchWindow) patches") }
        if pixelScale != 1 { parts.append("pixels x\(pixelScale)") }
        if binarize { parts.append("binarized") }
        if let through { parts.append("through \(through)") }
        if let taughtOn { parts.append("features learned on \(taughtOn)") }
        if let maps { parts.append("on the maps of \(maps.stack)") }
        return parts.joined(separator: ", ")
    }

    /// Applies the pixel treatment to freshly loaded images.
    public func treat(_ images: inout Dataset) {
        if pixelScale != 1 { images.examples.scale(by: pixelScale) }
        if binarize {
            let (low, high) = images.examples.minMax() ?? (0, 1)
            let threshold = (low + high) / 2
            images.examples.apply { $0 > threshold ? 1 : 0 }
        }
    }

    /// Refuses `dataset` when the contract names another one.
    public func requireDataset(_ other: String, for what: String) throws {
        guard let dataset, Self.canonical(dataset) != Self.canonical(other) else { return }
        throw StrataError.invalidArgument(name: "dataset", reason: "\(what) was trained on \(dataset), not \(other); leave the dataset out to use \(dataset)")
    }

    static func canonical(_ name: String) -> String { KnownDataset(name: name)?.rawValue ?? name }

    static func parseGeometry(_ text: String, path: String) throws -> ImageGeometry {
        let parts = text.split(separator: "x").map { Int($0) }
        guard parts.count == 3, let h = parts[0], let w = parts[1], let c = parts[2], (1 ... 1 << 20).contains(h), (1 ... 1 << 20).contains(w), (1 ... 4096).contains(c) else {
            throw StrataError.badKey(path: path, key: "__metadata__.image_geometry", reason: "'\(text)' is not HxWxC with positive sizes")
        }
        return ImageGeometry(height: h, width: w, channels: c)
    }

    enum CodingKeys: String, CodingKey { case dataset, split, matrix, image, pixelScale = "pixel_scale", binarize, patchWindow = "patch_window", through, maps, legacyChannels = "channels"
        case taughtOn = "taught_on" }
}
