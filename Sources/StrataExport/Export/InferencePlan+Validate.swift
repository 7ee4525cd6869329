import Foundation
import StrataCore
import StrataModels

extension InferencePlan {
    /// Checks the plan end to end before anything is written from it: each
    /// step's input width is the previous step's output (a dense layer's rows,
    /// a projection's, a vector's length), a patch step reads only pixels of
    /// its input and a pooling step has a region for each position, the last
    /// width is one score per class, and every number is finite.
    /// - Throws: ``StrataError/shapeMismatch(context:expected:found:)`` naming
    ///   the step, or ``StrataError/invalidArgument(name:reason:)`` for a
    ///   non-finite value.
    public func validate() throws {
        let width = try Self.validate(steps, from: inputCount, positions: nil, at: "")
        guard width == classNames.count else {
            throw StrataError.shapeMismatch(context: "the plan's scores against its \(classNames.count) class names", expected: [classNames.count], found: [width])
        }
    }

    /// The width after `steps` from `inputWidth` (and the window positions
    /// per image when the rows are patches), checking each step on the way.
    static func validate(_ steps: [Step], from inputWidth: Int, positions start: Int?, at prefix: String) throws -> Int {
        var (width, positions) = (inputWidth, start)
        for (i, step) in steps.enumerated() {
            let name = "\(prefix)step \(i + 1) (\(summary(of: [step])))"
            func expect(_ needed: Int, _ what: String) throws {
                guard needed == width else { throw StrataError.shapeMismatch(context: "\(name): \(what) for \(width) values in", expected: [width], found: [needed]) }
            }
            func finite(_ values: [Float], _ what: String) throws {
                guard values.allSatisfy(\.isFinite) else { throw StrataError.invalidArgument(name: name, reason: "\(what): a value is not finite (NaN or infinity)") }
            }
            switch step {
            case .binarize, .removeRowMean, .softmax: break
            case .scale(let factor): try finite([factor], "the scale")
            case .contrastNormalize(let g): try finite([g.scale, g.sqrtBias, g.minDivisor], "the contrast normalization")
            case .subtract(let v): try expect(v.count, "a vector to subtract"); try finite(v.scalars, "the vector")
            case .multiplyColumns(let v): try expect(v.count, "a column scale"); try finite(v.scalars, "the column scale")
            case .project(let p): try expect(p.rows, "a projection's rows"); try finite(p.scalars, "the projection"); width = p.columns
            case .localStage(let stage):
                try expect(stage.visibleCount, "a local stage's input"); try finite(stage.encoder.scalars, "the local stage's filters"); width = stage.hiddenCount
            case .dense(let layer):
                try expect(layer.inputCount, "a dense layer's inputs")
                try finite(layer.weights.scalars, "the weights"); try finite(layer.bias.scalars, "the bias")
                width = layer.outputCount
            case .softThreshold(let d, let alpha): try expect(d.rows, "a dictionary's rows"); try finite(d.scalars + [alpha], "the dictionary"); width = 2 * d.columns
            case .centroids(let c, _): try expect(c.rows, "centroids' rows"); try finite(c.scalars, "the centroids"); width = c.columns
            case .patches(let indices, let count, let size):
                guard count >= 1, size >= 1, indices.count == count * size, indices.allSatisfy({ (0 ..< width).contains($0) }) else {
                    throw StrataError.shapeMismatch(context: "\(name): \(count) windows of \(size) pixels, each read from the \(width) in", expected: [count * size], found: [indices.count])
                }
                (width, positions) = (size, count)
            case .pool(let regionOf, let regions, _):
                guard let count = positions, regionOf.count == count, regions >= 1, regionOf.allSatisfy({ (0 ..< regions).contains($0) }) else {
                    throw StrataError.shapeMismatch(context: "\(name): a region for each window position", expected: [positions ?? 0], found: [regionOf.count])
                }
                (width, positions) = (width * regions, nil)
            case .branches(let chains):
                width = try chains.enumerated().reduce(0) { $0 + (try validate($1.element, from: width, positions: positions, at: "\(name), branch \($1.offset + 1): ")) }
                positions = nil
            }
        }
        return width
    }
}
