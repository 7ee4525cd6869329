import Foundation
import StrataCore

/// A labeled dataset stored as a folder of PNG images with one subfolder per
/// class (`root/CLASS/NAME.png`), the layout of torchvision's ImageFolder;
/// or, for separate training and test images, `root/train/CLASS/NAME.png`
/// and `root/test/CLASS/NAME.png`.
///
/// Classes are the subfolder names in sorted order; each class's files are
/// taken in sorted order, the classes in turn (the first file of every
/// class, then the second, ...), so that the first N images (`--limit`) and
/// the last N (held out to choose an epoch or C) hold every class, as a
/// shuffled dataset's do. Every image must have the same size and be either
/// gray or color (RGB; an alpha channel is dropped). Color images are stored
/// planar, channel by channel, like CIFAR-10. Values are scaled to [0, 1]
/// unless `scaleToUnit` is false.
public enum ImageFolder {
    /// The folder of `split`'s images under `root`: `root/train` or
    /// `root/test` when `root` has both, else `root` itself (a folder
    /// without a test split serves its images as both; `hasTestSplit` says which).
    public static func folder(_ root: String, split: DataCatalog.Split) -> (path: String, hasTestSplit: Bool) {
        let halves = ["train", "test"].map { root + "/" + $0 }
        guard halves.allSatisfy(isFolder) else { return (root, false) }
        return (split == .train ? halves[0] : halves[1], true)
    }

    /// The images of `split` under `root` (``folder(_:split:)``).
    public static func read(_ root: String, split: DataCatalog.Split = .train, scaleToUnit: Bool = true) throws -> Dataset {
        guard FileManager.default.fileExists(atPath: root) else { throw StrataError.fileNotFound(path: root) }
        guard isFolder(root) else { throw StrataError.io(path: root, reason: "not a folder") }
        let folder = folder(root, split: split).path
        let classNames = try contents(of: folder).filter { isFolder(folder + "/" + $0) }
        guard !classNames.isEmpty else {
            throw StrataError.io(path: folder, reason: "no class subfolders (expected root/CLASS/IMAGE.png, or root/train/CLASS/IMAGE.png and root/test/CLASS/IMAGE.png)")
        }
        let perClass = try classNames.map { name in try contents(of: folder + "/" + name).filter { $0.lowercased().hasSuffix(".png") }.map { folder + "/" + name + "/" + $0 } }
        var files: [(path: String, label: Int)] = []
        for k in 0 ..< (perClass.map(\.count).max() ?? 0) {
            for (label, paths) in perClass.enumerated() where k < paths.count { files.append((paths[k], label)) }
        }
        guard !files.isEmpty else { throw StrataError.io(path: folder, reason: "no .png files in the class subfolders") }
        let (examples, geometry) = try pixels(of: files.map(\.path), scaleToUnit: scaleToUnit, folder: folder)
        return try Dataset(name: URL(fileURLWithPath: root).lastPathComponent, examples: examples,
                           labels: files.map(\.label), classNames: classNames, geometry: geometry)
    }

    private static func isFolder(_ path: String) -> Bool {
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && folder.boolValue
    }

    /// Unlabeled images from PNG files (all the same size and kind), one row
    /// each, planar for color, scaled to [0, 1] unless `scaleToUnit` is false.
    /// `check` sees each file's size as it is read, before the files are
    /// compared with each other: a reader that knows the size it needs says
    /// which file is wrong and why, rather than that two files differ.
    public static func read(files paths: [String], scaleToUnit: Bool = true,
                            check: (_ path: String, _ size: ImageGeometry) throws -> Void = { _, _ in }) throws -> Dataset {
        guard !paths.isEmpty else { throw StrataError.invalidArgument(name: "images", reason: "no PNG files given") }
        let (examples, geometry) = try pixels(of: paths, scaleToUnit: scaleToUnit, folder: "the files given", check: check)
        return try Dataset(name: "images", examples: examples, geometry: geometry)
    }

    private static func pixels(of paths: [String], scaleToUnit: Bool, folder: String,
                               check: (String, ImageGeometry) throws -> Void = { _, _ in }) throws -> (Tensor, ImageGeometry) {
        let firstImage = try PNGImage.read(paths[0])
        let colorChannels = firstImage.channels >= 3 ? 3 : 1
        let geometry = ImageGeometry(height: firstImage.height, width: firstImage.width, channels: colorChannels, layout: .planar)
        try check(paths[0], geometry)
        let plane = geometry.height * geometry.width
        let scale: Float = scaleToUnit ? 1 / 255 : 1
        try Limits.checkedElementCount([paths.count, geometry.size], path: folder, key: "images")
        var examples = Tensor(zeros: [paths.count, geometry.size])
        try examples.withUnsafeMutableBufferPointer { out in
            for (index, path) in paths.enumerated() {
                let image = index == 0 ? firstImage : try PNGImage.read(path)
                let imageColor = image.channels >= 3 ? 3 : 1
                if index > 0 { try check(path, ImageGeometry(height: image.height, width: image.width, channels: imageColor, layout: .planar)) }
                guard image.width == geometry.width, image.height == geometry.height, imageColor == colorChannels else {
                    throw StrataError.shapeMismatch(
                        context: "\(path): every image in \(folder) must match \(paths[0]) (height, width, channels)",
                        expected: [geometry.height, geometry.width, colorChannels],
                        found: [image.height, image.width, imageColor])
                }
                let row = out.baseAddress! + index * geometry.size
                image.pixels.withUnsafeBufferPointer { px in
                    for p in 0 ..< plane {
                        for c in 0 ..< colorChannels {
                            row[c * plane + p] = Float(px[p * image.channels + c]) * scale
                        }
                    }
                }
            }
        }
        return (examples, geometry)
    }

    private static func contents(of folder: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw StrataError.io(path: folder, reason: "cannot list folder: \(error.localizedDescription)")
        }
    }
}
