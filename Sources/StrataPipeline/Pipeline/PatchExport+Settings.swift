import Foundation
import StrataCore
import StrataData
import StrataModels

extension PatchExport.Settings {
    /// The keys of a patch export, beside the images' (``ImageSettings``) and
    /// the preprocessing's (``PreprocessingPipeline/read(steps:settings:)``).
    public static let keys = ["split", "window", "stride", "random", "seed", "fit_count", "output", "save_preprocessing"]

    /// A patch export from `s` (the library's defaults for what is not given):
    /// the sliding window's `stride` and `fit_count` are refused with `random`
    /// (no sliding window), naming the key as the source does.
    public static func read(from s: SettingSource) throws -> PatchExport.Settings {
        var p = PatchExport.Settings()
        p.random = try s.positive("random", s.int)
        if p.random != nil { try s.refuseInapplicable(["stride", "fit_count"], "with \(s.name("random")) (no sliding window)") }
        p.images = try ImageSettings.read(from: s)
        p.images.split = try s.value("split", DataCatalog.Split.init(parsing:)) ?? .train
        if let w = try s.value("window", PairSetting.init(parsing:)) { p.window = .init(height: w.first, width: w.second) }
        if let t = try s.value("stride", PairSetting.init(parsing:)) { p.stride = .init(height: t.first, width: t.second) }
        if let seed = try s.seed("seed") { p.seed = seed }
        if let count = try s.positive("fit_count", s.int) { p.fitCount = count }
        (p.output, p.savePreprocessing) = (try s.text("output"), try s.text("save_preprocessing"))
        p.preprocessing = try PreprocessingPipeline.read(steps: try s.text("preprocess") ?? "", settings: s)
        return p
    }
}

extension PatchExport {
    /// What `preprocess` applies to a matrix: a saved fit (`load`, which
    /// refuses new steps and their settings) or the steps `preprocess` names, fitted here.
    public static func preprocessing(from s: SettingSource) throws -> (pipeline: PreprocessingPipeline, load: String?) {
        if let load = try s.text("load") {
            let stepSettings = ["preprocess"] + PreprocessingPipeline.stepKeys.flatMap { step, keys in keys.map { PreprocessingPipeline.flagKey(step: step, key: $0) } }
            try s.refuseInapplicable(stepSettings.sorted(), "with \(s.name("load")) (the saved fit is applied as it is)")
            return (PreprocessingPipeline(), load)
        }
        return (try PreprocessingPipeline.read(steps: try s.text("preprocess") ?? "", settings: s), nil)
    }
}
