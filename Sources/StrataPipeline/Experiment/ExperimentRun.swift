import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Runs an ``Experiment`` through the library's stages: the images (and
/// patches) with their preprocessing, greedy layer-wise pretraining (layer k
/// in `FOLDER/layerk`, the stack in `FOLDER/stack.safetensors`), the pictures
/// (`weights.png`, `monitor.png`), fine-tuning and its evaluation, and a
/// `report.txt` of every line logged. The stages are the ones the commands
/// call, so a file and the equivalent command lines give the same files.
public struct ExperimentRun {
    public var experiment: Experiment
    public var compute: Compute
    public var showProgress = true
    /// Continue the run in ``folder``: each stage that left its checkpoint
    /// there resumes from it (a finished stage is kept as it is, one stopped
    /// part-way goes on exactly); the others run from the start.
    public var resume = false

    public init(_ experiment: Experiment, compute: Compute) { (self.experiment, self.compute) = (experiment, compute) }

    public var folder: String { experiment.outputs.folder }

    /// A trial run: at most `limit` training images (and what follows from it:
    /// at most 10 x limit patches, limit / 6 test images, at most limit / 5
    /// held out) and at most `maxEpochs` per stage. Returns the changed
    /// experiment and one line per change, for the plan.
    public static func trial(_ original: Experiment, limit: Int?, maxEpochs: Int?) -> (Experiment, [String]) {
        var e = original, changes: [String] = []
        if let limit {
            e.images.limit = min(limit, original.images.limit ?? limit)
            changes.append("--limit \(limit): the first \(e.images.limit!) training images and \(e.images.testLimit!) test images")
            if let count = e.patches?.count, count > 10 * limit {
                e.patches!.count = 10 * limit
                changes.append("--limit \(limit): \(10 * limit) random patches instead of \(count)")
            }
            if let count = e.maps?.patches.count, count > 10 * limit {
                e.maps!.patches.count = 10 * limit
                changes.append("--limit \(limit): \(10 * limit) random windows of the maps instead of \(count)")
            }
            if e.finetune != nil, let requested = e.validation, requested > limit / 5 {
                e.validation = max(1, limit / 5)
                changes.append("--limit \(limit): \(e.validation!) held-out examples instead of \(requested)")
            }
            if case .depthStudy(var s)? = e.finetune {
                // Measure the target a few times an epoch, or a small trial never measures it.
                let held = e.validation ?? HeldOut.defaultCount(trainingExamples: e.images.limit!)
                let updatesPerEpoch = max(1, (e.images.limit! - held) / s.training.batchSize)
                if s.evaluateEvery > updatesPerEpoch / 2 {
                    changes.append("--limit \(limit): the target measured every \(max(1, updatesPerEpoch / 4)) updates instead of \(s.evaluateEvery) (an epoch makes \(updatesPerEpoch))")
                    s.evaluateEvery = max(1, updatesPerEpoch / 4)
                    e.finetune = .depthStudy(s)
                }
            }
        }
        if let maxEpochs {
            for i in e.layers.indices { e.layers[i].training.maxEpochs = min(e.layers[i].training.maxEpochs, maxEpochs) }
            for i in e.maps?.layers.indices ?? 0 ..< 0 { e.maps!.layers[i].training.maxEpochs = min(e.maps!.layers[i].training.maxEpochs, maxEpochs) }
            if let epochs = e.localStages?.fineTune?.maxEpochs { e.localStages!.fineTune!.maxEpochs = min(epochs, maxEpochs) }
            for i in e.localStages?.stages.indices ?? 0 ..< 0 {
                e.localStages!.stages[i].training.maxEpochs = min(e.localStages!.stages[i].training.maxEpochs, maxEpochs)
            }
            if case .softmax(var c, let compare)? = e.finetune {
                (c.maxEpochs, c.minUpdates) = (min(c.maxEpochs, maxEpochs), 0) // no minimum of updates raises the limit again
                e.finetune = .softmax(c, compareWithoutPretraining: compare)
            }
            if case .depthStudy(var s)? = e.finetune {
                s.training.maxEpochs = min(s.training.maxEpochs, maxEpochs)
                e.finetune = .depthStudy(s)
            }
            changes.append("--max-epochs \(maxEpochs): at most \(counted(maxEpochs, "epoch")) per stage")
        }
        return (e, changes)
    }

    /// The hold-out as the plan says it: the number set, or the default's rule.
    func heldOut(_ e: Experiment) -> String {
        e.validation.map(String.init) ?? "\(HeldOut.defaultCount) (a fifth of a smaller set)"
    }

