import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Measuring a saved classifier on a labeled split: the stage behind `strata evaluate`.
public enum Evaluating {
    /// Predicts `images` (treated as the classifier's ``InputContract`` says) with the
    /// classifier at `path`, and writes `evaluation.txt/.json/.png` into `folder`
    /// (default: the classifier's folder).
    @discardableResult
    public static func run(classifier path: String, dataset: String?, split: DataCatalog.Split, limit: Int?, folder: String?,
                           log: StageLog = { print($0) }) throws -> ConfusionMatrix {
        let model = try Classifier.read(path)
        let contract = try InputContract(metadata: model.extra, path: path)
        let settings = try ImageSettings(contract: contract, dataset: dataset, split: split, limit: limit, what: path)
        let images = try settings.load()
        guard let labels = images.labels else { throw StrataError.invalidArgument(name: images.name, reason: "has no labels; evaluation needs them") }
        if let bad = labels.first(where: { $0 < 0 || $0 >= model.classNames.count }) {
            throw StrataError.invalidArgument(name: "\(images.name) labels", reason: "class \(bad) is not one of the classifier's \(model.classNames.count) classes")
        }
        let bar = ProgressBar(total: images.count, label: "evaluate")
        let predictions = try model.predict(images.examples) { bar.update($0) }
        bar.finish("\(images.count) examples")
        let confusion = try ConfusionMatrix(truth: labels, predictions: predictions, classNames: model.classNames)
        log(confusion.table)
        let out = folder ?? URL(fileURLWithPath: path).deletingLastPathComponent().path
        do { try confusion.write(to: out) } catch let error as StrataError { throw error } catch {
            throw StrataError.io(path: out, reason: "cannot write the evaluation: \(error.localizedDescription)")
        }
        log(String(format: "test accuracy %.2f%% (%d of %d)", 100 * confusion.accuracy, confusion.correct, confusion.total))
        log("evaluation: \(out)/evaluation.txt, \(out)/evaluation.json, \(out)/evaluation.png")
        return confusion
    }
}
