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

@Suite struct PreprocessingTests {
    @Test func gcnMatchesTheFormulaByHand() throws {
        // Row [1, 2, 3, 6]: mean 3, centered [-2, -1, 0, 3], var (ddof 1) = 14/3.
        var x = Tensor(rows: 1, columns: 4, scalars: [1, 2, 3, 6])
        try GlobalContrastNormalization(scale: 2, useStd: true, sqrtBias: 10).transform(&x)
        let divisor = Float((10 + 14.0 / 3).squareRoot() / 2)
        #expect(maxDifference(x, Tensor(rows: 1, columns: 4, scalars: [-2, -1, 0, 3].map { $0 / divisor })) < 1e-6)
        // Norm variant: divisor sqrt(0 + 4 + 1 + 0 + 9) = sqrt(14).
        var y = Tensor(rows: 1, columns: 4, scalars: [1, 2, 3, 6])
        try GlobalContrastNormalization().transform(&y)
        #expect(maxDifference(y, Tensor(rows: 1, columns: 4, scalars: [-2, -1, 0, 3].map { $0 / Float(14.0.squareRoot()) })) < 1e-6)
        // A constant row has divisor 0 < min_divisor: divided by 1, so only centered.
        var z = Tensor(rows: 1, columns: 3, scalars: [5, 5, 5])
        try GlobalContrastNormalization().transform(&z)
        #expect(z.scalars == [0, 0, 0])
    }

    @Test func zcaMatchesAHandComputedTwoByTwo() throws {
        // Two features, four examples: centered data [[1,1],[-1,-1],[1,-1],[-1,1]] has covariance I;
        // plus filter_bias 1 gives 2I, so P = I / sqrt(2).
        let x = Tensor(rows: 4, columns: 2, scalars: [3, 1, 1, -1, 3, -1, 1, 1])
        var zca = ZCA(filterBias: 1)
        var y = x
        try zca.fitTransform(&y)
        #expect(maxDifference(zca.mean!, Tensor(shape: [2], scalars: [2, 0])) < 1e-6)
        let s = Float(1 / 2.0.squareRoot())
        #expect(maxDifference(y, Tensor(rows: 4, columns: 2, scalars: [1, 1, -1, -1, 1, -1, -1, 1].map { $0 * s })) < 1e-6)
        // Correlated case: covariance [[2, 1], [1, 2]] (eigenvalues 3 and 1), P = V diag(1/sqrt(l)) V^T.
        let c = Tensor(rows: 4, columns: 2, scalars: [1.0, 0, 0, 1, -1, 0, 0, -1].map { Float($0) })
        var mixed = c.matmul(Tensor(rows: 2, columns: 2, scalars: [1.3660254, 0.3660254, 0.3660254, 1.3660254]))
        var exact = ZCA(filterBias: 0)
        try exact.fitTransform(&mixed)
        let whitenedCovariance = mixed.matmul(mixed, transposeSelf: true) * 0.25
        #expect(maxDifference(whitenedCovariance, Tensor(rows: 2, columns: 2, scalars: [1, 0, 0, 1])) < 1e-5)
    }

    @Test func whitenedPatchesHaveIdentityCovariance() throws {
        var random = RandomSource(seed: 11)
        // Correlated 16-dimensional data: white noise times a random mixing matrix.
        let noise = Tensor.normal(shape: [20000, 16], using: &random)
        let mixing = Tensor.uniform(shape: [16, 16], low: -1, high: 1, using: &random)
        var x = noise.matmul(mixing)
        var zca = ZCA(filterBias: 1e-5)
        try zca.fitTransform(&x)
        let covariance = x.matmul(x, transposeSelf: true) * (1 / Float(x.rows))
        var offDiagonal: Float = 0, diagonalError: Float = 0
        for i in 0 ..< 16 {
            for j in 0 ..< 16 {
                if i == j { diagonalError = max(diagonalError, abs(covariance[i, j] - 1)) } else { offDiagonal = max(offDiagonal, abs(covariance[i, j])) }
            }
        }
        #expect(offDiagonal < 0.02, "largest off-diagonal \(offDiagonal)")
        #expect(diagonalError < 0.02, "largest diagonal error \(diagonalError)")
        // The inverse transform recovers the input.
        var back = x
        try zca.inverseTransform(&back)
        #expect(maxDifference(back, noise.matmul(mixing)) < 1e-3)
    }

    @Test func standardizeRemoveMeanAndPCA() throws {
        var x = Tensor(rows: 3, columns: 2, scalars: [1, 10, 2, 20, 3, 30])
        var standardize = Standardization()
        try standardize.fitTransform(&x)
        #expect(maxDifference(x.meanOverRows(), Tensor(zeros: [2])) < 1e-6)
        let expected = Float(1 / (1e-4 + (2.0 / 3).squareRoot()))
        #expect(abs(x[2, 0] - expected) < 1e-4)
        var y = Tensor(rows: 2, columns: 3, scalars: [1, 2, 3, 0, 0, 6])
        try RemoveExampleMean().transform(&y)
        #expect(y.scalars == [-1, 0, 1, -2, -2, 4])
        // Points along the line (t, 2t): one component captures everything.
        var line = Tensor(rows: 4, columns: 2, scalars: [1, 2, 2, 4, 3, 6, 4, 8])
        var pca = PCA(components: 1)
        try pca.fitTransform(&line)
        #expect(line.shape == [4, 1])
        #expect(abs(abs(line[3, 0] - line[0, 0]) - Float(45.0.squareRoot())) < 1e-4)
        #expect(abs(pca.explainedVariance!.scalars[0] - 6.25) < 1e-4)
    }

