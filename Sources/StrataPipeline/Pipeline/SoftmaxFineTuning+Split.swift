import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension SoftmaxFineTuning {
    /// Has `tuner` split `network`'s hidden layers by units (its local
    /// stages by image rows) over the job's parts when its settings ask (`model_parallel: P`, under `mpirun -np
    /// R x P`), its replicas averaging or meeting at Downpour's server as
    /// `distributed:` says; the split is logged: each part's units of each
    /// layer and the values the parts exchange per step.
    static func splitByHiddenUnits(_ tuner: inout FineTuner, network: SoftmaxNetwork, log: StageLog) throws {
        guard let split = try ModelParallel.split(tuner.configuration.modelParallel, world: MPIWorld.current) else { return }
        tuner.modelSplit = split
        if let front = network.front { // Le et al.'s stages split by image rows, as they pretrain
            let stages = front.stages.enumerated().map { i, stage in
                let plan = (try? LocalStagePartition.plan(stage.geometry, parts: split.parts)) ?? [] // refused with the reason when the run starts
                return "stage \(i + 1): " + plan.map { "part \($0.part) filter rows \($0.filterRows.lowerBound)-\($0.filterRows.upperBound - 1)" }.joined(separator: ", ")
            }
            let replicas = "\(split.replicas.size) replica\(split.replicas.size == 1 ? "" : "s")"
            log("local stages split \(split.parts) ways by image rows (\(replicas)): " + stages.joined(separator: "; ") + "; the dense layers whole on every part")
            return
        }
        let sizes = network.hidden.map(\.outputCount)
        guard let top = sizes.last else { return } // refused with the reason when the run starts
        // Per example: each layer below the top gathered forward and its delta summed backward, and the logits summed.
        let values = 2 * (sizes.reduce(0, +) - top) + network.classCount
        log(split.hiddenUnitPlan(layerSizes: sizes) + String(format: "; the parts exchange %.1f KB per step", Double(tuner.configuration.batchSize * values * 4) / 1e3))
    }
}
