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

@Suite struct MaxoutTests {
    /// A 5-(4 units x 3 pieces)-(3 units x 2 pieces)-3 maxout network.
    func network(batchNorm: Bool, random: inout RandomSource) throws -> SoftmaxNetwork {
        let hidden = [DenseLayer(weights: .uniform(shape: [5, 12], low: -0.8, high: 0.8, using: &random), bias: .uniform(shape: [12], low: -0.3, high: 0.3, using: &random),
                                 activation: .maxout, pieces: 3),
                      DenseLayer(weights: .uniform(shape: [4, 6], low: -0.8, high: 0.8, using: &random), bias: .uniform(shape: [6], low: -0.3, high: 0.3, using: &random),
                                 activation: .maxout, pieces: 2)]
        var network = try SoftmaxNetwork(hidden: hidden, inputCount: 5, classes: 3, irange: 0.8, seed: 4)
        if batchNorm {
            network.enableBatchNormalization()
            for l in 0 ..< 2 {
                network.normalizations[l]!.gamma = .uniform(shape: [hidden[l].weights.columns], low: 0.5, high: 1.5, using: &random)
                network.normalizations[l]!.beta = .uniform(shape: [hidden[l].weights.columns], low: -0.5, high: 0.5, using: &random)
            }
        }
        return network
    }