    @Test func pipelineSavesLoadsAndReproducesExactly() throws {
        var random = RandomSource(seed: 4)
        let train = Tensor.uniform(shape: [500, 12], using: &random)
        let test = Tensor.uniform(shape: [50, 12], using: &random)
        var pipeline = PreprocessingPipeline([GlobalContrastNormalization(useStd: true, sqrtBias: 10), ZCA(), Standardization(), PCA(components: 5, whiten: true)])
        var fitted = train
        try pipeline.fitTransform(&fitted)
        var expected = test
        try pipeline.transform(&expected)
        var checkpoint = SafeTensors(tensors: ["W": Tensor(zeros: [2, 2])])
        try pipeline.save(into: &checkpoint)
        let folder = TemporaryFolder()
        try checkpoint.write(to: folder.file("model.safetensors"))
        let loaded = try PreprocessingPipeline(checkpoint: SafeTensors.read(folder.file("model.safetensors")))
        #expect(loaded.summary == "gcn -> zca -> standardize -> pca")
        var again = test
        try loaded.transform(&again)
        #expect(again == expected)
        #expect(again.shape == [50, 5])
    }

    /// Color planes become interleaved pixels (a local stage's input), the
    /// step saves and loads with a pipeline, and data of another width is refused.
    @Test func channelPlanesAreInterleaved() throws {
        // A 1x2 image of 3 channels: planes r0 r1, g0 g1, b0 b1.
        var x = Tensor(shape: [2, 6], scalars: [1, 2, 10, 20, 100, 200, 3, 4, 30, 40, 300, 400])
        let step = ChannelInterleave(height: 1, width: 2, channels: 3)
        try step.transform(&x)
        #expect(x.scalars == [1, 10, 100, 2, 20, 200, 3, 30, 300, 4, 40, 400])
        var checkpoint = SafeTensors()
        try PreprocessingPipeline([step]).save(into: &checkpoint)
        let loaded = try PreprocessingPipeline(checkpoint: checkpoint)
        #expect(loaded.steps.first as? ChannelInterleave == step)
        var wide = Tensor(zeros: [1, 7])
        guard case .shapeMismatch? = strataError({ try step.transform(&wide) }) else { Issue.record("a row of 7 values interleaved as 1x2x3"); return }
    }

    @Test func misuseIsRefusedWithReasons() {
        var x = Tensor(zeros: [4, 3])
        guard case .invalidArgument("zca", _)? = strataError({ try ZCA().transform(&x) }) else { Issue.record("unfitted ZCA applied"); return }
        var zca = ZCA()
        var random = RandomSource(seed: 1)
        var train = Tensor.uniform(shape: [10, 4], using: &random)
        try? zca.fitTransform(&train)
        guard case .shapeMismatch(let context, _, _)? = strataError({ try zca.transform(&x) }) else { Issue.record("dimension mismatch accepted"); return }
        #expect(context.contains("fitted on 4 features"))
        var pca = PCA(components: 9)
        guard case .invalidArgument? = strataError({ try pca.fit(train) }) else { Issue.record("too many components accepted"); return }
        guard case .numerical? = strataError({ var z = ZCA(filterBias: 0); try z.fit(Tensor(zeros: [5, 3])) }) else {
            Issue.record("singular covariance accepted"); return
        }
    }

    /// Strata's GCN + ZCA against a NumPy float64 transliteration of pylearn2's
    /// code (scripts/pylearn2_reference.py), when NumPy is importable.
    @Test(.enabled(if: Python.has("numpy"), "needs python3 with NumPy (scripts/install-deps.sh installs it)"))
    func agreesWithPylearn2FormulasInNumPy() throws {
        let folder = TemporaryFolder()
        var random = RandomSource(seed: 8)
        let raw = Tensor.uniform(shape: [3000, 24], low: 0, high: 255, using: &random)
        var ours = raw
        var pipeline = PreprocessingPipeline([GlobalContrastNormalization(useStd: true, sqrtBias: 10), ZCA(filterBias: 0.1)])
        try pipeline.fitTransform(&ours)
        try NPY.write(raw, to: folder.file("raw.npy"))
        try NPY.write(ours, to: folder.file("strata.npy"))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/pylearn2_reference.py").path
        let (status, output) = Python.run([script, folder.file("raw.npy"), folder.file("strata.npy"), "--sqrt-bias", "10", "--filter-bias", "0.1"])
        print("pylearn2 reference: \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(status == 0, "\(output)")
    }
}
