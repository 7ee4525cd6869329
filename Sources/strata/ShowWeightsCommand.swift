import ArgumentParser
import Strata

extension TileGrid.Rescale: ExpressibleByArgument {}
extension WeightViewer.Order: ExpressibleByArgument {}

struct ShowWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-weights",
        abstract: "Write a layer's filters as a PNG grid of tiles, laid out as pylearn2's show_weights.py does.",
        discussion: """
            A square grid of ceil(sqrt(n)) tiles with 5-pixel gray padding; each value v is shown as \
            0.5 v + 0.5 after rescaling (zero is gray, negative darker, positive lighter).
            """
    )

    @Argument(help: "A checkpoint written by strata pretrain, or a stack.safetensors.")
    var checkpoint: String
    @Option(help: "Of a stack: the layer to show (1 = bottom). Layers above the first are shown in input space: each unit's filter is the combination of the first layer's filters weighted by the layers between.")
    var layer: Int?
    @Option(name: .shortAndLong, help: "The PNG file to write.")
    var output = "weights.png"
    @Option(help: "individual (each tile by its own max |v|), global, or none.")
    var rescale: TileGrid.Rescale = .individual
    @Flag(help: "A 1-pixel black frame around each tile.")
    var border = false
    @Option(help: "Show only the first N filters.")
    var count: Int?
    @Option(help: "stored or norm (largest first).")
    var order: WeightViewer.Order = .stored
    @Option(help: "Each filter pixel drawn as an N x N block.")
    var scale = 1
    @Flag(help: "Undo the checkpoint's ZCA to show filters in input space (pylearn2 shows the whitened space).")
    var unwhiten = false

    func run() throws {
        var file: LearnerCheckpoint
        let stack = try LayerStack.read(checkpoint)
        if let layer, layer != 1 {
            guard (1 ... stack.layers.count).contains(layer) else { throw ValidationError("--layer \(layer): the stack has \(stack.layers.count) layers (\(stack.sizes))") }
            // W_1 W_2 ... W_k: upper units as patterns over the input.
            var combined = stack.layers[0].filters
            for k in 1 ..< layer { combined = combined.matmul(stack.layers[k].filters) }
            var c = Autoencoder.Configuration(visibleCount: combined.rows, hiddenCount: combined.columns)
            c.irange = 1
            let projected = try Autoencoder(configurationJSON: encodeConfiguration(c), parameters: ["weights": combined, "hidden_bias": Tensor(zeros: [combined.columns]),
                                                                                               "visible_bias": Tensor(zeros: [combined.rows])], trainingState: [:])
            file = LearnerCheckpoint(learner: projected, preprocessing: stack.preprocessing, extra: stack.extra)
        } else {
            file = LearnerCheckpoint(learner: stack.layers[0], preprocessing: stack.preprocessing, extra: stack.extra)
        }
        let geometry = try WeightViewer.geometry(of: file)
        let tiles = try WeightViewer.tiles(file, count: count, order: order, unwhiten: unwhiten)
        var grid = TileGrid(rescale: rescale, border: border)
        guard (1 ... 32).contains(scale) else { throw ValidationError("--scale must be 1...32") }
        grid.scale = scale
        let image = try grid.render(tiles, geometry: geometry)
        try image.write(to: output)
        print("wrote \(output): \(tiles.rows) filters of \(geometry), \(image.width)x\(image.height) pixels")
    }
}

import Foundation

func encodeConfiguration<T: Encodable>(_ value: T) throws -> String {
    String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
}
