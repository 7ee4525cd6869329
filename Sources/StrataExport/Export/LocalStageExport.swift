import StrataCore
import StrataModels

/// A ``LocalFeatureStage`` in ONNX operators (opset 13): the receptive
/// fields gathered by pixel index, one batched product with each position's
/// filters, L2 pooling as an average pool of squares, and local contrast
/// normalization as two convolutions with the Gaussian window over the maps' sums.
extension GraphBuilder {
    mutating func localStage(_ stage: LocalFeatureStage, _ x: String) -> String {
        let g = stage.geometry, (p, f, k) = (g.positions, g.fieldSize, g.maps)
        let fields = node("Gather", [x, integers("field_indices", g.fieldIndices, shape: [p * f])], ints: ["axis": 1])
        let byPosition = node("Transpose", [node("Reshape", [fields, integers("shape", [0, p, f], shape: [3])])], intLists: ["perm": [1, 0, 2]])
        let h = node("Transpose", [node("MatMul", [byPosition, constant("local_filters", stage.encoderPerPosition)])], intLists: ["perm": [1, 0, 2]])
        let maps = node("Transpose", [node("Reshape", [h, integers("shape", [0, g.filterRows, g.filterColumns, k], shape: [4])])], intLists: ["perm": [0, 3, 1, 2]])
        let q = Int64(g.poolSize), t = Int64(g.poolStride)
        let means = node("AveragePool", [node("Mul", [maps, maps])], intLists: ["kernel_shape": [q, q], "strides": [t, t]])
        let squares = node("Mul", [means, scalar(Float(g.poolSize * g.poolSize))])
        var out = node("Sqrt", [node("Add", [squares, scalar(stage.configuration.poolEpsilon)])])
        if g.normalizationSize > 0 { out = localContrastNormalize(out, g) }
        let interleaved = node("Transpose", [out], intLists: ["perm": [0, 2, 3, 1]])
        return node("Reshape", [interleaved, integers("shape", [0, g.outputSize], shape: [2])])
    }

    /// ``LocalContrastNormalization`` of `(n, maps, rows, columns)` maps.
    private mutating func localContrastNormalize(_ x: String, _ g: LocalStageGeometry) -> String {
        let lcn = LocalContrastNormalization(size: g.normalizationSize, rows: g.poolRows, columns: g.poolColumns, maps: g.maps)
        let (size, pad) = (g.normalizationSize, Int64(g.normalizationSize / 2))
        let window = constant("lcn_window", lcn.window, shape: [1, 1, size, size])
        let normalizer = constant("lcn_normalizer", lcn.normalizer, shape: [1, 1, g.poolRows, g.poolColumns])
        func windowMean(_ values: String) -> String {
            let summed = node("ReduceSum", [values, integers("axes", [1], shape: [1])], ints: ["keepdims": 1])
            return node("Div", [node("Conv", [summed, window], intLists: ["pads": [pad, pad, pad, pad]]), normalizer])
        }
        let v = node("Sub", [x, windowMean(x)])
        let s = node("Sqrt", [windowMean(node("Mul", [v, v]))])
        let c = node("ReduceMean", [s], intLists: ["axes": [2, 3]], ints: ["keepdims": 1])
        return node("Div", [v, node("Max", [node("Max", [s, c]), scalar(LocalContrastNormalization.floor)])])
    }
}

extension TorchExport.SequentialWriter {
    /// The `LocalStage` module's name, its constructor's arguments and its buffers.
    static func localStage(_ stage: LocalFeatureStage) -> (String, String, [String: Tensor]) {
        let g = stage.geometry
        var buffers = ["indices": Tensor(shape: [g.positions * g.fieldSize], scalars: g.fieldIndices.map(Float.init)), "weight": stage.encoderPerPosition]
        if g.normalizationSize > 0 {
            let lcn = LocalContrastNormalization(size: g.normalizationSize, rows: g.poolRows, columns: g.poolColumns, maps: g.maps)
            buffers["window"] = Tensor(shape: [1, 1, g.normalizationSize, g.normalizationSize], scalars: lcn.window)
            buffers["normalizer"] = Tensor(shape: [1, 1, g.poolRows, g.poolColumns], scalars: lcn.normalizer)
        }
        let arguments = [g.positions, g.fieldSize, g.maps, g.filterRows, g.filterColumns, g.poolSize, g.poolStride, g.poolRows, g.poolColumns, g.normalizationSize]
            .map(String.init).joined(separator: ", ") + ", \(stage.configuration.poolEpsilon), \(LocalContrastNormalization.floor)"
        return ("LocalStage", arguments, buffers)
    }
}

extension TorchExport {
    /// The generated module's class for a local stage.
    static let localStageDefinitions: [(name: String, source: String)] = [
        ("LocalStage", """
            class LocalStage(nn.Module):
                \"\"\"Le et al. (2012)'s stage: locally connected filters, L2 pooling, local contrast normalization.\"\"\"
                def __init__(self, positions, field, maps, rows, columns, pool, stride, pool_rows, pool_columns, window, epsilon, floor):
                    super().__init__()
                    self.positions, self.field, self.maps, self.rows, self.columns = positions, field, maps, rows, columns
                    self.pool, self.stride, self.window_size, self.epsilon, self.floor = pool, stride, window, epsilon, floor
                    self.register_buffer("indices", torch.zeros(positions * field))
                    self.register_buffer("weight", torch.zeros(positions, field, maps))
                    if window > 0:
                        self.register_buffer("window", torch.zeros(1, 1, window, window))
                        self.register_buffer("normalizer", torch.zeros(1, 1, pool_rows, pool_columns))

                def forward(self, x):
                    n = x.shape[0]
                    fields = x[:, self.indices.long()].reshape(n, self.positions, self.field)
                    h = torch.einsum("npf,pfk->npk", fields, self.weight).reshape(n, self.rows, self.columns, self.maps).permute(0, 3, 1, 2)
                    pooled = torch.nn.functional.avg_pool2d(h * h, self.pool, self.stride) * (self.pool * self.pool)
                    y = (pooled + self.epsilon).sqrt()
                    if self.window_size > 0:
                        pad = self.window_size // 2
                        def window_mean(values):
                            return torch.nn.functional.conv2d(values.sum(dim=1, keepdim=True), self.window, padding=pad) / self.normalizer
                        v = y - window_mean(y)
                        s = window_mean(v * v).sqrt()
                        d = torch.clamp(torch.maximum(s, s.mean(dim=(2, 3), keepdim=True)), min=self.floor)
                        y = v / d
                    return y.permute(0, 2, 3, 1).reshape(n, -1)
            """),
    ]
}
