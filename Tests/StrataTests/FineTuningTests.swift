import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

/// Two Gaussian blobs per class in `dimensions` dimensions: a small labeled problem.
func blobs(classes: Int, perClass: Int, dimensions: Int, spread: Float = 0.3, seed: UInt64) -> (Tensor, [Int]) {
    var random = RandomSource(seed: seed)
    let centers = Tensor.uniform(shape: [classes, dimensions], low: -1, high: 1, using: &random)
    var x = Tensor(zeros: [classes * perClass, dimensions])
    var labels: [Int] = []
    for i in 0 ..< classes * perClass {
        let k = i % classes
        labels.append(k)
        for j in 0 ..< dimensions { x.scalars[i * dimensions + j] = centers[k, j] + spread * (2 * random.nextUnitFloat() - 1) }
    }
    return (x, labels)
}

/// Writes the first `trainRows` of `x` and their labels as `train.npy` in
/// `folder` and the rest as `test.npy`, each beside its labels file: the
/// feature files `strata finetune svm --train-features` reads.
func writeFeatureFiles(_ x: Tensor, labels: [Int], trainRows: Int, in folder: TemporaryFolder) throws {
    for (name, rows) in [("train.npy", 0 ..< trainRows), ("test.npy", trainRows ..< x.rows)] {
        try NPY.write(x.rows(rows), to: folder.file(name))
        try NPY.write(integers: Array(labels[rows]), to: FeatureExtraction.labelsPath(for: folder.file(name)))
    }
}

