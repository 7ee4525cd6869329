import Foundation
import Strata
@testable import StrataCore
@testable import StrataModels
import Testing

/// The local stage's forward pass: local contrast normalization against its
/// formula, and ``LocalFeatureStage/transform(_:)``'s shared buffers under
/// callers at once.
@Suite struct LocalStageForwardTests {
    /// LCN by its definition (the type's documentation), in Double, for one example `(rows, columns, maps)`.
    static func normalizedByDefinition(_ values: [Float], _ lcn: LocalContrastNormalization) -> [Double] {
        let (rows, columns, maps, size) = (lcn.rows, lcn.columns, lcn.maps, lcn.size), radius = size / 2
        func windowMean(_ value: (Int, Int, Int) -> Double, _ y: Int, _ x: Int) -> Double {
            var (sum, weight) = (0.0, 0.0)
            for p in 0 ..< size {
                for q in 0 ..< size {
                    let (yy, xx) = (y + p - radius, x + q - radius)
                    guard yy >= 0, yy < rows, xx >= 0, xx < columns else { continue }
                    let w = Double(lcn.window[p * size + q])
                    for k in 0 ..< maps { sum += w * value(yy, xx, k) }
                    weight += w * Double(maps)
                }
            }
            return sum / weight
        }
        func at(_ y: Int, _ x: Int, _ k: Int) -> Double { Double(values[(y * columns + x) * maps + k]) }
        var v = [Double](repeating: 0, count: values.count), s = [Double](repeating: 0, count: rows * columns)
        for y in 0 ..< rows {
            for xx in 0 ..< columns {
                let m = windowMean(at, y, xx)
                for k in 0 ..< maps { v[(y * columns + xx) * maps + k] = at(y, xx, k) - m }
            }
        }
        for y in 0 ..< rows {
            for xx in 0 ..< columns { s[y * columns + xx] = windowMean({ v[($0 * columns + $1) * maps + $2] * v[($0 * columns + $1) * maps + $2] }, y, xx).squareRoot() }
        }
        let c = s.reduce(0, +) / Double(s.count)
        return v.indices.map { v[$0] / max(s[$0 / maps], c, Double(LocalContrastNormalization.floor)) }
    }

    @Test func localContrastNormalizationFollowsItsFormulaAtTheEdgesToo() {
        let lcn = LocalContrastNormalization(size: 5, rows: 7, columns: 6, maps: 3)
        var random = RandomSource(seed: 11)
        let x = Tensor.uniform(shape: [3, lcn.count], low: -2, high: 2, using: &random)
        let out = Tensor(shape: x.shape, unsafeUninitialized: { o in x.withUnsafeBufferPointer { lcn.forward($0.baseAddress!, examples: 3, into: o.baseAddress!) } })
        var largest = 0.0
        for e in 0 ..< 3 {
            let expected = Self.normalizedByDefinition(Array(x.scalars[e * lcn.count ..< (e + 1) * lcn.count]), lcn)
            for (i, value) in expected.enumerated() { largest = max(largest, abs(Double(out.scalars[e * lcn.count + i]) - value)) }
        }
        print("LCN against its formula in Double: largest difference \(largest)")
        #expect(largest < 1e-5)
    }

    @Test func transformGivesEachOfManyCallersAtOnceItsOwnResult() async throws {
        let stage = try LocalFeatureStage(LocalFeatureStage.Configuration(geometry: smallLocalGeometry()))
        var random = RandomSource(seed: 12)
        let inputs = [3, 7, 5, 7].map { Tensor.uniform(shape: [$0, stage.visibleCount], low: -1, high: 1, using: &random) }
        let expected = inputs.map { try! LocalFeatureStage(LocalFeatureStage.Configuration(geometry: smallLocalGeometry())).transform($0) }
        let agree = await withTaskGroup(of: Bool.self) { group in
            for caller in 0 ..< 8 {
                group.addTask {
                    (0 ..< 20).allSatisfy { round in
                        let i = (caller + round) % inputs.count
                        return stage.transform(inputs[i]).scalars == expected[i].scalars
                    }
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(agree, "a caller got another's values from the shared buffers")
    }
}