    /// Each unit is the largest of its adjacent pieces, computed by hand.
    @Test func eachUnitIsTheLargestOfItsPieces() throws {
        var random = RandomSource(seed: 2)
        let layer = DenseLayer(weights: .uniform(shape: [4, 6], low: -1, high: 1, using: &random), bias: .uniform(shape: [6], low: -1, high: 1, using: &random),
                               activation: .maxout, pieces: 3)
        #expect(layer.outputCount == 2)
        let x = Tensor.uniform(shape: [5, 4], low: -1, high: 1, using: &random)
        var z = x.matmul(layer.weights)
        z.addToEachRow(layer.bias)
        let h = layer.forward(x)
        #expect(h.shape == [5, 2])
        for i in 0 ..< 5 {
            for u in 0 ..< 2 { #expect(h[i, u] == max(z[i, 3 * u], z[i, 3 * u + 1], z[i, 3 * u + 2])) }
        }
    }

    /// The backward pass (gradient to the winning piece only) against finite
    /// differences of the loss, with and without batch normalization of the
    /// pieces, and with dropout (the same masks in every evaluation).
    @Test(arguments: [(false, Float(0)), (true, Float(0)), (false, Float(0.3)), (true, Float(0.3))])
    func gradientsMatchFiniteDifferences(_ batchNorm: Bool, _ dropout: Float) throws {
        let check = GradientCheck(#function)
        var random = RandomSource(seed: 6)
        var network = try network(batchNorm: batchNorm, random: &random)
        let x = Tensor.uniform(shape: [7, 5], low: -1, high: 1, using: &random)
        let labels = [0, 1, 2, 2, 1, 0, 1]
        func cost(_ n: SoftmaxNetwork) -> Double {
            var copy = n, r = RandomSource(seed: 1)
            return copy.gradients(x, labels: labels[...], hiddenDropout: dropout, random: &r).loss
        }
        // One piece far below its unit's others: it never wins.
        if !batchNorm { network.hidden[0].bias.scalars[10] = -5 }
        var noise = RandomSource(seed: 1)
        let (_, grads) = network.gradients(x, labels: labels[...], hiddenDropout: dropout, random: &noise)
        let what = "batch norm \(batchNorm), dropout \(dropout)"
        for layer in 0 ... 2 {
            for index in [0, 3, 5, 7, 11] where index < (layer < 2 ? network.hidden[layer] : network.output).weights.count {
                let numeric = finiteDifference({ value in
                    var copy = network
                    if layer < 2 { copy.hidden[layer].weights.scalars[index] = value } else { copy.output.weights.scalars[index] = value }
                    return cost(copy)
                }, at: layer < 2 ? network.hidden[layer].weights.scalars[index] : network.output.weights.scalars[index], step: 1e-3)
                check.compare(numeric, grads[layer].weights.scalars[index], "\(what): layer \(layer) weight \(index)")
            }
            if layer < 2 && !batchNorm {
                for index in [1, 4] {
                    let numeric = finiteDifference({ value in
                        var copy = network
                        copy.hidden[layer].bias.scalars[index] = value
                        return cost(copy)
                    }, at: network.hidden[layer].bias.scalars[index], step: 1e-3)
                    check.compare(numeric, grads[layer].bias.scalars[index], "\(what): layer \(layer) bias \(index)")
                }
            }
        }
        // A piece that wins for no example of the batch gets exactly no gradient.
        if !batchNorm {
            var z = x.matmul(network.hidden[0].weights)
            z.addToEachRow(network.hidden[0].bias)
            var winning = Set<Int>()
            for i in 0 ..< 7 {
                for u in 0 ..< 4 { winning.insert((3 * u ..< 3 * u + 3).max { z[i, $0] < z[i, $1] }!) }
            }
            #expect(!winning.contains(10), "piece 10 should never win")
            for c in 0 ..< 12 where !winning.contains(c) {
                #expect((0 ..< 5).allSatisfy { grads[0].weights[$0, c] == 0 } && grads[0].bias.scalars[c] == 0, "piece \(c) never wins")
            }
        }
        check.finish()
    }

    /// A maxout network with batch norm saves folded, reads back with its
    /// pieces, and gives the same probabilities; the pieces are checked on reading.
    @Test func classifierFileKeepsThePieces() throws {
        var random = RandomSource(seed: 8)
        var network = try network(batchNorm: true, random: &random)
        network.normalizations[0]!.runningMean = .uniform(shape: [12], low: -0.5, high: 0.5, using: &random)
        network.normalizations[1]!.runningVariance = .uniform(shape: [6], low: 0.5, high: 2, using: &random)
        let folder = TemporaryFolder(), path = folder.file("maxout.safetensors")
        try Classifier(head: .softmax(network), classNames: ["a", "b", "c"]).write(to: path)
        let read = try Classifier.read(path)
        guard case .softmax(let loaded) = read.head else { Issue.record("not a softmax classifier"); return }
        #expect(loaded.hidden.map(\.pieces) == [3, 2])
        let x = Tensor.uniform(shape: [9, 5], low: -1, high: 1, using: &random)
        #expect(maxDifference(loaded.probabilities(x), network.probabilities(x)) < 1e-5)
        // A file whose pieces do not divide a layer is refused, naming the key.
        var file = try SafeTensors.read(path)
        file.metadata["softmax.pieces"] = "[5, 2, 1]"
        try file.write(to: path)
        #expect(strataError { _ = try Classifier.read(path) } != nil)
        file.metadata["softmax.pieces"] = "[3, 2, 2]"
        try file.write(to: path)
        guard case .badKey(_, "softmax.pieces", _)? = strataError({ _ = try Classifier.read(path) }) else {
            Issue.record("pieces on the linear output layer should be refused at softmax.pieces"); return
        }
    }

    /// Maxout with dropout trains: the validation error falls on a small problem.
    @Test func trainingWithDropoutLowersTheError() throws {
        let (x, labels) = blobs(classes: 3, perClass: 120, dimensions: 8, spread: 0.6, seed: 5)
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 8, hiddenSizes: [10], activation: .maxout, pieces: 3, classes: 3, seed: 2)
        #expect(network.sizes == "8-10-3")
        let before = network.evaluate(x.rows(300 ..< 360), labels: Array(labels[300...])).errorRate
        var configuration = FineTuningConfiguration()
        (configuration.maxEpochs, configuration.batchSize, configuration.learningRate, configuration.hiddenDropout) = (15, 20, 0.1, 0.2)
        let folder = TemporaryFolder()
        var tuner = FineTuner(configuration: configuration, folder: folder.path)
        tuner.showProgress = false
        _ = try tuner.train(&network, x: x.rows(0 ..< 300), labels: Array(labels[..<300]), validationX: x.rows(300 ..< 360), validationLabels: Array(labels[300...]))
        let after = network.evaluate(x.rows(300 ..< 360), labels: Array(labels[300...])).errorRate
        #expect(before > 0.3)
        #expect(after < 0.1)
    }

    /// Pieces only with maxout, at least 2; an autoencoder refuses maxout.
    @Test func settingsRefuseMisplacedPieces() throws {
        func network(_ flags: [String: String]) throws -> SoftmaxFineTuning.Network { try .random(reading: FlagSettings(flags)) }
        guard case .random([20], .maxout, 4) = try network(["hidden": "20", "activation": "maxout", "maxout_pieces": "4"]) else {
            Issue.record("maxout with 4 pieces expected"); return
        }
        guard case .random(_, .maxout, 2) = try network(["hidden": "20", "activation": "maxout"]) else { Issue.record("2 pieces by default"); return }
        #expect(throws: (any Error).self) { try network(["hidden": "20", "activation": "relu", "maxout_pieces": "3"]) }
        #expect(throws: (any Error).self) { try network(["hidden": "20", "activation": "maxout", "maxout_pieces": "1"]) }
        #expect(throws: (any Error).self) { try SoftmaxNetwork.randomlyInitialized(inputCount: 4, hiddenSizes: [3], activation: .relu, pieces: 2, classes: 2) }
        #expect(throws: (any Error).self) { try Activation(parsingElementwise: "maxout") }
        var configuration = Autoencoder.Configuration(visibleCount: 4, hiddenCount: 3)
        configuration.encoder = .maxout
        #expect(throws: (any Error).self) { try configuration.validate() }
    }
}
