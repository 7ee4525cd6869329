import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures
import StrataPictures

extension ExperimentRun {
    /// An experiment without layers: its softmax stage's network trained from
    /// a random start (``Experiment/network``) on the images, with the
    /// stage's settings (batch norm, Adam, augmentation, few labels), in
    /// `FOLDER/finetune`, with `monitor.png` and `report.txt`: the baseline a
    /// pretrained pipeline is compared with, run the same way.
    func runWithoutPretraining(_ network: SoftmaxFineTuning.Network, log: @escaping StageLog) throws -> Outcome {
        let start = Date()
        let e = experiment
        guard case .softmax(let configuration, _)? = e.finetune else {
            throw StrataError.invalidArgument(name: "finetune", reason: "a network from a random start is trained by a softmax stage")
        }
        let lines = ReportLines()
        let say = lines.keeping(log)
        try AtomicFile.makeFolder(folder)
        var s = SoftmaxFineTuning.Settings(network: network, images: e.images)
        (s.validation, s.training, s.folder, s.labelsPerClass) = (e.validation, configuration, folder + "/finetune", e.labelsPerClass)
        s.resume = resume && FileManager.default.fileExists(atPath: s.folder + "/finetune.safetensors")
        let result = try SoftmaxFineTuning.run(s, compute: compute, showProgress: showProgress, log: say)
        say(String(format: "without pretraining %@: test accuracy %.2f%% (best validation error %.2f%% at epoch %d, %.1f s)", result.network.sizes,
                   100 * result.evaluation.confusion.accuracy, 100 * result.report.bestValidationError, result.report.bestEpoch, result.report.seconds))
        var files: [(name: String, path: String)] = [("finetune classifier", result.evaluation.classifierPath), ("finetune evaluation", result.evaluation.evaluationPath)]
        if e.outputs.monitor { files.append(try writeMonitorChart([("finetune", result.report.log)], say: say)) }
        say(String(format: "done in %.1f s", Date().timeIntervalSince(start)))
        for (name, path) in files { say("\(name)  \(path)") }
        try lines.write(to: folder, log: log)
        return Outcome(files: files, lines: lines.all, stack: try LayerStack(), accuracies: ["finetune": result.evaluation.confusion.accuracy])
    }
}
