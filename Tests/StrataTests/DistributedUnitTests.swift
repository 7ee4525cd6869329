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

/// The scaling model's arithmetic: a ring allreduce moves 2(M-1)/M of the
/// bytes in 2(M-1) latencies; one machine has nothing to combine.
@Suite struct ScalingModelTests {
    @Test func ringAllreduceTimeAndEfficiency() {
        let model = ScalingModel(computeSeconds: 0.01, bytes: 1_250_000, latencySeconds: 25e-6)
        #expect(model.allreduceSeconds(machines: 1, gigabitsPerSecond: 10) == 0 && model.efficiency(machines: 1, gigabitsPerSecond: 10) == 1)
        // 4 machines on 10 Gbit/s: 1.5 x 1.25 MB = 15 Mbit in 1.5 ms, plus 6 x 25 µs.
        #expect(abs(model.allreduceSeconds(machines: 4, gigabitsPerSecond: 10) - 0.00165) < 1e-9)
        #expect(abs(model.efficiency(machines: 4, gigabitsPerSecond: 10) - 0.01 / 0.01165) < 1e-9)
        #expect(model.overlappedEfficiency(machines: 4, gigabitsPerSecond: 10) == 1)
        // More machines or slower links never help.
        #expect(model.efficiency(machines: 64, gigabitsPerSecond: 10) < model.efficiency(machines: 8, gigabitsPerSecond: 10))
        #expect(model.efficiency(machines: 64, gigabitsPerSecond: 10) < model.efficiency(machines: 64, gigabitsPerSecond: 25))
        #expect(model.table(machines: [4], links: [10]).contains("| 4 | 1.65 ms, 86% (100%) |"))
    }
}

/// `distributed: sync | async[:FETCH:PUSH]`: one text form for YAML and flags, refusals by name.
/// The parameter server's AdaGrad step gives each parameter the same bits
/// wherever a shard's boundary falls (a boundary moves parameters between the
/// eight-wide body and the remainder, which must compute alike).
@Suite struct ServerStepTests {
    @Test func anyShardingGivesTheSameBits() {
        var random = RandomSource(seed: 21)
        let count = 29
        let base = (0 ..< count).map { _ in random.nextUnitFloat() }, current = (0 ..< count).map { _ in random.nextUnitFloat() }
        let start = (theta: (0 ..< count).map { _ in random.nextUnitFloat() }, accumulators: (0 ..< count).map { _ in random.nextUnitFloat() })
        func stepped(cuts: [Int]) -> [Float] {
            var (theta, accumulators) = start
            for (low, high) in zip([0] + cuts, cuts + [count]) {
                theta.withUnsafeMutableBufferPointer { t in
                    accumulators.withUnsafeMutableBufferPointer { a in
                        base.withUnsafeBufferPointer { b in
                            current.withUnsafeBufferPointer { c in
                                Downpour.adagrad(parameters: t.baseAddress! + low, accumulators: a.baseAddress! + low, base: b.baseAddress! + low,
                                                 current: c.baseAddress! + low, count: high - low, learningRate: 0.1)
                            }
                        }
                    }
                }
            }
            return theta + accumulators
        }
        let whole = stepped(cuts: [])
        for cuts in [[13], [5, 14], [1, 2, 3, 20]] { #expect(stepped(cuts: cuts) == whole, "shards cut at \(cuts)") }
    }
}

@Suite struct DistributedModeTests {
    @Test func textFormsRoundTripAndNonsenseIsRefused() throws {
        #expect(try DistributedMode(parsing: "sync") == .synchronous && DistributedMode.synchronous.text == "sync")
        #expect(try DistributedMode(parsing: "async") == .downpour(fetchEvery: 1, pushEvery: 1))
        #expect(try DistributedMode(parsing: "async:5:3") == .downpour(fetchEvery: 5, pushEvery: 3))
        #expect(try DistributedMode(parsing: DistributedMode.downpour(fetchEvery: 5, pushEvery: 3).text) == .downpour(fetchEvery: 5, pushEvery: 3))
        for bad in ["async:0:1", "async:2", "async:x:1", "sync:1:1", "allreduce"] {
            #expect(throws: SettingError.self, "\(bad)") { _ = try DistributedMode(parsing: bad) }
        }
    }

    /// The asynchronous variant of the distributed tutorial asks for Downpour in every stage.
    @Test func theAsynchronousTutorialFileAsksForDownpourEverywhere() throws {
        let experiment = try Experiment.read(repositoryRoot + "/Tutorials/distributed/async.yaml")
        #expect(experiment.layers.count == 2 && experiment.layers.allSatisfy { $0.training.distributed == .downpour(fetchEvery: 5, pushEvery: 5) })
        guard case .softmax(let configuration, _)? = experiment.finetune else { Issue.record("no softmax fine-tuning"); return }
        #expect(configuration.distributed == .downpour(fetchEvery: 5, pushEvery: 5))
    }
}

/// Downpour's server step, eight lanes at a time, against its formula entry by entry.
@Suite struct DownpourServerStepTests {
    @Test func theAdaGradStepIsTheFormula() {
        var random = RandomSource(seed: 21)
        let count = 203 // 25 lanes of eight and a tail of three
        let base = (0 ..< count).map { _ in random.nextUnitFloat() - 0.5 }
        let current = base.map { $0 + 0.01 * (random.nextUnitFloat() - 0.5) }
        let theta = (0 ..< count).map { _ in random.nextUnitFloat() }
        let accumulators = (0 ..< count).map { _ in 3 * random.nextUnitFloat() }
        var (newTheta, newAccumulators) = (theta, accumulators)
        newTheta.withUnsafeMutableBufferPointer { t in
            newAccumulators.withUnsafeMutableBufferPointer { a in
                Downpour.adagrad(parameters: t.baseAddress!, accumulators: a.baseAddress!, base: base, current: current, count: count, learningRate: 0.1)
            }
        }
        for i in 0 ..< count {
            let g = Double(base[i] - current[i]) / 0.1
            let sum = Double(accumulators[i]) + g * g
            let expected = Double(theta[i]) - 0.1 * g / (1 + sum).squareRoot()
            #expect(abs(Double(newAccumulators[i]) - sum) <= 1e-5 * max(1, sum), "G[\(i)]")
            #expect(abs(Double(newTheta[i]) - expected) <= 1e-6, "theta[\(i)]: \(newTheta[i]) against \(expected)")
        }
    }
}
