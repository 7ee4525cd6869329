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

@Suite struct KMeansTests {
    /// Four blobs in 6 dimensions, 400 examples.
    func data(seed: UInt64 = 3) -> Tensor { blobs(classes: 4, perClass: 100, dimensions: 6, spread: 0.5, seed: seed).0 }

    func train(_ configuration: KMeans.Configuration, epochs: Int, batch: Int = 64) throws -> (KMeans, [Double]) {
        var learner = try KMeans(configuration)
        var settings = TrainingConfiguration()
        (settings.maxEpochs, settings.batchSize, settings.seed) = (epochs, batch, 4)
        let folder = TemporaryFolder()
        var trainer = Trainer(configuration: settings, folder: folder.path)
        trainer.showProgress = false
        let report = try trainer.train(&learner, data: data())
        return (learner, report.log.rows.compactMap { $0["train_objective"] })
    }

    /// Lloyd's algorithm never raises the mean squared distance to the
    /// assigned centroid (here measured on all the data, every epoch from the start).
    @Test func classicObjectiveNeverRises() throws {
        let (learner, objectives) = try train(.init(visibleCount: 6, hiddenCount: 7, seed: 2), epochs: 10)
        #expect(objectives.count == 11)
        for (before, after) in zip(objectives, objectives.dropFirst()) {
            #expect(after <= before * (1 + 1e-6), "\(objectives)")
        }
        #expect(objectives.last! < 0.5 * objectives.first!, "\(objectives)")
        // The objective is what it says: the mean squared distance to the nearest centroid, computed here directly.
        let x = data(), c = learner.centroids
        var direct = 0.0
        for i in 0 ..< x.rows {
            direct += (0 ..< c.columns).map { j in (0 ..< 6).reduce(0.0) { $0 + pow(Double(x[i, $1] - c[$1, j]), 2) } }.min()!
        }
        #expect(abs(direct / Double(x.rows) - objectives.last!) < 1e-3 * objectives.last!)
    }

    /// Every centroid moves to the mean of its examples: with one batch of
    /// all the data, one epoch is exactly one Lloyd step.
    @Test func oneEpochIsOneLloydStep() throws {
        let x = data()
        var learner = try KMeans(.init(visibleCount: 6, hiddenCount: 3, seed: 9))
        learner.centroids = Tensor(shape: [6, 3], scalars: (0 ..< 18).map { Float($0 % 7) / 7 - 0.4 })
        let start = learner.centroids
        var random = RandomSource(seed: 1)
        _ = try learner.trainStep(x, hyper: StepHyperparameters(learningRate: 0.1), random: &random)
        learner.finishEpoch()
        var sums = [[Double]](repeating: [Double](repeating: 0, count: 6), count: 3), counts = [0, 0, 0]
        for i in 0 ..< x.rows {
            let nearest = (0 ..< 3).min { a, b in
                (0 ..< 6).reduce(0.0) { $0 + pow(Double(x[i, $1] - start[$1, a]), 2) } < (0 ..< 6).reduce(0.0) { $0 + pow(Double(x[i, $1] - start[$1, b]), 2) }
            }!
            counts[nearest] += 1
            for t in 0 ..< 6 { sums[nearest][t] += Double(x[i, t]) }
        }
        for j in 0 ..< 3 where counts[j] > 0 {
            for t in 0 ..< 6 { #expect(abs(Double(learner.centroids[t, j]) - sums[j][t] / Double(counts[j])) < 1e-4) }
        }
    }

    /// Spherical K-means keeps unit-length centroids and lowers its reconstruction error.
    @Test func sphericalCentroidsStayUnitLength() throws {
        let (learner, objectives) = try train(.init(visibleCount: 6, hiddenCount: 5, spherical: true, seed: 2), epochs: 6)
        for length in learner.centroids.columnSquaredNorms() { #expect(abs(length - 1) < 1e-4) }
        #expect(objectives.last! < objectives.first!, "\(objectives)")
    }

    /// A centroid that no example chooses is moved onto an example.
    @Test func emptyClustersAreReinitialized() throws {
        let x = data()
        var learner = try KMeans(.init(visibleCount: 6, hiddenCount: 4, seed: 1))
        learner.centroids = Tensor(shape: [6, 4], scalars: (0 ..< 24).map { $0 % 4 == 3 ? 1000 : 0.01 * Float($0) })
        var random = RandomSource(seed: 5)
        _ = try learner.trainStep(x, hyper: StepHyperparameters(learningRate: 0.1), random: &random)
        learner.finishEpoch()
        let moved = (0 ..< 6).map { learner.centroids[$0, 3] }
        #expect((0 ..< x.rows).contains { i in (0 ..< 6).allSatisfy { x[i, $0] == moved[$0] } }, "centroid 3 should now be an example: \(moved)")
    }

    /// The triangle and hard-assignment encodings, entry by entry against their formulas.
    @Test func encodingsMatchTheirFormulas() {
        var random = RandomSource(seed: 12)
        let x = Tensor.uniform(shape: [5, 4], low: -1, high: 1, using: &random), c = Tensor.uniform(shape: [4, 6], low: -1, high: 1, using: &random)
        let triangle = Encoding.triangle(x, centroids: c), hard = Encoding.hardAssignment(x, centroids: c)
        #expect(triangle.shape == [5, 6] && hard.shape == [5, 6])
        for i in 0 ..< 5 {
            let z = (0 ..< 6).map { j in (0 ..< 4).reduce(0.0) { $0 + pow(Double(x[i, $1] - c[$1, j]), 2) }.squareRoot() }
            let mean = z.reduce(0, +) / 6
            for j in 0 ..< 6 { #expect(abs(Double(triangle[i, j]) - max(0, mean - z[j])) < 1e-5, "row \(i) centroid \(j)") }
            let nearest = z.indices.min { z[$0] < z[$1] }!
            for j in 0 ..< 6 { #expect(hard[i, j] == (j == nearest ? 1 : 0)) }
        }
    }

    /// Checkpoints keep the centroids and the epoch in progress; settings refuse other learners' keys.
    @Test func checkpointsAndSettings() throws {
        var learner = try KMeans(.init(visibleCount: 6, hiddenCount: 3, spherical: true, seed: 4))
        var random = RandomSource(seed: 2)
        _ = try learner.trainStep(data().rows(0 ..< 50), hyper: StepHyperparameters(learningRate: 0.1), random: &random)
        let folder = TemporaryFolder(), path = folder.file("kmeans.safetensors")
        try LearnerCheckpoint(learner: learner).write(to: path)
        guard let read = try LearnerCheckpoint.read(path).learner as? KMeans else { Issue.record("not read back as K-means"); return }
        #expect(read.centroids == learner.centroids && read.sums == learner.sums && read.counts == learner.counts && read.configuration == learner.configuration)
        let layer = try LayerSettings.read(learner: FlagSettings(["learner": "spherical_kmeans", "hidden": "50"]), training: FlagSettings([:]))
        guard case .kmeans(let c) = layer.learner else { Issue.record("kmeans expected"); return }
        #expect(c.spherical && c.hiddenCount == 50)
        #expect(throws: (any Error).self) { try LayerSettings.read(learner: FlagSettings(["learner": "kmeans", "corruption": "masking:0.2"]), training: FlagSettings([:])) }
    }
}
