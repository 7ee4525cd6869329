import ArgumentParser
import Foundation
import Strata

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a saved classifier on a labeled split: accuracy, per-class accuracy, confusion matrix (text and PNG).",
        discussion: "The images are the ones the classifier records, treated the same way.\n  strata evaluate runs/sdae/finetune/classifier.safetensors --split test"
    )

    @Argument(help: "A classifier.safetensors written by `strata finetune`.")
    var classifier: String
    @OptionGroup(title: "Data") var images: ImageOptions
    @Option(help: "train or test (default test).")
    var split: String?
    @Option(help: "Folder for evaluation.txt/.json/.png (default: the classifier's folder).")
    var out: String?
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if let limit = images.limit, limit < 1 { throw ValidationError("--limit must be at least 1, not \(limit)") }
    }

    func run() throws {
        _ = try compute.applied()
        let split = try FlagSettings(["split": self.split]).value("split", DataCatalog.Split.init(parsing:)) ?? .test
        try Evaluating.run(classifier: classifier, dataset: images.dataset, split: split, limit: images.limit, folder: out)
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
        _ = try compute.applied()
        let model = try Classifier.read(classifier)
        for (file, name, score) in try model.classify(pngs: images) {
            print("\(file)\t\(name)\t\(String(format: "%.4f", score))")
        }
    }
}
