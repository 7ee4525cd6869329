import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures

extension HighLevelFeatures {
    /// A linear SVM on the top stage's features (standardized), C chosen on
    /// held-out training examples; its test accuracy. Collective (every part
    /// trains: the ranks share the classes). With `classifier` (the first
    /// part's whole stages, the images' contract and class names), it is saved
    /// as `svm/classifier.safetensors` beside its test evaluation, which
    /// `strata evaluate`, `predict` and `export` read, as every SVM run's.
    static func svm(train: Tensor, labels: [Int], test: Tensor, testLabels: [Int], classNames: [String], _ s: Settings,
                    classifier: (stages: [LocalFeatureStage], data: Prepared, contract: InputContract)?, log: StageLog) throws -> Double {
        let validation = try HeldOut.count(s.validation, trainingExamples: train.rows, log: log)
        var settings = LinearSVM.Settings()
        settings.c = try LinearSVM.chooseC(train, labels: labels, classes: classNames.count, validation: validation, grid: s.cGrid, settings: settings, note: log,
                                           report: { log(String(format: "SVM: C %-6g validation accuracy %.2f%%", $0.c, 100 * $0.validationAccuracy)) })
        var (fit, evaluated) = (train, test)
        let (svm, standardize, _) = try LinearSVM.trainStandardized(train: &fit, labels: labels, test: &evaluated, classes: classNames.count, settings: settings)
        let predicted = try svm.predict(evaluated)
        let accuracy = try ConfusionMatrix(truth: testLabels, predictions: predicted, classNames: classNames).accuracy
        log(String(format: "SVM on the top stage's %d features (C %g): test accuracy %.2f%%", train.columns, settings.c, 100 * accuracy))
        guard let classifier else { return accuracy }
        let stack = try LayerStack(layers: classifier.stages, preprocessing: imagePreprocessing(classifier.data.originalGeometry),
                                   extra: classifier.contract.metadata)
        let saved = Classifier(head: .svm(svm), extractor: try FeatureExtractor(stack: stack), preprocessing: standardize,
                               classNames: classNames, extra: classifier.contract.metadata)
        _ = try EvaluatedClassifier.save(saved, predictions: predicted, testLabels: testLabels, folder: s.folder + "/svm", numbers: ["c": Double(settings.c)])
        log("classifier: \(s.folder)/svm/classifier.safetensors (strata evaluate, predict and export read it)")
        return accuracy
    }

    /// Stage filters at their positions: grid row = filter row, and side by
    /// side one block of `filterColumns` tiles per map (the first 16 maps).
    /// Each tile is one unit's weights, `field x field`, its input channels side by side.
    static func drawFilters(_ stage: LocalFeatureStage, to path: String) throws -> String {
        var g = stage.geometry
        let (f, c, allMaps) = (g.field, g.channels, g.maps)
        g.maps = min(g.maps, 16)
        let tileGeometry = ImageGeometry(height: f, width: f * c, channels: 1, layout: .planar)
        var tiles = Tensor(zeros: [g.positions * g.maps, f * f * c])
        let tied = stage.configuration.tied
        tiles.withUnsafeMutableBufferPointer { out in
            stage.encoder.withUnsafeBufferPointer { w in
                for py in 0 ..< g.filterRows {
                    for k in 0 ..< g.maps {
                        for px in 0 ..< g.filterColumns {
                            let tile = (py * g.maps + k) * g.filterColumns + px, weights = (tied ? 0 : py * g.filterColumns + px) * g.fieldSize * allMaps
                            for dy in 0 ..< f { for dx in 0 ..< f { for ch in 0 ..< c {
                                out[tile * f * f * c + dy * f * c + ch * f + dx] = w[weights + ((dy * f + dx) * c + ch) * allMaps + k]
                            } } }
                        }
                    }
                }
            }
        }
        var grid = TileGrid(rescale: .individual)
        (grid.gridShape, grid.padding, grid.scale) = ((g.filterRows, g.maps * g.filterColumns), 1, max(1, 24 / (f * c)))
        try grid.render(tiles, geometry: tileGeometry).write(to: path)
        return path
    }

