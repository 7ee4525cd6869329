import Foundation
import StrataCore
import StrataData
import StrataModels

/// `strata bench split`: a locally connected stage's training step timed in
/// this process, and the ``ModelParallelCostModel`` of splitting it by image
/// rows over 1 to 64 machines, for that stage and for the first stage of Le et al. (2012).
public enum LocalStageBenchmark {
    /// The high_level_features tutorial's first stage: 28x28 images, 8x8
    /// fields at stride 2, 16 maps, L2 pools of 3, LCN of 5.
    public static let geometry = LocalStageGeometry(input: ImageGeometry(height: 28, width: 28, channels: 1, layout: .interleaved),
                                                    field: 8, stride: 2, maps: 16, poolSize: 3, poolStride: 1, normalizationSize: 5)

    /// Times `steps` steps of 100 examples on `cores` cores (the compute
    /// already applied) and returns the report: the measured rate, then for
    /// each stage the cost model's table over links of `latencySeconds`.
    public static func report(steps: Int, cores: Int, latencySeconds: Double) throws -> [String] {
        guard steps >= 1 else { throw StrataError.invalidArgument(name: "steps", reason: "\(steps) must be at least 1") }
        guard latencySeconds >= 0, latencySeconds.isFinite else { throw StrataError.invalidArgument(name: "latency", reason: "must be a non-negative number of seconds") }
        var stage = try LocalFeatureStage(LocalFeatureStage.Configuration(geometry: geometry))
        var random = RandomSource(seed: 1)
        let batch = Tensor.normal(shape: [100, geometry.inputSize], using: &random)
        let hyper = StepHyperparameters(learningRate: 1e-4, momentum: 0.9)
        _ = try stage.trainStep(batch, hyper: hyper, random: &random)
        let start = Date()
        for _ in 0 ..< steps { _ = try stage.trainStep(batch, hyper: hyper, random: &random) }
        let seconds = Date().timeIntervalSince(start) / Double(steps)
        let probe = ModelParallelCostModel(geometry: geometry, batch: 100, flopsPerSecond: 1, latencySeconds: latencySeconds)
        let rate = probe.computeSeconds / seconds
        var lines = [String(format: "local stage %@: %.2f ms per step of 100 on %d core(s), %.1f GFLOP/s", geometry.description, seconds * 1e3, cores, rate / 1e9)]
        for (name, g) in [("this stage", geometry), ("Le et al. 2012's first stage", ModelParallelCostModel.leEtAl)] {
            let model = ModelParallelCostModel(geometry: g, batch: 100, flopsPerSecond: rate, latencySeconds: latencySeconds)
            lines.append(String(format: "%@ (%d weights), one machine's step %.1f ms:", name, 2 * g.positions * g.fieldSize * g.maps, model.computeSeconds * 1e3))
            lines.append(model.table())
        }
        return lines
    }
}
