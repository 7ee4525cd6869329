import Foundation
import StrataCore
import StrataData
import StrataModels

extension Pretraining.Input {
    /// The keys that choose what a layer trains on, beside the images' keys
    /// (``ImageSettings``), `preprocess` and the maps' keys (``FeatureSettings/keys``).
    public static let keys = ["input", "block_rows", "on", "window", "random"]

    /// What a pretraining run trains on, from the keys given: `input` (an
    /// `.npy` matrix; with `block_rows`, left on disk), `on` (a stack's
    /// features; with `window`, windows of its pooled maps, described by the
    /// maps' keys), or images (`dataset` ...; with `window`, `random` patches).
    /// A key that would not act in the combination given is refused, naming it
    /// as the source does (`--dataset does not apply with --input ...`).
    public static func read(from s: SettingSource) throws -> Pretraining.Input {
        let pixels = ["pixel_scale", "binarize"]
        let (matrix, stack, window) = (try s.text("input"), try s.text("on"), try s.text("window"))
        if stack == nil || window == nil {
            try s.refuseInapplicable(FeatureSettings.keys, "here: the maps' settings (\(FeatureSettings.keys.map(s.name).joined(separator: ", "))) describe a stack's pooled maps "
                                     + "and apply with \(s.name("on")) a patch-trained stack and \(s.name("window"))")
        }
        let blockRows = try readBlockRows(s)
        if let matrix {
            try s.refuseInapplicable(["dataset", "limit"] + pixels + ["window", "random", "on"], "with \(s.name("input")), which trains on the matrix as it is")
            guard let blockRows else { return .matrix(path: matrix) }
            try s.refuseInapplicable(["preprocess"], "with \(s.name("block_rows")): a matrix read from disk trains as it is (preprocess it when writing it)")
            return .matrixOnDisk(path: matrix, blockRows: blockRows)
        }
        try s.refuseInapplicable(["block_rows"], "without \(s.name("input")) (it reads an \(s.name("input")) matrix from disk)")
        let images = try ImageSettings.read(from: s)
        if let stack, window != nil {
            try s.refuseInapplicable(pixels, "with \(s.name("on")) and \(s.name("window")): the layer trains on windows of the stack's pooled maps of the images it records")
            return .maps(path: stack, features: try FeatureSettings.read(from: s), dataset: try s.text("dataset"), limit: images.limit,
                         patches: try patches(from: s))
        }
        if let stack {
            try s.refuseInapplicable(pixels + ["window", "random", "preprocess"],
                                     "with \(s.name("on")): the layer trains on the stack's features, with the pixel treatment and preprocessing the stack records")
            return .stack(path: stack, dataset: try s.text("dataset"), limit: images.limit)
        }
        if window == nil { try s.refuseInapplicable(["random"], "without \(s.name("window")) (random patches need a window size)") }
        return .images(images, patches: window == nil ? nil : try patches(from: s))
    }

    /// `random` windows (default ``Pretraining/PatchSettings/defaultCount``) of size `window` (given).
    static func patches(from s: SettingSource) throws -> Pretraining.PatchSettings {
        guard let pair = try s.value("window", PairSetting.init(parsing:)) else { throw s.failure("window", "a window size is needed for patches") }
        return Pretraining.PatchSettings(window: .init(height: pair.first, width: pair.second),
                                         count: try s.positive("random", s.int) ?? Pretraining.PatchSettings.defaultCount)
    }
}
