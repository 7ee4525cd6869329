import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension LinearSVM {
    /// Gives every rank every class's solution: each rank filled only its
    /// band `mine` of `weights`' columns, `bias`, `results` and `duals`
    /// (the others zero or empty), so one sum over the ranks completes them.
    static func combine(over world: MPIWorld, weights: inout Tensor, bias: inout Tensor, results: inout [(objective: Double, iterations: Int)],
                        duals: inout [[Float]], examples: Int, mine: Range<Int>) {
        weights.withUnsafeMutableBufferPointer { world.sum($0) }
        bias.withUnsafeMutableBufferPointer { world.sum($0) }
        var figures = results.flatMap { [$0.objective, Double($0.iterations)] }
        world.sum(&figures)
        results = (0 ..< results.count).map { (figures[2 * $0], Int(figures[2 * $0 + 1])) }
        var packed = [Float](repeating: 0, count: duals.count * examples)
        for k in mine where duals[k].count == examples { packed.replaceSubrange(k * examples ..< (k + 1) * examples, with: duals[k]) }
        packed.withUnsafeMutableBufferPointer { world.sum($0) }
        duals = (0 ..< duals.count).map { Array(packed[$0 * examples ..< ($0 + 1) * examples]) }
    }
}
