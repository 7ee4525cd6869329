import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

@Suite struct SafeTensorsTests {
    let checkpoint = SafeTensors(
        tensors: ["weights": Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6.5]),
                  "bias": Tensor(shape: [3], scalars: [-1, 0, 1e-3])],
        metadata: ["model": "{\"nhid\": 3}", "strata_version": "0.1.0"])

    @Test func roundTripKeepsTensorsAndMetadata() throws {
        let folder = TemporaryFolder()
        let path = folder.file("model.safetensors")
        try checkpoint.write(to: path)
        let loaded = try SafeTensors.read(path)
        #expect(loaded.tensors == checkpoint.tensors)
        #expect(loaded.metadata == checkpoint.metadata)
        let bytes = try checkpoint.encoded()
        #expect((bytes.littleEndianUInt64(at: 0)) % 8 == 0)
    }

    /// A tensor streamed in pieces (a split model's checkpoint) writes the
    /// bytes the held tensor writes; one that makes the wrong number of values
    /// is refused naming it, and leaves no file.
    @Test func aStreamedTensorWritesTheHeldTensorsBytes() throws {
        let folder = TemporaryFolder()
        var streamed = checkpoint
        let weights = checkpoint.tensors["weights"]!
        streamed.tensors["weights"] = nil
        streamed.streamed["weights"] = StreamedTensor(shape: [2, 3]) { write in
            try weights.withUnsafeBufferPointer { all in
                for start in stride(from: 0, to: 6, by: 4) { try write(UnsafeBufferPointer(rebasing: all[start ..< min(start + 4, 6)])) }
            }
        }
        try checkpoint.write(to: folder.file("held.safetensors"))
        try streamed.write(to: folder.file("streamed.safetensors"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("held.safetensors"))) == Data(contentsOf: URL(fileURLWithPath: folder.file("streamed.safetensors"))))
        streamed.streamed["weights"] = StreamedTensor(shape: [2, 3]) { write in
            try weights.withUnsafeBufferPointer { try write(UnsafeBufferPointer(rebasing: $0[0 ..< 5])) }
        }
        guard case .invalidArgument(let name, _)? = strataError({ try streamed.write(to: folder.file("short.safetensors")) }) else {
            Issue.record("a short stream was written"); return
        }
        #expect(name == "weights")
        #expect(!FileManager.default.fileExists(atPath: folder.file("short.safetensors")))
    }

    /// A file laid out by hand from the format's specification, as another
    /// writer (NumPy's safetensors) would produce it.
    @Test func readsAFileWrittenFromTheSpecification() throws {
        let header = #"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"I32","shape":[1,1],"data_offsets":[16,20]},"c":{"dtype":"F16","shape":[1],"data_offsets":[20,22]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        for v in [1.25, -3.0] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        withUnsafeBytes(of: Int32(-7).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: [0x00, 0x3C]) // F16 1.0
        let file = try SafeTensors.parse(data, path: "spec.safetensors")
        #expect(file.tensors["a"]?.scalars == [1.25, -3])
        #expect(file.tensors["b"] == Tensor(shape: [1, 1], scalars: [-7]))
        #expect(file.tensors["c"]?.scalars == [1])
    }

    @Test func refusesBadFiles() throws {
        let good = try checkpoint.encoded()
        guard case .truncated? = strataError({ _ = try SafeTensors.parse(good.prefix(good.count - 4), path: "t") }) else {
            Issue.record("truncated data accepted"); return
        }
        guard case .truncated? = strataError({ _ = try SafeTensors.parse(good.prefix(5), path: "t") }) else {
            Issue.record("truncated length accepted"); return
        }
        func file(_ header: String, payload: Int) -> Data {
            var data = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: Array(header.utf8))
            data.append(Data(count: payload))
            return data
        }
        guard case .badKey(_, "w.dtype", _)? = strataError({
            _ = try SafeTensors.parse(file(#"{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}"#, payload: 4), path: "d")
        }) else { Issue.record("unknown dtype accepted"); return }
        guard case .badKey(_, "w.data_offsets", _)? = strataError({
            _ = try SafeTensors.parse(file(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, payload: 12), path: "s")
        }) else { Issue.record("shape/byte mismatch accepted"); return }
        guard case .corrupt? = strataError({
            _ = try SafeTensors.parse(file(#"{"u":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, payload: 8), path: "o")
        }) else { Issue.record("overlapping tensors accepted"); return }
        guard case .corrupt? = strataError({ _ = try SafeTensors.parse(file("not json at all", payload: 0), path: "j") }) else {
            Issue.record("non-JSON header accepted"); return
        }
        guard case .truncated? = strataError({ _ = try SafeTensors.parse(file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, payload: 8), path: "x") }) else {
            Issue.record("offsets past the end accepted"); return
        }
    }

    /// Interoperability with Python's reference reader and writer, when
    /// `safetensors` and NumPy are importable (the README's test command installs them).
    @Test(.enabled(if: Python.has("safetensors.numpy", "numpy"), "needs python3 with safetensors and NumPy (scripts/install-deps.sh installs them)"))
    func pythonReadsWhatStrataWritesAndBack() throws {
        let folder = TemporaryFolder()
        let ours = folder.file("strata.safetensors")
        try checkpoint.write(to: ours)
        let theirs = folder.file("python.safetensors")
        let script = """
            import numpy as np, safetensors.numpy as st
            d = st.load_file('\(ours)')
            assert np.array_equal(d['weights'], np.array([[1,2,3],[4,5,6.5]], dtype=np.float32)), d['weights']
            assert np.array_equal(d['bias'], np.array([-1,0,1e-3], dtype=np.float32)), d['bias']
            st.save_file({'x': np.arange(6, dtype=np.float32).reshape(2,3) / 4, 'y': np.array([1.5, 2.5])}, '\(theirs)', metadata={'k': 'v'})
            """
        let result = Python.run(["-c", script])
        #expect(result.status == 0, "python: \(result.output)")
        let loaded = try SafeTensors.read(theirs)
        #expect(loaded.tensors["x"] == Tensor(shape: [2, 3], scalars: [0, 0.25, 0.5, 0.75, 1, 1.25]))
        #expect(loaded.tensors["y"]?.scalars == [1.5, 2.5])
        #expect(loaded.metadata == ["k": "v"])
    }
}

@Suite struct AtomicFileTests {
    @Test func aFailedWriteLeavesTheOldFileAndNoLitter() throws {
        let folder = TemporaryFolder()
        let path = folder.file("out.bin")
        try AtomicFile.write(Data([1, 2, 3]), to: path)
        struct Boom: Error {}
        #expect(throws: (any Error).self) {
            try AtomicFile.write(to: path) { handle in
                try handle.write(contentsOf: Data([9, 9]))
                throw Boom()
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.bin"])
    }

    /// A killed run leaves `.NAME.PID.RANDOM.tmp`; the next write of NAME removes
    /// it when PID is gone, and leaves a live process's temporary alone.
    @Test func theNextWriteRemovesTemporariesOfDeadProcesses() throws {
        let folder = TemporaryFolder()
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let stale = folder.write(Data([1]), ".model.safetensors.\(dead.processIdentifier).42.tmp")
        let live = folder.write(Data([2]), ".model.safetensors.1.43.tmp") // pid 1 is always running
        let other = folder.write(Data([3]), ".other.bin.\(dead.processIdentifier).44.tmp")
        try AtomicFile.write(Data([4]), to: folder.file("model.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(FileManager.default.fileExists(atPath: other))
    }
}
