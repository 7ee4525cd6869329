import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Writing patches and preprocessed matrices to `.npy` files: the stages
/// behind `strata patches` (pylearn2's quick-start `make_dataset` step) and `strata preprocess`.
public enum PatchExport {
    /// What `strata patches` extracts and how it preprocesses it.
    public struct Settings: Sendable {
        public var images = ImageSettings()
        public var window = InputContract.Window(height: 8, width: 8)
        /// Sliding-window stride (ignored with `random`).
        public var stride = InputContract.Window(height: 1, width: 1)
        /// Draw this many patches at random positions instead of sliding the window.
        public var random: Int?
        /// Seed of random patches and of the sample the preprocessing is fitted on.
        public var seed: UInt64 = 1
        /// Sliding window: random patches to fit the preprocessing on.
        public var fitCount = 100_000
        public var preprocessing = PreprocessingPipeline()
        /// The `.npy` file to write (nil: only measure).
        public var output: String?
        /// The `.safetensors` file for the fitted preprocessing and its input contract.
        public var savePreprocessing: String?
        public init() {}
    }

    /// Extracts, preprocesses and writes the patches, streaming in batches for a sliding window.
    public static func run(_ s: Settings, log: StageLog = { print($0) }) throws {
        let loadStart = Date()
        let data = try s.images.load()
        guard let geometry = data.geometry else { throw StrataError.invalidArgument(name: "dataset", reason: "\(data.name) has no image geometry; patches need images") }
        let shape = PatchShape(window: (s.window.height, s.window.width), stride: (s.stride.height, s.stride.width))
        try shape.validate(for: geometry)
        log("\(data.name): \(data.count) images of \(geometry), loaded in \(String(format: "%.2f", Date().timeIntervalSince(loadStart))) s")
        var pipeline = s.preprocessing
        var rng = RandomSource(seed: s.seed)
        let start = Date()
        if let count = s.random {
            guard count >= 1 else { throw StrataError.invalidArgument(name: "random", reason: "\(count) must be at least 1") }
            var (patches, _) = try PatchExtractor.random(data.examples, geometry: geometry, window: (s.window.height, s.window.width), count: count, using: &rng)
            try pipeline.fitTransform(&patches) { kind, fit, apply in log("  \(kind): fit \(String(format: "%.3f", fit)) s, apply \(String(format: "%.3f", apply)) s") }
            log("\(patches.rows) random patches x \(patches.columns) values, preprocessing \(pipeline.summary), \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
            if let output = s.output { try NPY.write(patches, to: output); log("wrote \(output)") }
        } else {
            if pipeline.steps.contains(where: { !$0.isFitted }) {
                var (sample, _) = try PatchExtractor.random(data.examples, geometry: geometry, window: (s.window.height, s.window.width), count: s.fitCount, using: &rng)
                try pipeline.fitTransform(&sample)
                log("fitted \(pipeline.summary) on \(s.fitCount) random patches")
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
            let outColumns = pipeline.outputFeatures(for: shape.patchSize(channels: geometry.channels))
            if let output = s.output { try NPY.writeStreaming(rows: total, columns: outColumns, to: output) { append in try stream(append) } } else { try stream { _ in } }
            let seconds = Date().timeIntervalSince(start)
            bar.finish("\(total) patches")
            log("\(total) patches (\(data.count) images x \(rows)x\(columns) positions) x \(outColumns) values, \(shape), preprocessing \(pipeline.summary): " +
                "\(String(format: "%.2f", seconds)) s, \(String(format: "%.1f", Double(total) / seconds / 1e6)) M patches/s")
            if let output = s.output { log("wrote \(output)") }
        }
        if let path = s.savePreprocessing {
            var contract = s.images.contract(geometry: geometry)
            contract.patchWindow = s.window
            var checkpoint = SafeTensors(metadata: contract.metadata)
            try pipeline.save(into: &checkpoint)
            try checkpoint.write(to: path)
            log("wrote \(path)")
        }
    }

    /// Fits `preprocessing` on the 2-D `.npy` matrix at `input` (or applies the
    /// fit saved in `load`), writes the result to `output` and optionally the fit to `savePreprocessing`.
    public static func preprocess(input: String, preprocessing: PreprocessingPipeline, load: String?, output: String, savePreprocessing: String?,
                                  log: StageLog = { print($0) }) throws {
        var x = try NPY.read(input).tensor
        guard x.rank == 2 else { throw StrataError.shapeMismatch(context: "\(input): preprocessing takes a 2-D matrix, one example per row", expected: [-1, -1], found: x.shape) }
        var pipeline = preprocessing
        if let load {
            guard preprocessing.steps.isEmpty else { throw StrataError.invalidArgument(name: "preprocess", reason: "give the steps or a saved fit (--load), not both") }
            pipeline = try PreprocessingPipeline(checkpoint: SafeTensors.read(load), path: load)
            try pipeline.transform(&x)
        } else {
            try pipeline.fitTransform(&x)
        }
        try NPY.write(x, to: output)
        log("wrote \(output): \(x.shape), preprocessing \(pipeline.summary)")
        if let savePreprocessing {
            var checkpoint = SafeTensors()
            try pipeline.save(into: &checkpoint)
            try checkpoint.write(to: savePreprocessing)
            log("wrote \(savePreprocessing)")
        }
    }
}
