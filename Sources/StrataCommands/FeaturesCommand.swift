import ArgumentParser
import Foundation
import Strata

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write a stack's features of a dataset, with labels, to .npy files.",
        discussion: """
            A stack trained on images gives each image's hidden means at --layer. A stack trained on \
            patches is applied convolutionally: at every window position (--stride), its hidden maps \
            pooled over a grid of regions (--pool, --pool-op). The images are the ones the stack records \
            (--dataset may name another dataset only if it is the same). Writes OUT (float32, examples x \
            features) and OUT with .labels.npy (int64) when the data is labeled.

              strata features runs/grbm_smd/stack.safetensors --split test \\
                --stride 2 -o test.npy
            """
    )

    @Argument(help: "A stack.safetensors (or one layer's model.safetensors).")
    var stack: String
    @OptionGroup(title: "Data") var images: ImageOptions
    @Option(help: "train or test (default train).")
    var split: String?
    @OptionGroup(title: "Features") var features: FeatureOptions
    @Option(name: .shortAndLong, help: "The .npy file to write.")
    var output: String
    @Flag(help: "With --dataset OTHER: features of another dataset's images (self-taught learning); a patch-trained stack reads any images its window fits with its channels.")
    var selfTaught = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        let loaded = try LayerStack.read(stack)
        let split = try FlagSettings(["split": self.split]).value("split", DataCatalog.Split.init(parsing:)) ?? .train
        let imageSettings = try ImageSettings(contract: InputContract(metadata: loaded.extra, path: stack), dataset: images.dataset,
                                              split: split, limit: images.limit, what: stack, selfTaught: selfTaught)
        try FeatureExtraction.run(stack: loaded, name: stack, images: imageSettings, features: try FeatureSettings.read(from: FlagSettings(features.settings)),
                                  output: output, compute: try compute.announced())
    }
}
