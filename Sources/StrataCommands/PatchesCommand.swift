import ArgumentParser
import Foundation
import Strata

struct PatchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patches",
        abstract: "Extract image patches and preprocess them (the quick start's make_dataset step).",
        discussion: """
            Sliding window (every position, streamed in batches) or --random N patches. Patches are \
            rows of window-height x window-width x channels values, channel-planar. Preprocessing steps \
            that need fitting (zca, standardize, pca) are fitted on the random patches, or in sliding-window \
            mode on --fit-count patches drawn at random, then applied to every patch as it streams.

            pylearn2's quick start on CIFAR-10 is:
              strata patches --dataset cifar10 --window 8 --random 150000 \\
                --preprocess gcn,zca -o patches.npy
            """
    )

    @OptionGroup(title: "Data") var images: ImageOptions
    @OptionGroup(title: "Data") var pixels: PixelOptions
    @Option(help: "train or test (default train).")
    var split: String?
    @Option(help: "Window size: N or HxW (default \(PatchExport.Settings().window)).")
    var window: String?
    @Option(help: "Stride of the sliding window: N or YxX (default \(PatchExport.Settings().stride); refused with --random).")
    var stride: String?
    @Option(help: "Draw N patches at random positions instead of sliding the window.")
    var random: Int?
    @Option(help: "Seed for random patches and the fitting sample (default \(PatchExport.Settings().seed)).")
    var seed: UInt64?
    @Option(help: "Sliding window: random patches to fit the preprocessing on (default \(PatchExport.Settings().fitCount); refused with --random).")
    var fitCount: Int?
    @OptionGroup(title: "Preprocessing") var preprocessing: PreprocessingOptions
    @Option(name: .shortAndLong, help: "Write the patches to this .npy file (omit to only measure).")
    var output: String?
    @Option(help: "Write the fitted preprocessing (and what it was fitted on) to this .safetensors file.")
    var savePreprocessing: String?
    @OptionGroup var compute: ComputeOptions

    func settings() throws -> PatchExport.Settings {
        if random != nil { try refuse(["--stride": stride, "--fit-count": fitCount.map(String.init)], "with --random (no sliding window)") }
        var s = PatchExport.Settings()
        let flags = FlagSettings(images.settings.merging(pixels.settings) { a, _ in a }.merging(["window": window, "stride": stride, "split": split]) { a, _ in a })
        s.images = try ImageSettings.read(from: flags)
        s.images.split = try flags.value("split", DataCatalog.Split.init(parsing:)) ?? .train
        if let w = try flags.value("window", PairSetting.init(parsing:)) { s.window = .init(height: w.first, width: w.second) }
        if let t = try flags.value("stride", PairSetting.init(parsing:)) { s.stride = .init(height: t.first, width: t.second) }
        (s.random, s.output, s.savePreprocessing) = (random, output, savePreprocessing)
        if let seed { s.seed = seed }
        if let fitCount { guard fitCount >= 1 else { throw ValidationError("--fit-count must be at least 1") }; s.fitCount = fitCount }
        s.preprocessing = try preprocessing.pipeline()
        return s
    }

    func validate() throws {
        if let random, random <= 0 { throw ValidationError("--random must be at least 1, not \(random)") }
        try settingsFailure { _ = try settings() }
    }

    func run() throws {
        _ = try compute.applied()
        try PatchExport.run(try settings())
    }
}

struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Fit preprocessing on an .npy matrix and apply it (or apply a saved fit).",
        discussion: """
            The matrix is 2-D, one example per row. Fit and save, then apply the same fit to other data:
              strata preprocess x.npy --preprocess gcn,zca -o y.npy \\
                --save-preprocessing prep.safetensors
              strata preprocess test.npy --load prep.safetensors -o test_white.npy
            """
    )

    @Argument(help: "An .npy file of shape (examples, features).")
    var input: String
    @OptionGroup(title: "Preprocessing") var preprocessing: PreprocessingOptions
    @Option(help: "Apply the preprocessing saved in this .safetensors file instead of fitting.")
    var load: String?
    @Option(name: .shortAndLong, help: "The .npy file to write.")
    var output: String
    @Option(help: "Write the fitted preprocessing to this .safetensors file.")
    var savePreprocessing: String?
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if load != nil { try refuse(["--preprocess": preprocessing.given ? "" : nil], "with --load (the saved fit is applied as it is)") }
        try settingsFailure { _ = try preprocessing.pipeline() }
    }

    func run() throws {
        _ = try compute.applied()
        try PatchExport.preprocess(input: input, preprocessing: try preprocessing.pipeline(), load: load, output: output, savePreprocessing: savePreprocessing)
    }
}
