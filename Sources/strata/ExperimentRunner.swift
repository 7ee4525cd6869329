import Foundation
import Strata

/// Runs an ``Experiment``: data, patches and preprocessing, greedy layer-wise
/// pretraining (each layer in `FOLDER/layerK`, the stack in `FOLDER/stack.safetensors`),
/// the pictures (`weights.png`, `monitor.png`), then fine-tuning and the
/// evaluation, and a `report.txt` listing what was made.
struct ExperimentRunner {
    var experiment: Experiment
    /// Tiny-run overrides (tests, smoke runs): fewer images, fewer epochs.
    var limit: Int?
    var maxEpochs: Int?
    var cores = 1
    var lines: [String] = []

    var folder: String { experiment.outputs.folder }

    /// What will happen, one line per stage.
    var plan: [String] {
        let e = experiment
        var steps = ["data: \(e.data.name) (pixel scale \(e.data.pixelScale)\(e.data.binarize ? ", binarized" : "")\((limit ?? e.data.limit).map { ", first \($0) images" } ?? ""))"]
        if let p = e.patches { steps.append("patches: \(p.count) random \(p.windowHeight)x\(p.windowWidth)") }
        steps.append("preprocessing: \(e.preprocessing.summary)")
        for (i, layer) in e.layers.enumerated() {
            let t = layer.training
            switch layer.learner {
            case .rbm(let c): steps.append("layer \(i + 1): \(c.visibleUnits == .gaussian ? "GRBM" : "RBM") \(c.hiddenCount) hidden, \(c.objective), batch \(t.batchSize), lr \(t.learningRate), up to \(maxEpochs ?? t.maxEpochs) epochs")
            case .autoencoder(let c): steps.append("layer \(i + 1): autoencoder \(c.hiddenCount) hidden (\(c.encoder.rawValue)/\(c.decoder.rawValue), \(c.loss.rawValue), corruption \(c.corruption)), batch \(t.batchSize), lr \(t.learningRate), up to \(maxEpochs ?? t.maxEpochs) epochs")
            }
        }
        switch e.finetune {
        case .softmax(let c, let compare)?: steps.append("fine-tune: softmax, lr \(c.learningRate), up to \(maxEpochs ?? c.maxEpochs) epochs\(compare ? ", and the same network without pretraining" : "")")
        case .svm(let s, let grid, let stride, let pooling, let encoding)?: steps.append("fine-tune: linear SVM (\(s.loss.rawValue), C \(grid.map { "from \($0)" } ?? "\(s.c)")) on convolutional features (\(encoding)), stride \(stride.0)x\(stride.1), \(pooling.operation.rawValue)-pooling over \(pooling.gridRows)x\(pooling.gridColumns)")
        case nil: break
        }
        steps.append("outputs: \(folder)")
        return steps
    }

    mutating func say(_ line: String) {
        print(line)
        lines.append(line)
    }