    /// What will happen, one line per stage.
    public var plan: [String] {
        let e = experiment
        if let local = e.localStages { return localStagesPlan(local) }
        var steps = ["data: \(e.images.dataset) (pixel scale \(e.images.pixelScale)\(e.images.binarize ? ", binarized" : "")\(e.images.limit.map { ", first \($0) images" } ?? ""))"]
        if let p = e.patches { steps.append("patches: \(p.count) random \(p.window), seed \(e.seed)") }
        steps.append("preprocessing: \(e.preprocessing.summary)")
        for (i, layer) in e.layers.enumerated() { steps.append("layer \(i + 1): \(layer.summary)") }
        if case .random(let hidden, let activation, _)? = e.network {
            steps.append("no pretraining: a network of hidden layers \(hidden.map(String.init).joined(separator: "-")) (\(activation.rawValue)) from a random start")
        }
        if let m = e.maps {
            steps.append("maps: the stack's features \(m.features.encoding), \(m.features.pooling.operation.rawValue)-pooled over \(m.features.pooling.gridRows)x\(m.features.pooling.gridColumns), as images; \(m.patches.count) random \(m.patches.window) windows, preprocessing \(m.preprocessing.summary)")
            for (i, layer) in m.layers.enumerated() { steps.append("maps layer \(i + 1): \(layer.summary)") }
        }
        switch e.finetune {
        case .softmax(let c, let compare)?:
            steps.append("fine-tune: softmax, lr \(c.learningRate), up to \(counted(c.maxEpochs, "epoch")), \(heldOut(e)) held out\(compare ? ", and the same network without pretraining" : "")")
        case .svm(let s, let grid, _, let f)?:
            steps.append("fine-tune: linear SVM (\(s.loss.rawValue), C \(grid.map { "from \($0)" } ?? "\(s.c)"), \(heldOut(e)) held out) on features (\(f.encoding)), stride \(f.stride), \(f.pooling.operation.rawValue)-pooling over \(f.pooling.gridRows)x\(f.pooling.gridColumns)"
                + (f.lowerPool.map { ", with the maps pooled over \($0.gridRows)x\($0.gridColumns)" } ?? ""))
        case .depthStudy(let s)?:
            steps.append("depth study: \(s.variants.map(\.description).joined(separator: ", ")) at depths 1-\(e.layers.count), \(s.training.maxEpochs) epochs each, "
                + String(format: "updates to %.0f%% validation accuracy measured every %d, %@ held out", 100 * s.targetAccuracy, s.evaluateEvery, heldOut(e)))
        case nil: break
        }
        steps.append("outputs: \(folder)")
        return steps
    }

    /// The files an experiment made, by name, and every line it logged.
    public struct Outcome: Sendable {
        public var files: [(name: String, path: String)]
        public var lines: [String]
        public var stack: LayerStack
        /// Test accuracy of each classifier, by run name (`finetune`, `no_pretraining`, `svm`).
        public var accuracies: [String: Double]
    }

