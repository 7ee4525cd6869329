import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataPipeline
import Testing

/// A small stage: 9x8 input with 2 channels, 3x3 fields at stride 1 (7x6
/// positions), 3 maps, L2 pools of 2 at stride 1, LCN over 3x3.
func smallLocalGeometry(channels: Int = 2, height: Int = 9) -> LocalStageGeometry {
    LocalStageGeometry(input: ImageGeometry(height: height, width: 8, channels: channels, layout: .interleaved),
                       field: 3, stride: 1, maps: 3, poolSize: 2, poolStride: 1, normalizationSize: 3)
}

/// `sum(weights * values)` in Double: a loss whose gradient at the values is `weights`.
func weightedSum(_ values: Tensor, _ weights: Tensor) -> Double {
    zip(values.scalars, weights.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

@Suite struct LocalLayerGradientTests {
    @Test(arguments: [false, true])
    func locallyConnectedGradientsMatchFiniteDifferences(tied: Bool) throws {
        let check = GradientCheck("locally connected (\(tied ? "tied" : "untied"))")
        let g = smallLocalGeometry()
        var random = RandomSource(seed: 3)
        let weights = Tensor.uniform(shape: [tied ? 1 : g.positions, g.fieldSize, g.maps], low: -1, high: 1, using: &random)
        let layer = try LocallyConnected(geometry: g, weights: weights, tied: tied)
        let x = Tensor.uniform(shape: [2, g.inputSize], low: -1, high: 1, using: &random)
        let upstream = Tensor.uniform(shape: [2, g.filterSize], low: -1, high: 1, using: &random)
        let (gW, gX) = layer.backward(x, gradient: upstream)
        for index in stride(from: 0, to: weights.count, by: max(1, weights.count / 23)) {
            let numeric = finiteDifference({ v in
                var l = layer; l.weights.scalars[index] = v; return weightedSum(l.forward(x), upstream)
            }, at: weights.scalars[index])
            check.compare(numeric, gW.scalars[index], "W[\(index)]")
        }
        for index in stride(from: 0, to: x.count, by: 13) {
            let numeric = finiteDifference({ v in var xv = x; xv.scalars[index] = v; return weightedSum(layer.forward(xv), upstream) }, at: x.scalars[index])
            check.compare(numeric, gX.scalars[index], "x[\(index)]")
        }
        check.finish()
    }

    @Test func l2PoolingGradientMatchesFiniteDifferences() {
        let check = GradientCheck("L2 pooling")
        let g = smallLocalGeometry()
        let pooling = L2Pooling(size: g.poolSize, stride: g.poolStride, epsilon: 0.01, columns: g.filterColumns, maps: g.maps)
        var random = RandomSource(seed: 4)
        let h = Tensor.uniform(shape: [2, g.filterSize], low: -1, high: 1, using: &random)
        let upstream = Tensor.uniform(shape: [2, g.outputSize], low: -1, high: 1, using: &random)
        func pooled(_ h: Tensor) -> Tensor {
            var out = Tensor(zeros: [2, g.outputSize])
            out.withUnsafeMutableBufferPointer { o in
                h.withUnsafeBufferPointer { pooling.forward($0.baseAddress!, .init(0 ..< g.filterRows), examples: 2, pools: 0 ..< g.poolRows, into: o.baseAddress!, .init(0 ..< g.poolRows)) }
            }
            return out
        }
        let p = pooled(h)
        var gh = Tensor(zeros: h.shape)
        gh.withUnsafeMutableBufferPointer { out in
            h.withUnsafeBufferPointer { hv in
                p.withUnsafeBufferPointer { pv in
                    upstream.withUnsafeBufferPointer { u in
                        pooling.backward(hv.baseAddress!, .init(0 ..< g.filterRows), pooled: pv.baseAddress!, .init(0 ..< g.poolRows), gradient: u.baseAddress!,
                                         examples: 2, pools: 0 ..< g.poolRows, targetRows: 0 ..< g.filterRows, into: out.baseAddress!)
                    }
                }
            }
        }
        for index in stride(from: 0, to: h.count, by: 7) {
            let numeric = finiteDifference({ v in var hv = h; hv.scalars[index] = v; return weightedSum(pooled(hv), upstream) }, at: h.scalars[index], step: 1e-3)
            check.compare(numeric, gh.scalars[index], "h[\(index)]")
        }
        check.finish()
    }

    @Test func localContrastNormalizationGradientMatchesFiniteDifferences() {
        let check = GradientCheck("local contrast normalization")
        let lcn = LocalContrastNormalization(size: 5, rows: 6, columns: 5, maps: 3)
        var random = RandomSource(seed: 5)
        let x = Tensor.uniform(shape: [2, lcn.count], low: -1, high: 1, using: &random)
        let upstream = Tensor.uniform(shape: [2, lcn.count], low: -1, high: 1, using: &random)
        func normalized(_ x: Tensor) -> Tensor {
            Tensor(shape: x.shape, unsafeUninitialized: { out in x.withUnsafeBufferPointer { lcn.forward($0.baseAddress!, examples: 2, into: out.baseAddress!) } })
        }
        let gx = Tensor(shape: x.shape, unsafeUninitialized: { out in
            x.withUnsafeBufferPointer { xv in upstream.withUnsafeBufferPointer { lcn.backward(xv.baseAddress!, gradient: $0.baseAddress!, examples: 2, into: out.baseAddress!) } }
        })
        for index in stride(from: 0, to: x.count, by: 5) {
            let numeric = finiteDifference({ v in var xv = x; xv.scalars[index] = v; return weightedSum(normalized(xv), upstream) }, at: x.scalars[index], step: 1e-3)
            check.compare(numeric, gx.scalars[index], "x[\(index)]")
        }
        check.finish()
        // The subtractive step leaves each window's weighted mean at zero: a constant map normalizes to zero.
        let flat = normalized(Tensor(shape: [2, lcn.count], repeating: 3))
        #expect(flat.scalars.allSatisfy { abs($0) < 1e-4 })
    }

    @Test(arguments: [false, true])
    func ricaObjectiveGradientMatchesFiniteDifferences(tied: Bool) throws {
        let check = GradientCheck("RICA objective (\(tied ? "tied" : "untied"))")
        var configuration = LocalFeatureStage.Configuration(geometry: smallLocalGeometry())
        (configuration.tied, configuration.sparsityWeight, configuration.decoderMaxNorm) = (tied, 0.3, 0)
        var stage = try LocalFeatureStage(configuration)
        var random = RandomSource(seed: 6)
        let x = Tensor.uniform(shape: [3, stage.visibleCount], low: -1, high: 1, using: &random)
        func cost(_ s: LocalFeatureStage) -> Double {
            var s = s
            let (r, p) = s.evaluate(x, gradients: false)
            return (r + 0.3 * p) / 3
        }
        _ = stage.evaluate(x, gradients: true)
        let (gE, gD) = (stage.scratch.gradEncoder, stage.scratch.gradDecoder)
        for index in stride(from: 0, to: stage.encoder.count, by: max(1, stage.encoder.count / 29)) {
            let numeric = finiteDifference({ v in var s = stage; s.encoder.scalars[index] = v; return cost(s) }, at: stage.encoder.scalars[index])
            check.compare(numeric, gE.scalars[index], "W1[\(index)]")
        }
        for index in stride(from: 0, to: stage.decoder.count, by: max(1, stage.decoder.count / 29)) {
            let numeric = finiteDifference({ v in var s = stage; s.decoder.scalars[index] = v; return cost(s) }, at: stage.decoder.scalars[index])
            check.compare(numeric, gD.scalars[index], "W2[\(index)]")
        }
        check.finish()
    }
}

/// Bad settings of local stages are refused before anything runs, naming the key; the analysis finds what it should.
@Suite struct LocalStageSettingsTests {
    static func yaml(_ stage: String, extra: String = "") -> String {
        "name: t\ndataset: {name: images}\n\(extra)local_stages:\n  stages:\n    - {\(stage)}\n"
    }

    @Test func anEvenNormalizationWindowIsRefusedNamingTheKey() {
        let error = strataError { _ = try Experiment.parse(Self.yaml("field: 4, lcn: 4"), file: "t.yaml") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("lcn"), "\(String(describing: error))")
    }

    @Test func localStagesAndLayersTogetherAreRefused() {
        let error = strataError { _ = try Experiment.parse(Self.yaml("field: 4", extra: "layers:\n  - {learner: rbm, hidden: 4}\n"), file: "t.yaml") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("layers"), "\(String(describing: error))")
    }

    @Test func aFieldLargerThanTheImageIsRefusedNamingTheKey() {
        let error = strataError { _ = try LocalStageSettings().configuration(input: ImageGeometry(height: 5, width: 5)) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("field"), "\(String(describing: error))")
    }

    @Test func aSplitWithoutMPIRunSaysHowToStartIt() {
        let error = strataError { _ = try ModelParallel.split(2, world: nil) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("mpirun -np 2"), "\(String(describing: error))")
    }

    @Test func aStackOfLocalStagesIsNotFineTunedOrExported() throws {
        let stage = try LocalFeatureStage(LocalFeatureStage.Configuration(geometry: smallLocalGeometry()))
        let error = strataError { try LayerStack(layers: [stage]).requireDenseLayers(what: "fine-tuning s") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("locally connected stage"), "\(String(describing: error))")
    }

    @Test func theSingleUnitTestFindsTheUnitThatCarriesTheLabel() {
        var random = RandomSource(seed: 11)
        let labels = (0 ..< 200).map { $0 % 2 }
        // Unit 2 is the label plus a little noise; the others are noise.
        let x = Tensor(shape: [200, 4], scalars: (0 ..< 800).map { i in
            (i % 4 == 2 ? Float(labels[i / 4]) : 0) + 0.3 * random.nextUnitFloat()
        })
        let best = SingleUnitTest.run(train: x, trainLabels: labels, test: x, testLabels: labels, classes: 2)
        #expect(best.map(\.unit) == [2, 2])
        #expect(best[1].above && !best[0].above, "class 1 lies above the threshold, class 0 below")
        #expect(best.allSatisfy { $0.testAccuracy == 1 })
    }

    @Test func theOptimalStimulusExcitesItsUnitMoreThanRandomInputs() throws {
        var configuration = LocalFeatureStage.Configuration(geometry: smallLocalGeometry(channels: 1))
        configuration.geometry.normalizationSize = 0
        let stage = try LocalFeatureStage(configuration)
        let found = try OptimalStimulus.find(stages: [stage], unit: 5, steps: 40, seed: 3)
        var random = RandomSource(seed: 4)
        let radius = Float(stage.visibleCount).squareRoot()
        var best: Float = -.infinity
        for _ in 0 ..< 20 {
            var x = Tensor.normal(shape: [1, stage.visibleCount], using: &random)
            OptimalStimulus.project(&x, radius: radius)
            best = max(best, stage.transform(x)[0, 5])
        }
        print("optimal stimulus: unit 5 at \(found.activation); the best of 20 random inputs of the same norm: \(best)")
        #expect(found.activation > best)
        #expect(abs(Float(found.input.squaredNorm().squareRoot()) - radius) < 1e-3 * radius)
    }
}