    mutating func run() throws {
        let start = Date()
        let e = experiment
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let treatment = PixelTreatment(scale: e.data.pixelScale, binarize: e.data.binarize)
        let images = try loadImages(e.data.name, split: .train, limit: limit ?? e.data.limit, treatment: treatment)
        let window = e.patches.map { (height: $0.windowHeight, width: $0.windowWidth) }
        let patchCount = e.patches.map { p in limit.map { min(p.count, $0 * 10) } ?? p.count } ?? 0
        let prepared = try PretrainingData(images: images, window: window, patchCount: patchCount, seed: 1,
                                           pipeline: e.preprocessing, metadata: treatment.metadata)
        var (x, pipeline, extra) = (prepared.examples, prepared.pipeline, prepared.metadata)
        say("\(x.rows) training examples of \(x.columns) values (\(e.patches == nil ? "images" : "patches") of \(images.name)), preprocessing \(pipeline.summary)")
        var stack = try LayerStack(preprocessing: pipeline, extra: extra)
        var firstCheckpoint: LearnerCheckpoint?
        var monitorRuns: [(String, MonitorLog)] = []
        for (i, layer) in e.layers.enumerated() {
            var training = layer.training
            if let maxEpochs { training.maxEpochs = min(training.maxEpochs, maxEpochs) }
            training.cores = cores
            var trainer = Trainer(configuration: training, folder: folder + "/layer\(i + 1)")
            try FileManager.default.createDirectory(atPath: trainer.folder, withIntermediateDirectories: true)
            if i == 0 { trainer.preprocessing = pipeline; trainer.extraMetadata = extra }
            let report: Trainer.Report, trained: any UnsupervisedLearner
            switch layer.learner {
            case .rbm(var c):
                c.visibleCount = x.columns
                var model = try RBM(c)
                report = try trainer.train(&model, data: x)
                trained = model
            case .autoencoder(var c):
                c.visibleCount = x.columns
                var model = try Autoencoder(c)
                report = try trainer.train(&model, data: x)
                trained = model
            }
            if i == 0 { firstCheckpoint = try LearnerCheckpoint.read(trainer.checkpointPath) }
            monitorRuns.append(("layer \(i + 1)", report.log))
            say(String(format: "layer %d (%d-%d): %d epochs, %.1f s, train_objective %.5g", i + 1, trained.visibleCount, trained.hiddenCount,
                       report.epochs, report.seconds, report.log.rows.last?["train_objective"] ?? .nan))
            stack = try stack.appending(trained)
            if i + 1 < e.layers.count { x = trained.transform(x, batchSize: 4096) }
        }
        x = Tensor(zeros: [0, 0])
        let stackPath = folder + "/stack.safetensors"
        try stack.write(to: stackPath)
        var outputs = [("stack", stackPath), ("layer 1 checkpoint", folder + "/layer1/model.safetensors")]
        if e.outputs.weights, let checkpoint = firstCheckpoint {
            let geometry = try WeightViewer.geometry(of: checkpoint)
            var grid = TileGrid()
            grid.scale = max(1, 32 / max(geometry.height, 1))
            try grid.render(try WeightViewer.tiles(checkpoint), geometry: geometry).write(to: folder + "/weights.png")
            outputs.append(("weights", folder + "/weights.png"))
            if checkpoint.preprocessing.steps.contains(where: { $0 is ZCA }) {
                try grid.render(try WeightViewer.tiles(checkpoint, unwhiten: true), geometry: geometry).write(to: folder + "/weights_unwhitened.png")
                outputs.append(("weights (unwhitened)", folder + "/weights_unwhitened.png"))
            }
        }
        if let finetune = e.finetune {
            outputs += try runFinetune(finetune, stack: stack, treatment: treatment, monitorRuns: &monitorRuns)
        }
        if e.outputs.monitor {
            try drawMonitor(monitorRuns)
            outputs.append(("monitor chart", folder + "/monitor.png"))
        }
        say(String(format: "done in %.1f s", Date().timeIntervalSince(start)))
        let width = outputs.map(\.0.count).max() ?? 0
        for (name, path) in outputs { say("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(path)") }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: folder + "/report.txt")
        print("report: \(folder)/report.txt")
    }

    mutating func drawMonitor(_ runs: [(String, MonitorLog)]) throws {
        var chart = LineChart(title: "\(experiment.name): monitor channels", xLabel: "epoch", yLabel: "value")
        for (name, log) in runs {
            let channels = (try? ChannelSelection.select(experiment.outputs.monitorChannels, from: log.channelNames)) ?? []
            for channel in channels {
                let points = log.rows.compactMap { row in row["epoch"].flatMap { ex in row[channel].map { (x: ex, y: $0) } } }
                if !points.isEmpty { chart.series.append(.init(label: "\(name): \(channel)", points: points)) }
            }
        }
        let values: [Double] = chart.series.flatMap { $0.points.map(\.y) }
        if let low = values.min(), let high = values.max(), low > 0 { chart.logarithmicY = high / low > 20 }
        try chart.write(to: folder + "/monitor.png")
    }

    mutating func runFinetune(_ finetune: Experiment.Finetune, stack: LayerStack, treatment: PixelTreatment,
                              monitorRuns: inout [(String, MonitorLog)]) throws -> [(String, String)] {
        let e = experiment
        let train = try loadImages(e.data.name, split: .train, limit: limit ?? e.data.limit, treatment: treatment)
        let test = try loadImages(e.data.name, split: .test, limit: (limit ?? e.data.limit).map { max(1, $0 / 6) }, treatment: treatment)
        let classNames = try Dataset.classNames(train: train, test: test)
        let validation = min(e.validation, train.count / 5)
        let labels = train.labels!
        switch finetune {
        case .softmax(var configuration, let compare):
            if let maxEpochs { configuration.maxEpochs = min(configuration.maxEpochs, maxEpochs) }
            var x = train.examples
            try stack.preprocessing.transform(&x)
            var results: [(String, String)] = []
            let variants: [(name: String, pretrained: Bool)] = compare ? [("finetune", true), ("no_pretraining", false)] : [("finetune", true)]
            for variant in variants {
                var network = variant.pretrained
                    ? try SoftmaxNetwork(hidden: stack.denseLayers, inputCount: x.columns, classes: classNames.count, seed: configuration.seed)
                    : try SoftmaxNetwork.randomlyInitialized(inputCount: x.columns, hiddenSizes: stack.layers.map(\.hiddenCount), classes: classNames.count, seed: configuration.seed)
                let tuner = FineTuner(configuration: configuration, folder: folder + "/" + variant.name)
                let (report, result) = try tuner.trainAndEvaluate(&network, x: x, labels: labels, validation: validation, test: test,
                                                                  preprocessing: stack.preprocessing, classNames: classNames, metadata: treatment.metadata)
                monitorRuns.append((variant.name.replacingOccurrences(of: "_", with: " "), report.log))
                say(String(format: "%@ %@: test accuracy %.2f%% (best validation error %.2f%% at epoch %d, %.1f s)", variant.pretrained ? "pretrained" : "without pretraining",
                           network.sizes, 100 * result.confusion.accuracy, 100 * report.bestValidationError, report.bestEpoch, report.seconds))
                results += [("\(variant.name) classifier", result.classifierPath), ("\(variant.name) evaluation", result.evaluationPath)]
            }
            return results
        case .svm(var settings, let grid, let stride, let pooling, let encoding):
            let extractor = try FeatureExtractor(stack: stack, images: train.geometry, stride: stride, pooling: pooling, encoding: encoding)
            say(extractor.summary)
            var trainX = try extractFeatures(extractor, of: train, label: "train features")
            var testX = try extractFeatures(extractor, of: test, label: "test features")
            if let grid {
                var lines: [String] = []
                settings.c = try LinearSVM.chooseC(trainX, labels: labels, classes: classNames.count, validation: validation, grid: grid, settings: settings) {
                    lines.append(String(format: "C %g: validation accuracy %.2f%%", $0.c, 100 * $0.validationAccuracy))
                    print(lines.last!)
                }
                self.lines += lines
            }
            let (_, _, result) = try LinearSVM.trainAndEvaluate(train: &trainX, labels: labels, test: &testX, testLabels: test.labels!, settings: settings,
                                                               extractor: extractor, classNames: classNames, metadata: treatment.metadata, folder: folder + "/svm")
            say(String(format: "linear SVM (C %g) on %d features: test accuracy %.2f%%", settings.c, trainX.columns, 100 * result.confusion.accuracy))
            return [("svm classifier", result.classifierPath), ("svm evaluation", result.evaluationPath)]
        }
    }
}
