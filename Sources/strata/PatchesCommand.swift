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
              strata patches --dataset cifar10 --window 8 --random 150000 --preprocess gcn,zca -o patches.npy
            """
    )

    @Option(help: "A dataset name (fashion-mnist, mnist, cifar10) or a folder of PNG images.")
    var dataset = "fashion-mnist"
    @Option(help: "train or test.")
    var split: DataCatalog.Split = .train
    @Option(help: "Use only the first N images.")
    var limit: Int?
    @Option(help: "Window size: N or HxW.")
    var window = "8"
    @Option(help: "Stride of the sliding window: N or YxX.")
    var stride = "1"
    @Option(help: "Draw N patches at random positions instead of sliding the window.")
    var random: Int?
    @Option(help: "Seed for random patches and the fitting sample.")
    var seed: UInt64 = 1
    @Option(help: "Sliding window: random patches to fit the preprocessing on.")
    var fitCount = 100_000
    @OptionGroup var preprocessing: PreprocessingOptions
    @Option(name: .shortAndLong, help: "Write the patches to this .npy file (omit to only measure).")
    var output: String?
    @Option(help: "Write the fitted preprocessing to this .safetensors file.")
    var savePreprocessing: String?
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if let random, random <= 0 { throw ValidationError("--random must be at least 1, not \(random)") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be at least 1") }
        if fitCount <= 0 { throw ValidationError("--fit-count must be at least 1") }
    }

    func run() throws {
        compute.apply()
        let (windowHeight, windowWidth) = try parsePair(window, name: "window")
        let (strideY, strideX) = try parsePair(stride, name: "stride")
        let loadStart = Date()
        var data = try DataCatalog().load(dataset, split: split)
        if let limit { data = data.prefix(limit) }
        guard let geometry = data.geometry else { throw ValidationError("\(data.name) has no image geometry; patches need images") }
        let shape = PatchShape(window: (windowHeight, windowWidth), stride: (strideY, strideX))
        try shape.validate(for: geometry)
        print("\(data.name): \(data.count) images of \(geometry), loaded in \(String(format: "%.2f", Date().timeIntervalSince(loadStart))) s")
        var pipeline = try preprocessing.makePipeline()
        var rng = RandomSource(seed: seed)
        let size = shape.patchSize(channels: geometry.channels)
        let start = Date()

        if let count = random {
            var (patches, _) = try PatchExtractor.random(data.examples, geometry: geometry, window: (windowHeight, windowWidth), count: count, using: &rng)
            try pipeline.fitTransform(&patches) { kind, fit, apply in
                print("  \(kind): fit \(String(format: "%.3f", fit)) s, apply \(String(format: "%.3f", apply)) s")
            }
            let seconds = Date().timeIntervalSince(start)
            print("\(patches.rows) random patches x \(patches.columns) values, preprocessing \(pipeline.summary), \(String(format: "%.2f", seconds)) s")
            if let output { try NPY.write(patches, to: output); print("wrote \(output)") }
        } else {
            if preprocessing.needsFitting {
                var (sample, _) = try PatchExtractor.random(data.examples, geometry: geometry, window: (windowHeight, windowWidth),
                                                            count: fitCount, using: &rng)
                try pipeline.fitTransform(&sample)
                print("fitted \(pipeline.summary) on \(fitCount) random patches")
            }
            let (rows, columns) = shape.positions(in: geometry)
            let total = data.count * rows * columns
            let bar = ProgressBar(total: total, label: "patches")
            var done = 0
            func stream(_ append: (Tensor) throws -> Void) throws {
                try PatchExtractor.forEachBatch(of: data.examples, geometry: geometry, shape: shape, imagesPerBatch: 1024) { patches, _ in
                    var batch = patches
                    try pipeline.transform(&batch)
                    try append(batch)
                    done += batch.rows
                    bar.update(done)
                }
            }
            let outColumns = pipeline.outputFeatures(for: size)
            if let output {
                try NPY.writeStreaming(rows: total, columns: outColumns, to: output) { append in try stream(append) }
            } else {
                try stream { _ in }
            }
            let seconds = Date().timeIntervalSince(start)
            bar.finish("\(total) patches")
            print("\(total) patches (\(data.count) images x \(rows)x\(columns) positions) x \(outColumns) values, " +
                  "\(shape), preprocessing \(pipeline.summary): \(String(format: "%.2f", seconds)) s, " +
                  "\(String(format: "%.1f", Double(total) / seconds / 1e6)) M patches/s")
            if let output { print("wrote \(output)") }
        }
        if let savePreprocessing {
            var checkpoint = SafeTensors(metadata: ["patch_shape": "\(windowHeight)x\(windowWidth)", "channels": "\(geometry.channels)"])
            try pipeline.save(into: &checkpoint)
            try checkpoint.write(to: savePreprocessing)
            print("wrote \(savePreprocessing)")
        }
    }
}

struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Fit preprocessing on an .npy matrix and apply it (or apply a saved fit).",
        discussion: "Example: strata preprocess x.npy --preprocess gcn,zca -o y.npy --save-preprocessing prep.safetensors"
    )

    @Argument(help: "An .npy file of shape (examples, features).")
    var input: String
    @OptionGroup var preprocessing: PreprocessingOptions
    @Option(help: "Apply the preprocessing saved in this .safetensors file instead of fitting.")
    var load: String?
    @Option(name: .shortAndLong, help: "The .npy file to write.")
    var output: String
    @Option(help: "Write the fitted preprocessing to this .safetensors file.")
    var savePreprocessing: String?

    func run() throws {
        var x = try NPY.read(input).tensor
        if x.rank != 2 { x = x.reshaped([x.rows, x.columns]) }
        var pipeline: PreprocessingPipeline
        if let load {
            pipeline = try PreprocessingPipeline(checkpoint: SafeTensors.read(load), path: load)
            try pipeline.transform(&x)
        } else {
            pipeline = try preprocessing.makePipeline()
            try pipeline.fitTransform(&x)
        }
        try NPY.write(x, to: output)
        print("wrote \(output): \(x.shape), preprocessing \(pipeline.summary)")
        if let savePreprocessing {
            var checkpoint = SafeTensors()
            try pipeline.save(into: &checkpoint)
            try checkpoint.write(to: savePreprocessing)
            print("wrote \(savePreprocessing)")
        }
    }
}
