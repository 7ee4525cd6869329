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
        var data = try ImageFolder.read(files: files)
        try InputContract(metadata: extra).treat(&data)
        let s = try scores(data.examples)
        return files.enumerated().map { i, file in
            let row = (0 ..< s.columns).map { s[i, $0] }
            let best = row.indices.max { row[$0] < row[$1] }!
            return (file, classNames[best], row[best])
        }
    }
}
