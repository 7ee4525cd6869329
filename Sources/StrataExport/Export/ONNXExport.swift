import Foundation
import SwiftProtobuf
import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

/// An ``InferencePlan`` as an ONNX model (opset 13, IR version 7): input
/// `pixels` `(batch, inputCount)` Float32, the raw values as Strata loads them;
/// outputs `scores` `(batch, classes)` (probabilities or decision values) and
/// `label` `(batch)` Int64. The messages are ONNX's own, from the `.proto`
/// in `Proto/` compiled by swift-protobuf, so any ONNX runtime reads the file.
///
/// Each step becomes standard operators: pixel scale `Mul`; binarize
/// `ReduceMin`/`ReduceMax`/`Greater`/`Cast`; GCN `ReduceMean`,
/// `ReduceSumSquare`, `Sqrt`, `Where`, `Div`; ZCA and PCA `Sub` + `MatMul`;
/// a layer `Gemm` + its activation; the soft threshold `MatMul`, `Relu`,
/// `Concat`; convolutional windows one `Gather` of the pixels by index;
/// sum and mean pooling a `MatMul` with the region matrix (L2 pooling the
/// same on squares, then `Sqrt`), max pooling one `Gather` + `ReduceMax` per region.
public enum ONNXExport {
    /// The serialized model.
    public static func model(_ plan: InferencePlan, producerVersion: String) throws -> Data {
        var graph = GraphBuilder()
        var x = "pixels"
        let widths = plan.widths
        for (i, step) in plan.steps.enumerated() { x = try graph.add(step, input: x, inputWidth: i == 0 ? plan.inputCount : widths[i - 1]) }
        graph.node("Identity", [x], ["scores"])
        graph.node("ArgMax", ["scores"], ["label"], ints: ["axis": 1, "keepdims": 0])

        var proto = Onnx_GraphProto()
        proto.name = "strata_classifier"
        proto.node = graph.nodes
        proto.initializer = graph.initializers
        proto.input = [valueInfo("pixels", type: .float, dims: [nil, plan.inputCount])]
        proto.output = [valueInfo("scores", type: .float, dims: [nil, plan.classNames.count]),
                        valueInfo("label", type: .int64, dims: [nil])]
        proto.docString = "Strata classifier: \(plan.summary)"

        var model = Onnx_ModelProto()
        model.irVersion = 7
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = 13
        model.opsetImport = [opset]
        model.producerName = "strata"
        model.producerVersion = producerVersion
        model.graph = proto
        model.metadataProps = [
            entry("class_names", encodeJSON(plan.classNames)),
            entry("scores", plan.scoresAreProbabilities ? "probabilities" : "decision values"),
            entry("input", "raw pixel values as Strata loads them, row-major, one example per row"),
        ]
        return try model.serializedData()
    }

    private static func entry(_ key: String, _ value: String) -> Onnx_StringStringEntryProto {
        var e = Onnx_StringStringEntryProto()
        (e.key, e.value) = (key, value)
        return e
    }

    private static func valueInfo(_ name: String, type: Onnx_TensorProto.DataType, dims: [Int?]) -> Onnx_ValueInfoProto {
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(type.rawValue)
        tensor.shape.dim = dims.map { size in
            var d = Onnx_TensorShapeProto.Dimension()
            if let size { d.dimValue = Int64(size) } else { d.dimParam = "batch" }
            return d
        }
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }
}

/// Nodes and initializers of one graph, with unique names.
struct GraphBuilder {
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    private var counter = 0

    mutating func fresh(_ stem: String) -> String {
        counter += 1
        return "\(stem)_\(counter)"
    }

