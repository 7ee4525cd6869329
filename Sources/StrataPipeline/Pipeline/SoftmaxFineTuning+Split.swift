import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension SoftmaxFineTuning {
    /// Has `tuner` split `network`'s hidden layers by units over the job's
    /// parts when its settings ask (`model_parallel: P`, under `mpirun -np
    /// R x P`), its replicas averaging or meeting at Downpour's server as
    /// `distributed:` says; the split is logged: each part's units of each
    /// layer and the values the parts exchange per step.
    static func splitByHiddenUnits(_ tuner: inout FineTuner, network: SoftmaxNetwork, log: StageLog) throws {
        guard let split = try ModelParallel.split(tuner.configuration.modelParallel, world: MPIWorld.current) else { return }
        (tuner.modelSplit, tuner.world) = (split, split.replicas)
        let sizes = network.hidden.map(\.outputCount)
        guard let top = sizes.last else { return } // refused with the reason when the run starts
        let parts = (0 ..< split.parts).map { p in "part \(p): units " + sizes.map { "\(p * $0 / split.parts)-\((p + 1) * $0 / split.parts - 1)" }.joined(separator: ", ") }
        // Per example: each layer below the top gathered forward and its delta summed backward, and the logits summed.
        let values = 2 * (sizes.reduce(0, +) - top) + network.classCount
        log("split \(split.parts) ways by hidden units (\(split.replicas.size) replica\(split.replicas.size == 1 ? "" : "s")): "
            + parts.joined(separator: "; ") + String(format: "; the parts exchange %.1f KB per step", Double(tuner.configuration.batchSize * values * 4) / 1e3))
    }
}