@Suite struct SoftmaxNetworkTests {
    @Test(arguments: [Activation.sigmoid, .tanh, .relu])
    func gradientsMatchFiniteDifferences(_ activation: Activation) throws {
        let check = GradientCheck(#function)
        var random = RandomSource(seed: 3)
        let hidden = [DenseLayer(weights: .uniform(shape: [5, 4], low: -0.8, high: 0.8, using: &random), bias: .uniform(shape: [4], low: -0.3, high: 0.3, using: &random), activation: activation),
                      DenseLayer(weights: .uniform(shape: [4, 3], low: -0.8, high: 0.8, using: &random), bias: .uniform(shape: [3], low: -0.3, high: 0.3, using: &random), activation: activation)]
        var network = try SoftmaxNetwork(hidden: hidden, inputCount: 5, classes: 3, irange: 0.8, seed: 4)
        let x = Tensor.uniform(shape: [6, 5], low: -1, high: 1, using: &random)
        let labels = [0, 1, 2, 2, 1, 0]
        var noise = RandomSource(seed: 1)
        let (_, grads) = network.gradients(x, labels: labels[...], random: &noise)
        func cost(_ n: SoftmaxNetwork) -> Double { n.evaluate(x, labels: labels).crossEntropy }
        for layer in 0 ... hidden.count {
            for index in [0, 3, 5] {
                let numeric = finiteDifference({ value in
                    var copy = network
                    if layer < hidden.count { copy.hidden[layer].weights.scalars[index] = value } else { copy.output.weights.scalars[index] = value }
                    return cost(copy)
                }, at: layer < hidden.count ? network.hidden[layer].weights.scalars[index] : network.output.weights.scalars[index], step: 1e-2)
                check.compare(numeric, grads[layer].weights.scalars[index], "\(activation) layer \(layer) weight \(index)")
            }
            let numeric = finiteDifference({ value in
                var copy = network
                if layer < hidden.count { copy.hidden[layer].bias.scalars[1] = value } else { copy.output.bias.scalars[1] = value }
                return cost(copy)
            }, at: layer < hidden.count ? network.hidden[layer].bias.scalars[1] : network.output.bias.scalars[1], step: 1e-2)
            check.compare(numeric, grads[layer].bias.scalars[1], "\(activation) layer \(layer) bias")
        }
        check.finish()
    }

    /// The step keeps its gradients, deltas and dropped activations in
    /// buffers from one step to the next: a step on a second batch (of
    /// another size too) gives exactly what a fresh network gives on it,
    /// for sigmoid, maxout and batch-normalized layers.
    @Test(arguments: [(Activation.sigmoid, false), (.maxout, false), (.relu, true)])
    func reusedStepBuffersCarryNothingOver(_ activation: Activation, _ batchNorm: Bool) throws {
        let (x, labels) = blobs(classes: 3, perClass: 30, dimensions: 12, spread: 0.6, seed: 6)
        var fresh = try SoftmaxNetwork.randomlyInitialized(inputCount: 12, hiddenSizes: [10, 7], activation: activation,
                                                           pieces: activation == .maxout ? 3 : 1, classes: 3, seed: 3)
        if batchNorm { fresh.enableBatchNormalization() }
        for rows in [40 ..< 80, 40 ..< 70] {
            var used = fresh, unused = fresh
            var noise = RandomSource(seed: 2)
            _ = used.gradients(x.rows(0 ..< 40), labels: labels[0 ..< 40], inputDropout: 0.2, hiddenDropout: 0.3, random: &noise)
            var (a, b) = (RandomSource(seed: 9), RandomSource(seed: 9))
            let second = used.gradients(x.rows(rows), labels: labels[rows], inputDropout: 0.2, hiddenDropout: 0.3, random: &a)
            let alone = unused.gradients(x.rows(rows), labels: labels[rows], inputDropout: 0.2, hiddenDropout: 0.3, random: &b)
            #expect(second.loss == alone.loss)
            for (g, h) in zip(second.gradients, alone.gradients) { #expect(g.weights == h.weights && g.bias == h.bias) }
        }
    }

    @Test func fineTuningLowersTheErrorAndKeepsTheBestEpoch() throws {
        let (x, labels) = blobs(classes: 3, perClass: 120, dimensions: 8, spread: 0.6, seed: 5)
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 8, hiddenSizes: [16], classes: 3, seed: 2)
        let before = network.evaluate(x.rows(300 ..< 360), labels: Array(labels[300...])).errorRate
        var configuration = FineTuningConfiguration()
        (configuration.maxEpochs, configuration.batchSize, configuration.learningRate, configuration.hiddenDropout) = (15, 20, 0.5, 0.1)
        let folder = TemporaryFolder()
        var tuner = FineTuner(configuration: configuration, folder: folder.path)
        tuner.showProgress = false
        let report = try tuner.train(&network, x: x.rows(0 ..< 300), labels: Array(labels[..<300]),
                                     validationX: x.rows(300 ..< 360), validationLabels: Array(labels[300...]))
        let after = network.evaluate(x.rows(300 ..< 360), labels: Array(labels[300...])).errorRate
        #expect(before > 0.3)
        #expect(after < 0.1)
        #expect(abs(after - report.bestValidationError) < 1e-9, "the network ends with the best epoch's weights")
        #expect(try MonitorLog.read(tuner.monitorPath).rows.count == report.epochs + 1)
    }

    @Test func labelsOutsideTheClassesAreRefused() throws {
        var network = try SoftmaxNetwork(hidden: [], inputCount: 2, classes: 2)
        let x = Tensor(zeros: [3, 2])
        var tuner = FineTuner(configuration: FineTuningConfiguration(), folder: TemporaryFolder().path)
        tuner.showProgress = false
        let error = strataError { try tuner.train(&network, x: x, labels: [0, 1, 2], validationX: x, validationLabels: [0, 1, 1]) }
        #expect(error?.description.contains("label 2") == true)
        let missing = strataError { try tuner.train(&network, x: x, labels: [0, 1], validationX: x, validationLabels: [0, 1, 1]) }
        #expect(missing?.description.contains("one per example") == true)
    }

    @Test func maxColumnNormLimitsEachUnit() {
        var w = Tensor(rows: 2, columns: 2, scalars: [3, 0.1, 4, 0.1])
        limitColumnNorms(&w, to: 1)
        #expect(abs(w[0, 0] - 0.6) < 1e-6 && abs(w[1, 0] - 0.8) < 1e-6)
        #expect(w[0, 1] == 0.1 && w[1, 1] == 0.1)
    }
}

@Suite struct LinearSVMTests {
    @Test func matchesTheClosedFormOnASymmetricProblem() throws {
        // x = -1 (class 0) and x = +1 (class 1); by symmetry b = 0 and the
        // squared-hinge primal 0.5 w^2 + 2 C (1 - w)^2 is minimized at w = 4C / (1 + 4C).
        let x = Tensor(rows: 2, columns: 1, scalars: [-1, 1])
        for c: Float in [0.1, 1] {
            let svm = try LinearSVM.train(x, labels: [0, 1], classes: 2, settings: .init(c: c, tolerance: 1e-5))
            let expected = 4 * c / (1 + 4 * c)
            #expect(abs(svm.weights[0, 1] - expected) < 1e-3, "C \(c): w \(svm.weights[0, 1]) vs \(expected)")
            #expect(abs(svm.bias.scalars[1]) < 1e-3)
            // Hinge loss: 0.5 w^2 + 2C(1 - w), minimized at w = min(2C, 1).
            let hinge = try LinearSVM.train(x, labels: [0, 1], classes: 2, settings: .init(c: c, loss: .hinge, tolerance: 1e-5))
            #expect(abs(hinge.weights[0, 1] - min(2 * c, 1)) < 1e-3)
        }
    }

