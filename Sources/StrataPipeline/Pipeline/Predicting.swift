import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension Classifier {
    /// Classifies PNG files (and the `.png` files inside folders, sorted),
    /// treated as the classifier's ``InputContract`` says: `(file, class name, score)` per image.
    public func classify(pngs paths: [String]) throws -> [(file: String, className: String, score: Float)] {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw StrataError.fileNotFound(path: path) }
            if isFolder.boolValue {
                let found = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter { $0.lowercased().hasSuffix(".png") }.sorted()
                files += found.map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        guard !files.isEmpty else { throw StrataError.invalidArgument(name: "images", reason: "no .png files in \(paths.joined(separator: ", "))") }
        let contract = try InputContract(metadata: extra)
        var data = try ImageFolder.read(files: files) { file, size in try requireSize(size, of: file, contract: contract) }
        contract.treat(&data)
        let s = try scores(data.examples)
        return files.enumerated().map { i, file in
            let row = (0 ..< s.columns).map { s[i, $0] }
            let best = row.indices.max { row[$0] < row[$1] }!
            return (file, classNames[best], row[best])
        }
    }

    /// Refuses images whose size is not the one the classifier was trained on,
    /// naming the file, its size and the size expected (images are not resized).
    func requireSize(_ found: ImageGeometry, of file: String, contract: InputContract) throws {
        let name = (file as NSString).lastPathComponent
        if let expected = contract.image {
            guard (found.height, found.width, found.channels) != (expected.height, expected.width, expected.channels) else { return }
            throw StrataError.invalidArgument(name: file, reason: "\(name) is \(Self.sizeWords(found)); this classifier takes \(Self.sizeWords(expected)) images"
                + (contract.dataset.map { " (\($0))" } ?? "") + ": resize or crop it to \(expected.width)x\(expected.height) first")
        }
        guard found.size == inputCount else {
            throw StrataError.invalidArgument(name: file, reason: "\(name) is \(Self.sizeWords(found)) (\(found.size) values); this classifier takes \(inputCount) values per image")
        }
    }

    /// `600x400 pixels, RGB` (width first, as image viewers say it).
    static func sizeWords(_ g: ImageGeometry) -> String {
        "\(g.width)x\(g.height) pixels, " + (g.channels == 1 ? "gray" : g.channels == 3 ? "RGB" : "\(g.channels) channels")
    }
}
