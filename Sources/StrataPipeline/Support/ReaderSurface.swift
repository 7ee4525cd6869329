import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Every reader of untrusted bytes, by format name: what the libFuzzer
/// targets (`scripts/fuzz.sh`) and the test suite's seeded mutation tests
/// feed with damaged inputs. A reader may throw (a bad input is an error);
/// it must never trap, hang or allocate beyond ``Limits``.
public enum ReaderSurface {
    /// The format names, in the order `scripts/fuzz.sh all` runs them.
    public static let formats = ["idx", "gzip", "cifar10", "npy", "png", "safetensors", "metadata", "yaml", "resume", "export"]

    /// The reader for `format`. `bases` are valid Strata files (stacks,
    /// checkpoints, classifiers) for the `metadata`, `resume` and `export`
    /// formats: its input's first byte picks one, the rest is a JSON object
    /// that replaces its `__metadata__`, so damage reaches the decoding of
    /// configurations, input contracts, layer lists and preprocessing, not
    /// just the JSON; `resume` then resumes a checkpoint for real, `export`
    /// exports a classifier in memory (ONNX and PyTorch).
    public static func reader(_ format: String, bases: [SafeTensors] = []) -> ((Data) throws -> Void)? {
        switch format {
        case "idx": return { _ = try IDX.parse($0, path: "input.idx") }
        case "gzip":
            // The way an .idx.gz is read: decompress, then parse.
            return { data in if Gzip.isGzip(data) { _ = try IDX.parse(try Gzip.decompress(data, path: "input.gz"), path: "input.gz") } }
        case "cifar10": return { _ = try CIFAR10.parse(batches: [($0, "input.bin")]) }
        case "npy": return { _ = try NPY.parse($0, path: "input.npy") }
        case "png": return { _ = try PNGImage.decode($0, path: "input.png") }
        case "safetensors": return { _ = try SafeTensors.parse($0, path: "input.safetensors") }
        case "metadata":
            return { data in
                guard let first = data.first, !bases.isEmpty else { return }
                guard let metadata = try JSONSerialization.jsonObject(with: data.dropFirst()) as? [String: String] else { return }
                let file = SafeTensors(tensors: bases[Int(first) % bases.count].tensors, metadata: metadata)
                _ = try? LayerStack.read(safeTensors: file, path: "input.safetensors")
                _ = try? LearnerCheckpoint.read(safeTensors: file, path: "input.safetensors")
                _ = try? Classifier.read(safeTensors: file, path: "input.safetensors")
                _ = try? InputContract(metadata: file.metadata, path: "input.safetensors")
            }
        case "yaml": return { _ = try Experiment.parse(String(decoding: $0, as: UTF8.self), file: "input.yaml") }
        case "resume", "export":
            // As `metadata`, then the file is resumed (checkpoints, in a scratch
            // folder of this process) or exported in memory (classifiers).
            let scratch = NSTemporaryDirectory() + "strata-fuzz-\(getpid())"
            try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let fronts = ResumeSurface.localFronts(in: bases) // read once, not per input
            return { data in
                guard let first = data.first, !bases.isEmpty else { return }
                guard let metadata = try JSONSerialization.jsonObject(with: data.dropFirst()) as? [String: String] else { return }
                let file = SafeTensors(tensors: bases[Int(first) % bases.count].tensors, metadata: metadata)
                if format == "resume" { try ResumeSurface.resume(file, in: scratch, fronts: fronts) } else { try ResumeSurface.export(file) }
            }
        default: return nil
        }
    }

    /// The valid files in `folder` (sorted by name), the bases of the `metadata` format.
    public static func bases(in folder: String) -> [SafeTensors] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.filter { $0.hasSuffix(".safetensors") }.sorted().compactMap { try? SafeTensors.read(folder + "/" + $0) }
    }
}