    @Test func theSolutionIsAMinimumOfThePrimal() throws {
        let (x, labels) = blobs(classes: 3, perClass: 60, dimensions: 5, spread: 0.5, seed: 8)
        let settings = LinearSVM.Settings(c: 0.5, tolerance: 1e-4)
        let svm = try LinearSVM.train(x, labels: labels, classes: 3, settings: settings)
        let signs = labels.map { $0 == 1 ? Float(1) : -1 }
        var w = (0 ..< 5).map { svm.weights[$0, 1] } + [svm.bias.scalars[1]]
        let best = LinearSVM.primalObjective(x, signs: signs, w: w, settings: settings)
        #expect(abs(best - svm.objectives[1]) < 1e-6 * max(best, 1))
        for j in w.indices {
            for step: Float in [-0.01, 0.01] {
                w[j] += step
                #expect(LinearSVM.primalObjective(x, signs: signs, w: w, settings: settings) >= best - 1e-4)
                w[j] -= step
            }
        }
        let accuracy = Double(zip(try svm.predict(x), labels).filter { $0 == $1 }.count) / Double(labels.count)
        #expect(accuracy > 0.9)
    }

    /// Started from the dual variables of another C, the solver reaches the
    /// same optimum (the primal objective to the tolerance) in fewer passes.
    @Test func aWarmStartFromAnotherCReachesTheSameOptimumSooner() throws {
        let (x, labels) = blobs(classes: 3, perClass: 80, dimensions: 6, spread: 0.9, seed: 4)
        let small = try LinearSVM.train(x, labels: labels, classes: 3, settings: .init(c: 0.3, tolerance: 1e-3))
        #expect(small.dualVariables.count == 3 && small.dualVariables.allSatisfy { $0.count == 240 && $0.contains { $0 > 0 } })
        let settings = LinearSVM.Settings(c: 1, tolerance: 1e-3)
        let cold = try LinearSVM.train(x, labels: labels, classes: 3, settings: settings)
        let warm = try LinearSVM.train(x, labels: labels, classes: 3, settings: settings, warmStart: small.dualVariables)
        for k in 0 ..< 3 { #expect(abs(warm.objectives[k] - cold.objectives[k]) < 1e-3 * cold.objectives[k], "class \(k)") }
        #expect(warm.iterations.reduce(0, +) < cold.iterations.reduce(0, +), "\(warm.iterations) vs \(cold.iterations)")
        #expect(strataError { _ = try LinearSVM.train(x, labels: labels, classes: 3, settings: settings, warmStart: [[1, 2]]) } != nil)
    }

    /// A best C at the grid's edge extends the grid that way while it improves, and says so.
    @Test func theSearchForCGoesPastTheGridsEdge() throws {
        // One feature, the class boundary far from its mean: a small C cannot afford the bias it needs.
        let x = Tensor(shape: [300, 1], scalars: (0 ..< 300).map { Float(($0 * 37) % 300) / 300 })
        let labels = x.scalars.map { $0 > 0.85 ? 1 : 0 }
        var notes: [String] = [], tried: [Float] = [], accuracies: [Double] = []
        let up = try LinearSVM.chooseC(x, labels: labels, classes: 2, validation: 60, grid: [1e-3, 1e-2], settings: .init(tolerance: 1e-4),
                                       note: { notes.append($0) }, report: { tried.append($0.c); accuracies.append($0.validationAccuracy) })
        // 0.01 beats 0.001, so 0.1 is tried (better), then 1 (no better): the search stops at 0.1.
        #expect(up == 0.1 && tried == [1e-3, 1e-2, 1e-1, 1], "\(tried) \(accuracies)")
        #expect(notes.count == 2 && notes.allSatisfy { $0.contains("upper edge") }, "\(notes)")
        // Separable classes: every large C is perfect, so one step down finds nothing better and the first best stays.
        let (y, classes) = blobs(classes: 3, perClass: 60, dimensions: 5, spread: 0.2, seed: 8)
        notes = []
        let down = try LinearSVM.chooseC(y, labels: classes, classes: 3, validation: 45, grid: [100, 1000], settings: .init(tolerance: 1e-4),
                                         note: { notes.append($0) })
        #expect(down == 100 && notes.count == 1 && notes[0].contains("lower edge"), "\(down) \(notes)")
    }

    @Test func refusesAClassWithoutExamplesAndMismatchedFeatures() throws {
        let x = Tensor(rows: 3, columns: 2, scalars: [0, 1, 1, 0, 1, 1])
        #expect(strataError { _ = try LinearSVM.train(x, labels: [0, 0, 2], classes: 3, settings: .init()) }?.description.contains("class 1 has no training example") == true)
        let svm = try LinearSVM.train(x, labels: [0, 1, 1], classes: 2, settings: .init())
        #expect(strataError { _ = try svm.predict(Tensor(zeros: [2, 3])) } != nil)
    }
}

@Suite struct EvaluationTests {
    @Test func confusionMatrixCountsAndAccuracies() throws {
        let m = try ConfusionMatrix(truth: [0, 0, 1, 1, 2], predictions: [0, 1, 1, 1, 0], classNames: ["a", "b", "c"])
        #expect(m.counts == [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
        #expect(m.accuracy == 0.6)
        #expect(m.perClassAccuracy == [0.5, 1, 0])
        let folder = TemporaryFolder()
        try m.write(to: folder.path)
        let png = try PNGImage.read(folder.file("evaluation.png"))
        #expect(png.width > 3 * 44 && png.height > 3 * 44)
        // The fullest cell (b predicted as b, 2 of 2) is the darkest blue; an empty one stays white.
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { let o = (y * png.width + x) * png.channels; return Array(png.pixels[o ..< o + 3]) }
        let (right, bottom) = (png.width - 20, png.height - 20)       // the grid's lower-right corner
        let cell = 44
        #expect(pixel(right - 2 * cell + 6, bottom - 2 * cell + 6) == [25, 102, 217])  // row b, column b: share 1
        #expect(pixel(right - cell + 6, bottom - 2 * cell + 6) == [255, 255, 255])     // row b, column c: 0
        #expect(try String(contentsOfFile: folder.file("evaluation.txt"), encoding: .utf8).contains("accuracy 60.00%"))
    }

    @Test func aTestClassNeverSeenInTrainingIsRefused() throws {
        let train = try Dataset(name: "train", examples: Tensor(zeros: [3, 2]), labels: [0, 1, 0], classNames: ["a", "b", "c"])
        let test = try Dataset(name: "test", examples: Tensor(zeros: [2, 2]), labels: [2, 1])
        #expect(strataError { _ = try Dataset.classNames(train: train, test: test) }?.description.contains("class 2 (c) occurs in the test set but never in training") == true)
        let unlabeled = try Dataset(name: "raw", examples: Tensor(zeros: [2, 2]))
        #expect(strataError { _ = try Dataset.classNames(train: unlabeled, test: test) }?.description.contains("has no labels") == true)
    }
}
