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

@Suite struct BenchmarkTests {
    /// The fine-tuning network's FLOPs per example count each product once:
    /// forward, weight gradients, and the gradients passed down below the first layer.
    @Test func networkFlopsCountEachProduct() {
        let forward = 2.0 * Double(784 * 1000 + 1000 * 1000 + 1000 * 10)
        let passedDown = 2.0 * Double(1000 * 1000 + 1000 * 10)
        #expect(TrainingBenchmark.Model.network.flopsPerExample == 2 * forward + passedDown)
        #expect(TrainingBenchmark.Model.rbm.flopsPerExample == 10 * 784 * 500)
    }

    /// One epoch of the network benchmark on labelled rows (class k lights
    /// block k of the 784 inputs) trains the network: the test error is far
    /// below chance (under 50% against 90% after 8 steps), the line names the model and OpenBLAS's kernels, and one
    /// core and two give the same network.
    @Test func networkEpochLearnsTheSameOnOneCoreAndTwo() throws {
        var random = RandomSource(seed: 3)
        func rows(_ count: Int) -> (Tensor, [Int]) {
            let labels = (0 ..< count).map { _ in Int(random.next() % 10) }
            var x = Tensor.uniform(shape: [count, 784], low: 0, high: 0.2, using: &random)
            x.withUnsafeMutableBufferPointer { p in
                for (i, k) in labels.enumerated() { for j in k * 78 ..< (k + 1) * 78 { p[i * 784 + j] += 0.8 } }
            }
            return (x, labels)
        }
        let (train, trainLabels) = rows(800)
        let (test, testLabels) = rows(200)
        let data = TrainingBenchmark.Examples(train: train, test: test, trainLabels: trainLabels, testLabels: testLabels)
        let one = try TrainingBenchmark.run(.network, data, threads: 1)
        let two = try TrainingBenchmark.run(.network, data, threads: 2)
        #expect(one.examples == 800 && one.seconds > 0)
        #expect(try #require(one.quality["test_error"]) < 50, "\(one.quality)")
        #expect(one.quality == two.quality)
        #expect(one.line.hasPrefix("peer=strata model=mlp784x1000x1000 impl=backprop") && one.line.contains(" blas=\(BLAS.kernels) "))
        let unlabelled = TrainingBenchmark.Examples(train: train, test: test)
        #expect(throws: StrataError.self) { try TrainingBenchmark.run(.network, unlabelled, threads: 1) }
    }
}