    /// Runs every stage; `log` sees each line (they also go to `report.txt`).
    public func run(log: @escaping StageLog = { print($0) }) throws -> Outcome {
        if let network = experiment.network { return try runWithoutPretraining(network, log: log) }
        if let local = experiment.localStages {
            compute.apply()
            return try runLocalStages(local, log: log)
        }
        let start = Date()
        let e = experiment
        compute.apply()
        let lines = ReportLines()
        let say = lines.keeping(log)
        try AtomicFile.makeFolder(folder)
        var data = try Pretraining.prepare(.images(e.images, patches: e.patches), preprocessing: e.preprocessing, patchSeed: e.seed)
        say("\(data.examples.rows) training examples of \(data.examples.columns) values: \(data.summary)")
        var monitorRuns: [(name: String, log: MonitorLog)] = []
        let (stack, firstSeconds) = try trainChain(e.layers, on: data, in: folder, label: "layer", monitorRuns: &monitorRuns, say: say)
        var layerSeconds = firstSeconds
        data.examples = .memory(Tensor(zeros: [0, 0]))
        let stackPath = folder + "/stack.safetensors"
        try stack.write(to: stackPath)
        var top = (stack: stack, path: stackPath)
        if let m = e.maps {
            let mapsData = try Pretraining.prepare(.maps(path: stackPath, features: m.features, dataset: nil, limit: e.images.limit, patches: m.patches),
                                                   preprocessing: m.preprocessing, patchSeed: e.seed)
            say(mapsData.summary)
            let (mapsStack, seconds) = try trainChain(m.layers, on: mapsData, in: folder + "/maps", label: "maps layer", monitorRuns: &monitorRuns, say: say)
            layerSeconds += seconds
            top = (mapsStack, folder + "/maps/stack.safetensors")
            try mapsStack.write(to: top.path)
        }
        var files: [(name: String, path: String)] = [("stack", stackPath), ("layer 1 checkpoint", folder + "/layer1/model.safetensors")]
            + (e.maps == nil ? [] : [("stack on the maps", top.path)])
        if e.outputs.weights { files += try writeWeights(of: stack, epochs: monitorRuns.first?.log.rows.last?["epoch"] ?? 0) }
        var accuracies: [String: Double] = [:]
        switch e.finetune {
        case .softmax(let configuration, let compare)?:
            files += try fineTuneSoftmax(configuration, compare: compare, stack: stack, top: top, monitorRuns: &monitorRuns, accuracies: &accuracies, say: say)
        case .svm(let svm, let grid, let stdEps, let features)?:
            var s = SVMFineTuning.Settings(features: .stack(top.stack, name: top.path, features), images: try supervisedImages(top))
            (s.validation, s.svm, s.cGrid, s.stdEps, s.folder, s.resume) = (e.validation, svm, grid, stdEps, folder + "/svm", resume)
            s.labelsPerClass = e.labelsPerClass
            let result = try SVMFineTuning.run(s, compute: compute, log: say)
            accuracies["svm"] = result.evaluation.confusion.accuracy
            files += [("svm classifier", result.evaluation.classifierPath), ("svm evaluation", result.evaluation.evaluationPath)]
        case .depthStudy(let settings)?:
            let rows = try DepthStudy.run(settings, stack: stack, stackPath: stackPath, images: e.images, validation: e.validation,
                                          pretrainingSeconds: layerSeconds, folder: folder + "/depth", compute: compute, showProgress: showProgress, log: say)
            for row in rows where row.depth == stack.layers.count { accuracies["\(row.variant)-\(row.depth)"] = row.testAccuracy }
            files += try DepthStudy.write(rows, targetAccuracy: settings.targetAccuracy, title: "\(e.name): updates to the target by depth", to: folder)
            if let why = DepthStudy.noChartReason(rows, targetAccuracy: settings.targetAccuracy, evaluateEvery: settings.evaluateEvery) { say(why) }
            say(DepthStudy.table(rows, targetAccuracy: settings.targetAccuracy))
        case nil: break
        }
        if e.outputs.monitor { files.append(try writeMonitorChart(monitorRuns, say: say)) }
        say(String(format: "done in %.1f s", Date().timeIntervalSince(start)))
        let width = files.map(\.name.count).max() ?? 0
        for (name, path) in files { say("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(path)") }
        try lines.write(to: folder, log: log)
        return Outcome(files: files, lines: lines.all, stack: top.stack, accuracies: accuracies)
    }

    /// The stack's filters as tiles (`weights.png`, and unwhitened beside it
    /// after ZCA), and beside layer 1's scalars in TensorBoard at `epochs`.
    private func writeWeights(of stack: LayerStack, epochs: Double) throws -> [(name: String, path: String)] {
        var files: [(name: String, path: String)] = []
        try Pictures.weights(of: stack, to: folder + "/weights.png")
        files.append(("weights", folder + "/weights.png"))
        if stack.preprocessing.steps.contains(where: { $0 is ZCA }) {
            var unwhitened = Pictures.WeightSettings()
            unwhitened.unwhiten = true
            try Pictures.weights(of: stack, to: folder + "/weights_unwhitened.png", settings: unwhitened)
            files.append(("weights (unwhitened)", folder + "/weights_unwhitened.png"))
        }
        // The filters beside layer 1's scalars in TensorBoard, at its last epoch.
        try TensorBoardEvents(folder: folder + "/layer1", suffix: ".weights")
            .appendImage(png: try Data(contentsOf: URL(fileURLWithPath: folder + "/weights.png")), tag: "weights", step: Int(epochs))
        return files
    }

    /// The images the fine-tuning stage reads: the experiment's, or with
    /// `self_taught` another dataset's, through the contract of the stack `top`.
    private func supervisedImages(_ top: (stack: LayerStack, path: String)) throws -> ImageSettings {
        guard let other = experiment.selfTaught else { return experiment.images }
        return try ImageSettings(contract: InputContract(metadata: top.stack.extra, path: top.path), dataset: other, split: .train,
                                 limit: experiment.images.limit, what: top.path, selfTaught: true)
    }

