import ArgumentParser
import Strata

struct ShowWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-weights",
        abstract: "Write a layer's filters as a PNG grid of tiles, laid out as pylearn2's show_weights.py does.",
        discussion: """
            A square grid of ceil(sqrt(n)) tiles with 5-pixel gray padding; each value v is shown as \
            0.5 v + 0.5 after rescaling (zero is gray, negative darker, positive lighter).
              strata show-weights runs/grbm_smd/stack.safetensors --unwhiten -o filters.png
            """
    )

    @Argument(help: "A stack.safetensors, or a checkpoint written by strata pretrain.")
    var checkpoint: String
    @Option(name: .shortAndLong, help: "The PNG file to write.")
    var output = "weights.png"
    @OptionGroup(title: "Tiles") var tiles: TileOptions

    func validate() throws { _ = try tiles.settings() }

    func run() throws {
        print(try Pictures.weights(of: try LayerStack.read(checkpoint), to: output, settings: try tiles.settings()))
    }
}

/// Which filters are drawn, and how.
struct TileOptions: ParsableArguments {
    @Option(help: "Of a stack: the layer to show (1 = the bottom). Layers above the first are shown in input space: each unit's filter is the combination of the first layer's filters weighted by the layers between.")
    var layer = 1
    @Option(help: "individual (each tile by its own max |v|), global, or none.")
    var rescale: TileGrid.Rescale = .individual
    @Option(help: "Show only the first N filters.")
    var count: Int?
    @Option(help: "stored or norm (largest first).")
    var order: WeightViewer.Order = .stored
    @Option(help: "Each filter pixel drawn as an N x N block, N from 1 to 32.")
    var scale = 1
    @Flag(help: "A 1-pixel black frame around each tile.")
    var border = false
    @Flag(help: "Undo the checkpoint's ZCA to show filters in input space (pylearn2 shows the whitened space).")
    var unwhiten = false

    func settings() throws -> Pictures.WeightSettings {
        guard (1 ... 32).contains(scale) else { throw ValidationError("--scale must lie in 1...32, not \(scale)") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1, not \(count)") }
        var s = Pictures.WeightSettings()
        (s.layer, s.rescale, s.border, s.count, s.order, s.scale, s.unwhiten) = (layer, rescale, border, count, order, scale, unwhiten)
        return s
    }
}
