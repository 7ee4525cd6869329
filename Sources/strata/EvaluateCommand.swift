import ArgumentParser
import Foundation
import Strata

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a saved classifier on a labeled split: accuracy, per-class accuracy, confusion matrix (text and PNG).",
        discussion: "  strata evaluate runs/sdae/finetune/classifier.safetensors --split test"
    )

    @Argument(help: "A classifier.safetensors written by `strata finetune`.")
    var classifier: String
    @Option(help: "A dataset name or a folder of PNG images with one subfolder per class.")
    var dataset = "fashion-mnist"
    @Option(help: "train or test.")
    var split: DataCatalog.Split = .test
    @Option(help: "Use only the first N examples.")
    var limit: Int?
    @Option(help: "Folder for evaluation.txt/.json/.png (default: the classifier's folder).")
    var out: String?
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.apply()
        let model = try Classifier.read(classifier)
        let images = try loadImages(dataset, split: split, limit: limit, treatment: PixelTreatment(metadata: model.extra))
        guard let labels = images.labels else { throw StrataError.invalidArgument(name: images.name, reason: "has no labels; evaluation needs them") }
        if let bad = labels.first(where: { $0 >= model.classNames.count }) {
            throw StrataError.invalidArgument(name: "\(images.name) labels", reason: "class \(bad) is not one of the classifier's \(model.classNames.count) classes")
        }
        let bar = ProgressBar(total: images.count, label: "evaluate")
        let predictions = try model.predict(images.examples) { bar.update($0) }
        bar.finish("done")
        let confusion = try ConfusionMatrix(truth: labels, predictions: predictions, classNames: model.classNames)
        print(confusion.table)
        let folder = out ?? URL(fileURLWithPath: classifier).deletingLastPathComponent().path
        try confusion.write(to: folder)
        printAccuracy(confusion, folder: folder)
    }
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify PNG images (files or folders of them) with a saved classifier.",
        discussion: """
            Images must have the size and kind (gray or color) the classifier was trained on. Prints one \
            line per image: the path, the predicted class and its score.
              strata predict runs/sdae/finetune/classifier.safetensors shirt.png boots/
            """
    )

    @Argument(help: "A classifier.safetensors written by `strata finetune`.")
    var classifier: String
    @Argument(help: "PNG files, or folders searched for .png files.")
    var images: [String]
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.apply()
        let model = try Classifier.read(classifier)
        var files: [String] = []
        for path in images {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw StrataError.fileNotFound(path: path) }
            if isFolder.boolValue {
                let found = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter { $0.lowercased().hasSuffix(".png") }.sorted()
                files += found.map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var data = try ImageFolder.read(files: files)
        PixelTreatment(metadata: model.extra).apply(to: &data)
        let scores = try model.scores(data.examples)
        for (i, file) in files.enumerated() {
            let row = (0 ..< scores.columns).map { scores[i, $0] }
            let best = row.indices.max { row[$0] < row[$1] }!
            print("\(file)\t\(model.classNames[best])\t\(String(format: "%.4f", row[best]))")
        }
    }
}