    /// A node; returns its first output.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String]? = nil, intLists: [String: [Int64]] = [:],
                       ints: [String: Int64] = [:], floats: [String: Float] = [:]) -> String {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = fresh(op)
        n.input = inputs
        n.output = outputs ?? [fresh(op.lowercased())]
        for (name, value) in ints.sorted(by: { $0.key < $1.key }) {
            var a = Onnx_AttributeProto()
            (a.name, a.type, a.i) = (name, .int, value)
            n.attribute.append(a)
        }
        for (name, value) in floats.sorted(by: { $0.key < $1.key }) {
            var a = Onnx_AttributeProto()
            (a.name, a.type, a.f) = (name, .float, value)
            n.attribute.append(a)
        }
        for (name, values) in intLists.sorted(by: { $0.key < $1.key }) {
            var a = Onnx_AttributeProto()
            (a.name, a.type, a.ints) = (name, .ints, values)
            n.attribute.append(a)
        }
        nodes.append(n)
        return n.output[0]
    }

    /// A Float32 initializer of `shape`.
    mutating func constant(_ stem: String, _ values: [Float], shape: [Int]) -> String {
        var t = Onnx_TensorProto()
        t.name = fresh(stem)
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = shape.map(Int64.init)
        t.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) } // little-endian, as ONNX's raw_data requires on x86-64 and arm64
        initializers.append(t)
        return t.name
    }

    mutating func constant(_ stem: String, _ tensor: Tensor) -> String { constant(stem, tensor.scalars, shape: tensor.shape) }

    mutating func scalar(_ value: Float) -> String { constant("c", [value], shape: []) }

    /// An Int64 initializer of `shape`.
    mutating func integers(_ stem: String, _ values: [Int], shape: [Int]) -> String {
        var t = Onnx_TensorProto()
        t.name = fresh(stem)
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.dims = shape.map(Int64.init)
        t.rawData = values.map(Int64.init).withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(t)
        return t.name
    }

    /// Adds the nodes of one plan step reading `x`; returns the step's output.
    mutating func add(_ step: InferencePlan.Step, input x: String, inputWidth: Int) throws -> String {
        switch step {
        case .scale(let factor):
            return node("Mul", [x, scalar(factor)])
        case .binarize:
            let low = node("ReduceMin", [x], ints: ["keepdims": 0]), high = node("ReduceMax", [x], ints: ["keepdims": 0])
            let threshold = node("Mul", [node("Add", [low, high]), scalar(0.5)])
            return node("Cast", [node("Greater", [x, threshold])], ints: ["to": Int64(Onnx_TensorProto.DataType.float.rawValue)])
        case .contrastNormalize(let gcn):
            return contrastNormalize(gcn, x)
        case .removeRowMean:
            return node("Sub", [x, node("ReduceMean", [x], intLists: ["axes": [1]], ints: ["keepdims": 1])])
        case .subtract(let v):
            return node("Sub", [x, constant("mean", v.scalars, shape: [v.count])])
        case .multiplyColumns(let v):
            return node("Mul", [x, constant("factors", v.scalars, shape: [v.count])])
        case .project(let p):
            return node("MatMul", [x, constant("projection", p)])
        case .dense(let layer):
            let z = node("Gemm", [x, constant("weights", layer.weights), constant("bias", layer.bias.scalars, shape: [layer.bias.count])])
            switch layer.activation {
            case .maxout:
                // (n, units · k) -> (n, units, k), each unit's largest piece.
                let pieces = node("Reshape", [z, integers("shape", [-1, layer.outputCount, layer.pieces], shape: [3])])
                return node("ReduceMax", [pieces], intLists: ["axes": [2]], ints: ["keepdims": 0])
            case .sigmoid: return node("Sigmoid", [z])
            case .tanh: return node("Tanh", [z])
            case .relu: return node("Relu", [z])
            case .leakyRelu: return node("LeakyRelu", [z], floats: ["alpha": Activation.leakySlope])
            case .linear: return z
            }
        case .centroids(let c, let hard):
            // |x - c|² = |x|² - 2 x·c + |c|², clamped at zero; |x|² as (x*x) times a column of ones.
            let lengths = c.columnSquaredNorms()
            let norms = node("MatMul", [node("Mul", [x, x]), constant("ones", [Float](repeating: 1, count: c.rows), shape: [c.rows, 1])])
            let cross = node("MatMul", [x, constant("centroids", c.scalars.map { -2 * $0 }, shape: c.shape)])
            let squared = node("Relu", [node("Add", [node("Add", [cross, norms]), constant("lengths", lengths, shape: [c.columns])])])
            if hard {
                let nearest = node("ReduceMin", [squared], intLists: ["axes": [1]], ints: ["keepdims": 1])
                return node("Cast", [node("Equal", [squared, nearest])], ints: ["to": Int64(Onnx_TensorProto.DataType.float.rawValue)])
            }
            let z = node("Sqrt", [squared])
            return node("Relu", [node("Sub", [node("ReduceMean", [z], intLists: ["axes": [1]], ints: ["keepdims": 1]), z])])
        case .softThreshold(let dictionary, let alpha):
            let z = node("MatMul", [x, constant("dictionary", dictionary)])
            let a = scalar(alpha)
            let positive = node("Relu", [node("Sub", [z, a])]), negative = node("Relu", [node("Sub", [node("Neg", [z]), a])])
            return node("Concat", [positive, negative], ints: ["axis": 1])
        case .patches(let indices, let positions, let size):
            let windows = node("Gather", [x, integers("window_indices", indices, shape: [positions, size])], ints: ["axis": 1])
            return node("Reshape", [windows, integers("shape", [-1, size], shape: [2])])
        case .pool(let regionOf, let regions, let operation):
            return pool(x, width: inputWidth, regionOf: regionOf, regions: regions, operation: operation)
        case .localStage(let stage):
            return localStage(stage, x)
        case .softmax:
            return node("Softmax", [x], ints: ["axis": 1])
        case .branches(let chains):
            var outputs: [String] = []
            for chain in chains {
                var (y, width) = (x, inputWidth)
                for (step, out) in zip(chain, InferencePlan.widths(of: chain, from: inputWidth)) { (y, width) = (try add(step, input: y, inputWidth: width), out) }
                outputs.append(y)
            }
            return node("Concat", outputs, ints: ["axis": 1])
        }
    }

    /// GCN of each row, as ``GlobalContrastNormalization/transform(_:)`` computes it.
    private mutating func contrastNormalize(_ gcn: GlobalContrastNormalization, _ x: String) -> String {
        let mean = node("ReduceMean", [x], intLists: ["axes": [1]], ints: ["keepdims": 1])
        let centered = node("Sub", [x, mean])
        let spreadOf = gcn.useStd || gcn.subtractMean ? centered : x
        var spread = node("ReduceSumSquare", [spreadOf], intLists: ["axes": [1]], ints: ["keepdims": 1])
        if gcn.useStd {
            // n - 1 from the input's own width: Shape, Gather(1), Cast, Sub 1.
            let width = node("Cast", [node("Gather", [node("Shape", [x]), integers("axis", [1], shape: [])], ints: ["axis": 0])],
                             ints: ["to": Int64(Onnx_TensorProto.DataType.float.rawValue)])
            spread = node("Div", [spread, node("Sub", [width, scalar(1)])])
        }
        let divisor = node("Div", [node("Sqrt", [node("Add", [spread, scalar(gcn.sqrtBias)])]), scalar(gcn.scale)])
        let safe = node("Where", [node("Less", [divisor, scalar(gcn.minDivisor)]), scalar(1), divisor])
        return node("Div", [gcn.subtractMean ? centered : x, safe])
    }

    /// `(n * positions, h) -> (n, regions * h)`, region-major.
    private mutating func pool(_ x: String, width: Int, regionOf: [Int], regions: Int, operation: Pooling.Operation) -> String {
        let positions = regionOf.count
        // (n * positions, h) -> (n, positions, h), the batch inferred.
        let maps = node("Reshape", [x, integers("shape", [-1, positions, width], shape: [3])])
        switch operation {
        case .l2:
            // sqrt of the region sums of squares: the sum pooling of the squared maps.
            let squares = node("Mul", [x, x])
            return node("Sqrt", [pool(squares, width: width, regionOf: regionOf, regions: regions, operation: .sum)])
        case .sum, .mean:
            let counts = Pooling.positionCounts(regionOf: regionOf, regions: regions)
            var matrix = [Float](repeating: 0, count: positions * regions)
            for (p, r) in regionOf.enumerated() { matrix[p * regions + r] = operation == .mean ? 1 / counts[r] : 1 }
            let byUnit = node("Transpose", [maps], intLists: ["perm": [0, 2, 1]])                       // (n, h, positions)
            let pooled = node("MatMul", [byUnit, constant("regions", matrix, shape: [positions, regions])]) // (n, h, regions)
            let byRegion = node("Transpose", [pooled], intLists: ["perm": [0, 2, 1]])                   // (n, regions, h)
            return node("Reshape", [byRegion, integers("shape", [-1, regions * width], shape: [2])])
        case .max:
            let parts = (0 ..< regions).map { r -> String in
                let members = regionOf.indices.filter { regionOf[$0] == r }
                let cell = node("Gather", [maps, integers("region", members, shape: [members.count])], ints: ["axis": 1])
                return node("ReduceMax", [cell], intLists: ["axes": [1]], ints: ["keepdims": 0])
            }
            return parts.count == 1 ? parts[0] : node("Concat", parts, ints: ["axis": 1])
        }
    }
}
