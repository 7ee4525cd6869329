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
        let own: [String: String?] = ["split": split, "window": window, "stride": stride, "random": random.map(String.init), "seed": seed.map(String.init),
                                      "fit_count": fitCount.map(String.init), "output": output, "save_preprocessing": savePreprocessing]
        return try PatchExport.Settings.read(from: FlagSettings(own.merging(images.settings) { a, _ in a }.merging(pixels.settings) { a, _ in a }
            .merging(preprocessing.settings) { a, _ in a }))
    }

    func validate() throws {
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

    var flags: FlagSettings { FlagSettings(preprocessing.settings.merging(["load": load]) { a, _ in a }) }

    func validate() throws {
        try settingsFailure { _ = try PatchExport.preprocessing(from: flags) }
    }

    func run() throws {
        _ = try compute.applied()
        let (pipeline, load) = try PatchExport.preprocessing(from: flags)
        try PatchExport.preprocess(input: input, preprocessing: pipeline, load: load, output: output, savePreprocessing: savePreprocessing)
    }
}
