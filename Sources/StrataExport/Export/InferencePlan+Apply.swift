import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

extension InferencePlan {
    /// Runs the plan on raw examples `(n, inputCount)`, giving the scores
    /// `(n, classes)`: the reference an exported model is held to, written
    /// with Strata's own operations and no knowledge of the classifier's types.
    public func apply(_ raw: Tensor) throws -> Tensor {
        guard raw.rank == 2, raw.columns == inputCount else {
            throw StrataError.shapeMismatch(context: "raw examples for the exported plan", expected: [raw.rows, inputCount], found: raw.shape)
        }
        return try Self.run(steps, on: raw)
    }

    /// `steps` on a batch `x`, one plain loop per step.
    static func run(_ steps: [Step], on input: Tensor) throws -> Tensor {
        var x = input
        var images = input.rows
        for step in steps {
            switch step {
            case .scale(let factor):
                x.scale(by: factor)
            case .binarize:
                let (low, high) = x.minMax() ?? (0, 1)
                let threshold = (low + high) / 2
                x.apply { $0 > threshold ? 1 : 0 }
            case .contrastNormalize(let gcn):
                try gcn.transform(&x)
            case .removeRowMean:
                try RemoveExampleMean().transform(&x)
            case .subtract(let v):
                x.addToEachRow(v, alpha: -1)
            case .multiplyColumns(let v):
                x.multiplyEachRow(by: v)
            case .project(let p):
                x = x.matmul(p)
            case .dense(let layer):
                x = layer.forward(x)
            case .softThreshold(let dictionary, let alpha):
                x = Encoding.splitSoftThreshold(x.matmul(dictionary), alpha: alpha)
            case .centroids(let c, let hard):
                x = hard ? Encoding.hardAssignment(x, centroids: c) : Encoding.triangle(x, centroids: c)
            case .patches(let indices, let positions, let size):
                let source = x
                images = source.rows
                x = Tensor(zeros: [images * positions, size])
                for i in 0 ..< images {
                    for (k, index) in indices.enumerated() { x.scalars[i * indices.count + k] = source.scalars[i * source.columns + index] }
                }
            case .pool(let regionOf, let regions, let operation):
                x = Self.pool(x, images: images, regionOf: regionOf, regions: regions, operation: operation)
            case .localStage(let stage):
                x = stage.transform(x)
            case .softmax:
                softmaxRows(&x)
            case .branches(let chains):
                let outputs = try chains.map { try run($0, on: x) }
                var joined = Tensor(zeros: [x.rows, outputs.reduce(0) { $0 + $1.columns }])
                var first = 0
                for output in outputs {
                    for r in 0 ..< x.rows { for j in 0 ..< output.columns { joined.scalars[r * joined.columns + first + j] = output.scalars[r * output.columns + j] } }
                    first += output.columns
                }
                x = joined
            }
        }
        return x
    }

    /// `(images * positions, h)` pooled into `(images, regions * h)`.
    static func pool(_ h: Tensor, images: Int, regionOf: [Int], regions: Int, operation: Pooling.Operation) -> Tensor {
        let (positions, hidden) = (regionOf.count, h.columns)
        let counts = Pooling.positionCounts(regionOf: regionOf, regions: regions)
        var out = Tensor(shape: [images, regions * hidden], repeating: operation == .max ? -.infinity : 0)
        for i in 0 ..< images {
            for p in 0 ..< positions {
                for j in 0 ..< hidden {
                    let target = i * regions * hidden + regionOf[p] * hidden + j
                    let value = h.scalars[(i * positions + p) * hidden + j]
                    switch operation {
                    case .max: out.scalars[target] = max(out.scalars[target], value)
                    case .l2: out.scalars[target] += value * value
                    case .sum, .mean: out.scalars[target] += value
                    }
                }
            }
            if operation == .l2 {
                for k in 0 ..< regions * hidden { out.scalars[i * regions * hidden + k] = out.scalars[i * regions * hidden + k].squareRoot() }
            }
            if operation == .mean {
                for r in 0 ..< regions { for j in 0 ..< hidden { out.scalars[i * regions * hidden + r * hidden + j] *= 1 / counts[r] } }
            }
        }
        return out
    }

    /// The width of each step's output for `inputCount` values in, one per step.
    public var widths: [Int] { Self.widths(of: steps, from: inputCount) }

    /// The width of each of `steps`' outputs for `inputWidth` values in.
    static func widths(of steps: [Step], from inputWidth: Int) -> [Int] {
        var width = inputWidth
        return steps.map { step in
            switch step {
            case .scale, .binarize, .contrastNormalize, .removeRowMean, .subtract, .multiplyColumns, .softmax: break
            case .project(let p): width = p.columns
            case .localStage(let stage): width = stage.hiddenCount
            case .dense(let layer): width = layer.outputCount
            case .softThreshold(let d, _): width = 2 * d.columns
            case .centroids(let c, _): width = c.columns
            case .patches(_, _, let size): width = size
            case .pool(_, let regions, _): width *= regions
            case .branches(let chains): width = chains.reduce(0) { $0 + (widths(of: $1, from: width).last ?? width) }
            }
            return width
        }
    }

    /// Operations by name, in order, for messages and the export's summary.
    public var summary: String { Self.summary(of: steps) }

    static func summary(of steps: [Step]) -> String {
        steps.map { step -> String in
            switch step {
            case .scale(let f): "scale \(f)"
            case .binarize: "binarize"
            case .contrastNormalize: "gcn"
            case .removeRowMean: "remove row mean"
            case .subtract: "center"
            case .multiplyColumns: "scale columns"
            case .project(let p): "project \(p.rows)->\(p.columns)"
            case .dense(let layer): "dense \(layer.inputCount)->\(layer.outputCount) \(layer.activation.rawValue)"
            case .softThreshold(let d, let alpha): "soft threshold \(d.rows)->\(2 * d.columns) (alpha \(alpha))"
            case .centroids(let c, let hard): "\(hard ? "hard assignment" : "triangle") \(c.rows)->\(c.columns)"
            case .patches(_, let positions, let size): "patches \(positions)x\(size)"
            case .pool(_, let regions, let operation): "\(operation.rawValue) pool over \(regions) regions"
            case .localStage(let stage): "local stage \(stage.visibleCount)->\(stage.hiddenCount)"
            case .softmax: "softmax"
            case .branches(let chains): "[" + chains.map { summary(of: $0) }.joined(separator: " | ") + "] side by side"
            }
        }.joined(separator: " -> ")
    }
}