    /// Fine-tunes the pretrained network (and, with `compare`, the same one
    /// without pretraining, side by side), saying each one's test accuracy.
    private func fineTuneSoftmax(_ configuration: FineTuningConfiguration, compare: Bool, stack: LayerStack, top: (stack: LayerStack, path: String),
                                 monitorRuns: inout [(name: String, log: MonitorLog)], accuracies: inout [String: Double],
                                 say: StageLog) throws -> [(name: String, path: String)] {
        let e = experiment
        var files: [(name: String, path: String)] = []
        let variants: [(name: String, network: SoftmaxFineTuning.Network)] = [("finetune", .pretrained(top.stack, name: top.path))]
            + (compare ? [("no_pretraining", .random(hidden: stack.layers.map(\.hiddenCount), activation: .sigmoid))] : [])
        let images = try supervisedImages(top)
        let labeled = try images.loadLabeled()
        let runs = variants.map { variant in
            var s = SoftmaxFineTuning.Settings(network: variant.network, images: images)
            (s.validation, s.training, s.folder, s.preprocessing) = (e.validation, configuration, folder + "/" + variant.name, stack.preprocessing)
            s.labelsPerClass = e.labelsPerClass
            s.resume = resume && FileManager.default.fileExists(atPath: s.folder + "/finetune.safetensors")
            if variants.count > 1 { s.progressLabel = variant.name }
            return s
        }
        if let share = SoftmaxFineTuning.coresEach(runs: runs.count, compute: compute) {
            say("fine-tuning \(variants.map(\.name).joined(separator: " and ")) side by side, \(share) core\(share == 1 ? "" : "s") each")
        }
        let results = try SoftmaxFineTuning.runSideBySide(runs, loaded: labeled, compute: compute, showProgress: showProgress, log: { _ in })
        for (variant, result) in zip(variants, results) {
            monitorRuns.append((variant.name.replacingOccurrences(of: "_", with: " "), result.report.log))
            accuracies[variant.name] = result.evaluation.confusion.accuracy
            say(String(format: "%@ %@: test accuracy %.2f%% (best validation error %.2f%% at epoch %d, %.1f s)", variant.name == "finetune" ? "pretrained" : "without pretraining",
                       result.network.sizes, 100 * result.evaluation.confusion.accuracy, 100 * result.report.bestValidationError, result.report.bestEpoch, result.report.seconds))
            files += [("\(variant.name) classifier", result.evaluation.classifierPath), ("\(variant.name) evaluation", result.evaluation.evaluationPath)]
        }
        return files
    }

    /// `monitor.png`: every run's chosen channels, on a log scale when they span over 20x.
    func writeMonitorChart(_ monitorRuns: [(name: String, log: MonitorLog)], say: StageLog) throws -> (name: String, path: String) {
        let e = experiment
        var (chart, _, missing) = try Pictures.monitorChart(monitorRuns, selection: e.outputs.monitorChannels, title: "\(e.name): monitor channels")
        if !missing.isEmpty { say("monitor chart: no run has \(missing.joined(separator: ", ")); drawn: \(chart.series.map(\.label).joined(separator: ", "))") }
        let values = chart.series.flatMap { $0.points.map(\.y) }
        if let low = values.min(), let high = values.max(), low > 0 { chart.logarithmicY = high / low > 20 }
        try chart.write(to: folder + "/monitor.png")
        return ("monitor chart", folder + "/monitor.png")
    }

    /// Trains `layers` greedily on `data` (layer k in `folder/layerk`, each
    /// on the features of the ones below), logging one line per layer; returns the stack and each layer's seconds.
    private func trainChain(_ layers: [LayerSettings], on prepared: Pretraining.PreparedData, in folder: String, label: String,
                            monitorRuns: inout [(name: String, log: MonitorLog)], say: StageLog) throws -> (LayerStack, [Double]) {
        var data = prepared
        var stack = data.base
        var seconds: [Double] = []
        for (i, layer) in layers.enumerated() {
            let layerFolder = folder + "/layer\(i + 1)"
            let resumeLayer = resume && FileManager.default.fileExists(atPath: layerFolder + "/model.safetensors")
            let result = try Pretraining.trainLayer(layer, on: data, folder: layerFolder, resume: resumeLayer, compute: compute, showProgress: showProgress, log: { _ in })
            stack = result.stack
            monitorRuns.append(("\(label) \(i + 1)", result.report.log))
            seconds.append(result.report.seconds)
            say("\(label) \(i + 1) (\(result.learner.visibleCount)-\(result.learner.hiddenCount)): \(counted(result.report.epochs, "epoch"))"
                + String(format: ", %.1f s, train_objective %.5g", result.report.seconds, result.report.log.rows.last?["train_objective"] ?? .nan))
            if i + 1 < layers.count {
                var contract = data.contract
                contract.through = "layers 1-\(i + 1) (\(stack.sizes))"
                data = Pretraining.PreparedData(examples: .memory(result.learner.transform(try data.examples.inMemory(), batchSize: 4096)), contract: contract, base: stack,
                                                summary: "layer \(i + 1)'s features")
            }
        }
        return (stack, seconds)
    }
}
