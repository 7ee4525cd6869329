import Foundation
import StrataCore

/// CIFAR-10's binary version (Krizhevsky 2009): each record is one label byte
/// followed by 3072 pixel bytes, 1024 red, 1024 green, 1024 blue, each plane
/// row-major 32x32. `batches.meta.txt` names the ten classes, one per line.
public enum CIFAR10 {
    /// Bytes per record: 1 label + 32 * 32 * 3 pixels.
    public static let recordSize = 1 + 3072
    /// The image shape of every example (channel-planar, as in the files).
    public static let geometry = ImageGeometry(height: 32, width: 32, channels: 3, layout: .planar)
    /// The class names used when `batches.meta.txt` is missing.
    public static let defaultClassNames = ["airplane", "automobile", "bird", "cat", "deer",
                                           "dog", "frog", "horse", "ship", "truck"]

    /// Reads one or more batch files into one dataset; pixel values stay 0...255
    /// (as pylearn2's CIFAR10 keeps them) unless `scaleToUnit` divides by 255.
    public static func read(batches paths: [String], classNames: [String] = defaultClassNames,
                            scaleToUnit: Bool = false, name: String = "cifar10") throws -> Dataset {
        try parse(batches: paths.map { (try readWholeFile($0), $0) }, classNames: classNames, scaleToUnit: scaleToUnit, name: name)
    }

    /// Parses batch files' bytes (each with the path that names it in errors) into one dataset.
    public static func parse(batches: [(data: Data, path: String)], classNames: [String] = defaultClassNames,
                             scaleToUnit: Bool = false, name: String = "cifar10") throws -> Dataset {
        var files: [Data] = []
        var total = 0
        for (data, path) in batches {
            guard data.count > 0, data.count % recordSize == 0 else {
                let whole = data.count / recordSize
                throw StrataError.truncated(path: path, expected: (whole + 1) * recordSize, found: data.count,
                                            what: "CIFAR-10 records of \(recordSize) bytes (\(data.count) is not a multiple)")
            }
            // A label byte above 9 means this is not a CIFAR-10 batch.
            let records = data.count / recordSize
            let labelsOK = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                (0 ..< records).allSatisfy { raw[$0 * recordSize] < classNames.count }
            }
            guard labelsOK else {
                throw StrataError.badMagic(path: path, expected: "label bytes 0...\(classNames.count - 1) every \(recordSize) bytes",
                                           found: "a label byte out of range (not a CIFAR-10 binary batch?)")
            }
            files.append(data)
            total += records
        }
        var labels = [Int]()
        labels.reserveCapacity(total)
        let scale: Float = scaleToUnit ? 1 / 255 : 1
        let examples = Tensor(shape: [total, 3072]) { out in
            var row = 0
            for data in files {
                data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                    let bytes = raw.bindMemory(to: UInt8.self)
                    for r in 0 ..< data.count / recordSize {
                        let base = r * recordSize
                        labels.append(Int(bytes[base]))
                        let dst = out.baseAddress! + row * 3072
                        for j in 0 ..< 3072 { dst[j] = Float(bytes[base + 1 + j]) * scale }
                        row += 1
                    }
                }
            }
        }
        return try Dataset(name: name, examples: examples, labels: labels, classNames: classNames, geometry: geometry)
    }

    /// Reads `batches.meta.txt`: one class name per non-empty line.
    public static func readClassNames(_ path: String) throws -> [String] {
        let data = try readWholeFile(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw StrataError.corrupt(path: path, offset: nil, reason: "not UTF-8 text")
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count >= 2 else {
            throw StrataError.corrupt(path: path, offset: nil, reason: "expected one class name per line, found \(names.count) names")
        }
        return names
    }
}
