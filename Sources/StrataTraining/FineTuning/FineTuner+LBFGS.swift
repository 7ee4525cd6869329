import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// Fine-tuning by full-batch L-BFGS (`optimizer: lbfgs`): each epoch is one
/// L-BFGS iteration on the objective of the whole training set
/// (``FullBatchObjective``), whose chunks are shared out across MPI ranks
/// as they finish (Sandblaster). Monitoring, early stopping on the
/// validation error, checkpoints and `--resume` are fine-tuning's own.
extension FineTuner {
    /// The state of an L-BFGS run: the solver, the objective, and the point (the network's parameters as one vector).
    struct LBFGSRun {
        var solver: LBFGS
        var objective: FullBatchObjective
        var point: [Float]
    }

    /// The run's L-BFGS, or nil when the optimizer is another. `saved` is a resumed run's solver. Collective across ranks.
    func lbfgsRun(_ network: inout SoftmaxNetwork, examples: TrainingExamples, labels: [Int], saved: LBFGS?) throws -> LBFGSRun? {
        guard case .lbfgs(let memory) = configuration.optimizer else { return nil }
        let objective = try FullBatchObjective(examples: examples, labels: labels, configuration: configuration, softTargets: softTargets, world: world)
        return LBFGSRun(solver: saved ?? LBFGS(memory: memory), objective: objective, point: network.parameterVector())
    }

    /// What one L-BFGS epoch did, for the monitor and the log line.
    struct LBFGSEpoch {
        var iteration: LBFGS.Iteration
        /// Whether any rank asked to stop during it (the iteration still completes, so a resume is exact).
        var stopRequested: Bool
        var chunksByRank: [Int]
    }

    /// One L-BFGS iteration as epoch `epoch` (preceded, in a fresh run, by
    /// the first evaluation), leaving `network` at the accepted point. A
    /// stop asked during the iteration is reported after it completes.
    func lbfgsEpoch(_ network: inout SoftmaxNetwork, run: inout LBFGSRun, epoch: Int) throws -> LBFGSEpoch {
        var stopRequested = false, evaluation = 0
        let rows = run.objective.examples.rows
        func evaluate(_ point: [Float]) throws -> (objective: Double, gradient: [Float]) {
            evaluation += 1
            let bar = showProgress ? ProgressBar(total: rows, label: "L-BFGS \(epoch).\(evaluation)") : nil
            let result = try run.objective.evaluate(&network, at: point, stop: shouldStop()) { bar?.update($0) }
            bar?.finish(String(format: "objective %.6f", result.objective))
            stopRequested = stopRequested || result.stop
            return (result.objective, result.gradient)
        }
        if run.solver.objective == nil {
            let (objective, gradient) = try evaluate(run.point)
            run.solver.start(objective: objective, gradient: gradient)
        }
        var solver = run.solver, point = run.point
        let iteration = try solver.iterate(&point, evaluate: evaluate)
        (run.solver, run.point) = (solver, point)
        network.setParameters(run.point) // the last evaluation may have been a rejected trial
        return LBFGSEpoch(iteration: iteration, stopRequested: stopRequested, chunksByRank: run.objective.chunksByRank)
    }
}
