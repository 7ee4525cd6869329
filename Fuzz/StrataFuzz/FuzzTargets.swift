import Foundation
import Strata

// libFuzzer entry point for Strata's readers. Built only by scripts/fuzz.sh
// (STRATA_FUZZ=1 swift build --sanitize=fuzzer --sanitize=address), never by
// the normal build. The environment variable STRATA_FUZZ_TARGET picks the
// reader; each input is handed to it, and any error it throws is the expected
// outcome for a bad input. A trap, a sanitizer report, a leak or a timeout is a bug.

/// The readers that can be fuzzed, by name.
let targets: [String: (Data) throws -> Void] = [
    "idx": { _ = try IDX.parse($0, path: "fuzz.idx") },
    "gzip": { data in
        // The way an .idx.gz is read: decompress, then parse.
        if Gzip.isGzip(data) { _ = try IDX.parse(try Gzip.decompress(data, path: "fuzz.gz"), path: "fuzz.gz") }
    },
    "cifar10": { _ = try CIFAR10.parse(batches: [($0, "fuzz.bin")]) },
    "npy": { _ = try NPY.parse($0, path: "fuzz.npy") },
    "png": { _ = try PNGImage.decode($0, path: "fuzz.png") },
    "safetensors": { _ = try SafeTensors.parse($0, path: "fuzz.safetensors") },
    // Strata's own metadata: byte 0 picks one of the valid files in
    // $STRATA_FUZZ_BASES (stacks, checkpoints, classifiers), the rest is a JSON
    // object that replaces its `__metadata__`; the result is read as each of
    // Strata's formats would read it. Mutations thus reach the decoding of
    // configurations, contracts, layer lists and preprocessing, not just the JSON.
    "metadata": { data in
        guard let first = data.first, !bases.isEmpty else { return }
        let json = try JSONSerialization.jsonObject(with: data.dropFirst())
        guard let metadata = json as? [String: String] else { return }
        let file = SafeTensors(tensors: bases[Int(first) % bases.count].tensors, metadata: metadata)
        _ = try? LayerStack.read(safeTensors: file, path: "fuzz.safetensors")
        _ = try? LearnerCheckpoint.read(safeTensors: file, path: "fuzz.safetensors")
        _ = try? Classifier.read(safeTensors: file, path: "fuzz.safetensors")
        _ = try? InputContract(metadata: file.metadata, path: "fuzz.safetensors")
    },
    "yaml": { data in
        _ = try Experiment.parse(String(decoding: data, as: UTF8.self), file: "fuzz.yaml")
    },
]

/// The files the metadata target varies, in name order.
let bases: [SafeTensors] = {
    guard let folder = ProcessInfo.processInfo.environment["STRATA_FUZZ_BASES"],
          let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
    return names.filter { $0.hasSuffix(".safetensors") }.sorted().compactMap { try? SafeTensors.read(folder + "/" + $0) }
}()

let selected: (Data) throws -> Void = {
    let name = ProcessInfo.processInfo.environment["STRATA_FUZZ_TARGET"] ?? ""
    guard let target = targets[name] else {
        let known = targets.keys.sorted().joined(separator: ", ")
        FileHandle.standardError.write(Data("set STRATA_FUZZ_TARGET to one of: \(known)\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    do { try selected(data) } catch is StrataError {} catch {}
    return 0
}
