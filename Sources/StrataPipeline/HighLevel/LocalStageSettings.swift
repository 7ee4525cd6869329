import StrataCore
import StrataData
import StrataModels
import StrataTraining

/// One stage of a ``HighLevelFeatures`` stack as settings give it: the
/// shape of its locally connected filters, pooling and normalization, its
/// objective's weights, and its training. The input's shape comes from the
/// stage below (or the images). YAML keys and flags share these names.
public struct LocalStageSettings: Sendable {
    public var field = 6, stride = 2, maps = 8
    public var pool = 3, poolStride = 1
    /// Local contrast normalization's window (odd; 0: none).
    public var lcn = 5
    public var tied = false
    public var sparsityWeight: Float = 0.1
    /// First weights uniform in [-irange, irange]; 0: `1 / sqrt(fieldSize)`.
    public var irange: Float = 0
    public var seed: UInt64 = 1
    public var training = TrainingConfiguration()

    public init() {}

    /// Every key of a stage (`training` holds the training loop's keys).
    public static let keys = ["field", "stride", "maps", "pool", "pool_stride", "lcn", "tied", "sparsity_weight", "irange", "seed"]

    /// The stage's learner configuration over `input` images (interleaved channels).
    public func configuration(input: ImageGeometry) throws -> LocalFeatureStage.Configuration {
        var c = LocalFeatureStage.Configuration(geometry: LocalStageGeometry(input: input, field: field, stride: stride, maps: maps,
                                                                             poolSize: pool, poolStride: poolStride, normalizationSize: lcn))
        (c.tied, c.sparsityWeight, c.irange, c.seed) = (tied, sparsityWeight, irange, seed)
        try c.validate()
        return c
    }

    /// Reads a stage from `s` and its training from `t`; `seed` is the default of the stage's seed.
    public static func read(from s: SettingSource, training t: SettingSource, seed defaultSeed: UInt64) throws -> LocalStageSettings {
        var stage = LocalStageSettings()
        if let v = try s.positive("field", s.int) { stage.field = v }
        if let v = try s.positive("stride", s.int) { stage.stride = v }
        if let v = try s.positive("maps", s.int) { stage.maps = v }
        if let v = try s.positive("pool", s.int) { stage.pool = v }
        if let v = try s.positive("pool_stride", s.int) { stage.poolStride = v }
        if let v = try s.int("lcn") {
            guard v >= 0, v == 0 || v % 2 == 1 else { throw s.failure("lcn", "the window side must be odd, or 0 for no normalization; found \(v)") }
            stage.lcn = v
        }
        if let v = try s.bool("tied") { stage.tied = v }
        if let v = try s.float("irange") {
            guard v >= 0 else { throw s.failure("irange", "must be 0 (1 / sqrt(field values)) or more, found \(v)") }
            stage.irange = v
        }
        if let v = try s.float("sparsity_weight") {
            guard v >= 0 else { throw s.failure("sparsity_weight", "must be 0 or more, found \(v)") }
            stage.sparsityWeight = v
        }
        stage.seed = try s.seed("seed") ?? defaultSeed
        stage.training = try TrainingConfiguration.read(from: t)
        stage.training.seed = stage.seed
        return stage
    }

    /// One line: `6x6 fields / 2, 8 maps, L2 pool 3/1, LCN 5, lambda 0.1; batch 100, lr 0.01, up to 5 epochs`.
    public var summary: String {
        let shape = "\(field)x\(field) fields / \(stride), \(maps) maps\(tied ? " (tied: a convolution)" : " (untied)"), L2 pool \(pool)/\(poolStride)"
        let normalization = lcn > 0 ? ", LCN \(lcn)x\(lcn)" : ""
        let t = training
        return shape + normalization + ", lambda \(sparsityWeight); batch \(t.batchSize), lr \(t.learningRate), up to \(counted(t.maxEpochs, "epoch"))"
    }
}