    /// The single-unit test with its controls, the best units' top test
    /// images and optimal stimuli, `single_unit.md`; fills `result`.
    static func singleUnitStudy(_ result: inout Result, features: (train: Tensor, test: Tensor), data: Prepared, _ s: Settings, log: StageLog) throws {
        let choose = min(features.train.rows, 10_000), classes = data.classNames.count
        let labels = Array(data.trainLabels[..<choose])
        func test(_ train: Tensor, _ test: Tensor) -> [SingleUnitTest.Best] {
            SingleUnitTest.run(train: train.rows(0 ..< choose), trainLabels: labels, test: test, testLabels: data.testLabels, classes: classes)
        }
        log("single-unit test: each class's best unit chosen on \(choose) training images, balanced accuracy on \(data.testLabels.count) test images ...")
        result.units = test(features.train, features.test)
        result.pixels = test(data.train, data.test)
        // The paper's second control: the same network, its weights left random.
        var (randomTrain, randomTest) = (data.train.rows(0 ..< choose), data.test)
        for stage in result.stages {
            let untrained = try LocalFeatureStage(stage.configuration)
            (randomTrain, randomTest) = (untrained.transform(randomTrain, batchSize: 1000), untrained.transform(randomTest, batchSize: 1000))
        }
        result.random = test(randomTrain, randomTest)
        var table = ["| class | best unit | its accuracy | best pixel | best unit of random weights |", "|---|---|---|---|---|"]
        for c in 0 ..< classes {
            table.append(String(format: "| %@ | %d | %.1f%% | %.1f%% | %.1f%% |", data.classNames[c], result.units[c].unit, 100 * result.units[c].testAccuracy,
                                100 * result.pixels[c].testAccuracy, 100 * result.random[c].testAccuracy))
        }
        let mean = { (b: [SingleUnitTest.Best]) in 100 * b.map(\.testAccuracy).reduce(0, +) / Double(max(1, b.count)) }
        table.append(String(format: "| mean | | %.1f%% | %.1f%% | %.1f%% |", mean(result.units), mean(result.pixels), mean(result.random)))
        table.forEach(log)
        try AtomicFile.write(Data((table.joined(separator: "\n") + "\n").utf8), to: s.folder + "/single_unit.md")
        result.files.append(s.folder + "/single_unit.md")
        result.files.append(try drawTopImages(result.units, features: features.test, data: data, to: s.folder + "/top_images.png"))
        if s.stimulusSteps > 0 {
            result.files.append(try drawStimuli(result.units, stages: result.stages, data: data, steps: s.stimulusSteps, to: s.folder + "/optimal_stimuli.png"))
        }
    }

    /// For each class (a row), the 12 test images that most excite its best unit (least, when the class lies below the threshold).
    static func drawTopImages(_ units: [SingleUnitTest.Best], features: Tensor, data: Prepared, to path: String) throws -> String {
        let count = 12
        var rows: [Int] = []
        for best in units {
            let order = (0 ..< features.rows).sorted { (features[$0, best.unit] > features[$1, best.unit]) == best.above }
            rows += order.prefix(count)
        }
        var grid = TileGrid(rescale: .individual)
        (grid.gridShape, grid.scale) = ((units.count, count), 2)
        try grid.render(data.originalTest.gatherRows(rows), geometry: data.originalGeometry).write(to: path)
        return path
    }

    /// Each best unit's optimal stimulus, one per class side by side.
    static func drawStimuli(_ units: [SingleUnitTest.Best], stages: [LocalFeatureStage], data: Prepared, steps: Int, to path: String) throws -> String {
        var tiles = Tensor(zeros: [units.count, data.geometry.size])
        for (c, best) in units.enumerated() {
            let stimulus = try OptimalStimulus.find(stages: stages, unit: best.unit, maximize: best.above, steps: steps, seed: UInt64(c + 1))
            for j in 0 ..< data.geometry.size { tiles[c, j] = stimulus.input.scalars[j] }
        }
        var grid = TileGrid(rescale: .individual)
        (grid.gridShape, grid.scale) = ((1, units.count), 3)
        try grid.render(tiles, geometry: data.geometry).write(to: path)
        return path
    }
}
