import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataPictures

extension Experiment {
    /// `local_stages: {model_parallel: 2, stages: [{field: 6, stride: 2, maps: 8, pool: 3, lcn: 5, training: {...}}, ...], fine_tune: {...}}`:
    /// Le et al.'s stages on whole images (``HighLevelFeatures``), instead of `layers`.
    static func parseLocalStages(_ field: YAMLField, seed: UInt64) throws -> HighLevelFeatures.Settings {
        let s = try YAMLSettings(field, allowed: HighLevelFeatures.Settings.keys)
        var settings = HighLevelFeatures.Settings()
        try settings.read(from: s)
        let stages = try s.mapping.required("stages").list()
        guard !stages.isEmpty else { throw try s.mapping.required("stages").fail("needs at least one stage") }
        settings.stages = try stages.map { stage in
            let fields = try YAMLSettings(stage, allowed: LocalStageSettings.keys + ["training"])
            let training = try fields.field("training").map {
                try YAMLSettings($0, allowed: TrainingConfiguration.keys.filter { !["prop_decrease", "patience"].contains($0) },
                                 merged: ["early_stopping": (primary: "channel", keys: ["prop_decrease", "patience"])])
            }
            return try LocalStageSettings.read(from: fields, training: training ?? FlagSettings([:]), seed: seed)
        }
        if let tuning = s.field("fine_tune") {
            let fields = try YAMLSettings(tuning, allowed: HighLevelFeatures.fineTuneKeys)
            let (configuration, hidden, activation, pieces) = try HighLevelFeatures.readFineTune(from: fields)
            (settings.fineTune, settings.fineTuneHidden) = (configuration, (hidden, activation, pieces))
            if !fields.has("seed") { settings.fineTune!.seed = seed }
        }
        return settings
    }
}

extension ExperimentRun {
    /// An experiment of local stages (``Experiment/localStages``): the stages,
    /// their pictures, the single-unit test and the SVM, with `report.txt`.
    func runLocalStages(_ local: HighLevelFeatures.Settings, log: @escaping StageLog) throws -> Outcome {
        let start = Date()
        let lines = ReportLines()
        let say = lines.keeping(log)
        var s = local
        (s.images, s.validation, s.folder, s.resume, s.showProgress) = (experiment.images, experiment.validation, folder, resume, showProgress)
        let result = try HighLevelFeatures.run(s, compute: compute, log: say)
        var files = result.files.map { (name: URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent, path: $0) }
        let writes = (MPIWorld.current?.rank ?? 0) == 0
        if writes && experiment.outputs.monitor {
            files.append(try writeMonitorChart(result.logs.enumerated().map { ("stage \($0.offset + 1)", $0.element) }, say: say))
        }
        say(String(format: "done in %.1f s", Date().timeIntervalSince(start)))
        for (_, path) in files { say("  \(path)") }
        if writes {
            try lines.write(to: folder, log: log)
        }
        return Outcome(files: files, lines: lines.all, stack: try LayerStack(layers: result.stages), accuracies: ["svm": result.svmTestAccuracy, "fine_tune": result.fineTunedTestAccuracy].filter { !$0.value.isNaN })
    }

    /// The plan's lines for local stages.
    func localStagesPlan(_ local: HighLevelFeatures.Settings) -> [String] {
        var steps = ["data: \(experiment.images.dataset)\(experiment.images.limit.map { ", first \($0) images" } ?? ""), each image standardized"]
        for (i, stage) in local.stages.enumerated() { steps.append("stage \(i + 1): \(stage.summary)") }
        if local.modelParallel > 1 { steps.append("model parallel: each stage split \(local.modelParallel) ways by image rows (mpirun -np \(local.modelParallel) or a multiple)") }
        let svm = "a linear SVM on the top stage (C from \(local.cGrid.map { String(format: "%g", $0) }.joined(separator: ", ")))"
        let then = ["filters at their positions"] + (local.singleUnit ? ["the single-unit test (best pixel, random weights), top images, optimal stimuli"] : [])
            + (local.svm ? [svm] : [])
        let tuning = local.fineTune.map { c in
            let hidden = local.fineTuneHidden.sizes.isEmpty ? "" : "hidden layers \(local.fineTuneHidden.sizes.map(String.init).joined(separator: "-")) (\(local.fineTuneHidden.activation.rawValue)) and "
            let split = local.modelParallel > 1 ? ", the stages split as they trained" : ""
            return ["fine-tuning through the stages with \(hidden)a softmax layer (\(counted(c.maxEpochs, "epoch")) at most, lr \(c.learningRate)\(split))"]
        }
        steps.append("then: " + (then + (tuning ?? [])).joined(separator: ", "))
        steps.append("outputs: \(folder)")
        return steps
    }
}
