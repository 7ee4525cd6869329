import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

extension SoftmaxFineTuning {
    /// The soft targets of a distillation teacher (``Distillation``) for the
    /// student's training images: the classifier at `path` scores the same
    /// split, read and treated as its own ``InputContract`` says (so a teacher
    /// trained on other pixel scaling or on patches still sees what it knows),
    /// and its scores are softened at the configured temperature.
    static func softTargets(teacher path: String, settings s: Settings, student train: Dataset, classes: [String],
                            log: StageLog) throws -> Tensor {
        let teacher = try Classifier.read(path)
        guard teacher.classNames.count == classes.count else {
            throw StrataError.invalidArgument(name: "teacher", reason: "\(path) has \(teacher.classNames.count) classes; the student has \(classes.count)")
        }
        let contract = try InputContract(metadata: teacher.extra, path: path)
        let images = try ImageSettings(contract: contract, dataset: s.images.dataset, split: .train, limit: s.images.limit, what: path).load()
        guard images.count == train.count, images.labels == train.labels else {
            throw StrataError.invalidArgument(name: "teacher", reason: "\(path) reads \(images.name) as \(images.count) examples, not the student's \(train.count) of \(train.name)")
        }
        log("teacher \(path) (\(teacher.kind)): soft targets at temperature \(s.training.temperature), weight \(s.training.softWeight)")
        let bar = ProgressBar(total: images.count, label: "teacher")
        let scores = try teacher.scores(images.examples) { bar.update($0) }
        bar.finish("\(images.count) examples")
        return Distillation.softTargets(teacherScores: scores, areProbabilities: teacher.kind == "softmax", temperature: s.training.temperature)
    }
}
