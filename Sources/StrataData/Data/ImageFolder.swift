import Foundation
import StrataCore

/// A labeled dataset stored as a folder of PNG images with one subfolder per
/// class (`root/CLASS/NAME.png`), the layout of torchvision's ImageFolder.
///
/// Classes are the subfolder names in sorted order; files are read in sorted
/// order. Every image must have the same size and be either gray or color
/// (RGB; an alpha channel is dropped). Color images are stored planar,
/// channel by channel, like CIFAR-10. Values are scaled to [0, 1] unless
/// `scaleToUnit` is false.
public enum ImageFolder {
    public static func read(_ root: String, scaleToUnit: Bool = true) throws -> Dataset {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isFolder) else { throw StrataError.fileNotFound(path: root) }
        guard isFolder.boolValue else { throw StrataError.io(path: root, reason: "not a folder") }
        let classNames = try contents(of: root).filter { name in
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &dir) && dir.boolValue
        }
        guard !classNames.isEmpty else {
            throw StrataError.io(path: root, reason: "no class subfolders (expected root/CLASS/IMAGE.png)")
        }
        var files: [(path: String, label: Int)] = []
        for (label, name) in classNames.enumerated() {
            for file in try contents(of: root + "/" + name) where file.lowercased().hasSuffix(".png") {
                files.append((root + "/" + name + "/" + file, label))
            }
        }
        guard !files.isEmpty else { throw StrataError.io(path: root, reason: "no .png files in the class subfolders") }
        let (examples, geometry) = try pixels(of: files.map(\.path), scaleToUnit: scaleToUnit, folder: root)
        return try Dataset(name: URL(fileURLWithPath: root).lastPathComponent, examples: examples,
                           labels: files.map(\.label), classNames: classNames, geometry: geometry)
    }

    /// Unlabeled images from PNG files (all the same size and kind), one row
    /// each, planar for color, scaled to [0, 1] unless `scaleToUnit` is false.
    public static func read(files paths: [String], scaleToUnit: Bool = true) throws -> Dataset {
        guard !paths.isEmpty else { throw StrataError.invalidArgument(name: "images", reason: "no PNG files given") }
        let (examples, geometry) = try pixels(of: paths, scaleToUnit: scaleToUnit, folder: "the files given")
        return try Dataset(name: "images", examples: examples, geometry: geometry)
    }

    private static func pixels(of paths: [String], scaleToUnit: Bool, folder: String) throws -> (Tensor, ImageGeometry) {
        let firstImage = try PNGImage.read(paths[0])
        let colorChannels = firstImage.channels >= 3 ? 3 : 1
        let geometry = ImageGeometry(height: firstImage.height, width: firstImage.width, channels: colorChannels, layout: .planar)
        let plane = geometry.height * geometry.width
        let scale: Float = scaleToUnit ? 1 / 255 : 1
        try Limits.checkedElementCount([paths.count, geometry.size], path: folder, key: "images")
        var examples = Tensor(zeros: [paths.count, geometry.size])
        try examples.withUnsafeMutableBufferPointer { out in
            for (index, path) in paths.enumerated() {
                let image = index == 0 ? firstImage : try PNGImage.read(path)
                let imageColor = image.channels >= 3 ? 3 : 1
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
