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

/// The inputs that once aborted Strata with a trap or a failed allocation:
/// each is refused with an error that names the file and what is wrong.
@Suite struct HostileFileTests {
    static func npy(shape: String, payload: Data = Data()) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        return data + payload
    }

    static func png(width: UInt32, height: UInt32) -> Data {
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            var crc: UInt32 = 0xffff_ffff // CRC-32 as PNG defines it (ISO 3309), bit by bit
            for byte in typed {
                crc ^= UInt32(byte)
                for _ in 0 ..< 8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            crc ^= 0xffff_ffff
            return bigEndian(UInt32(body.count)) + typed + bigEndian(crc)
        }
        func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        let ihdr = bigEndian(width) + bigEndian(height) + [8, 0, 0, 0, 0]
        let idat: [UInt8] = [0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01] // zlib of one zero byte
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", []))
    }

    static func safetensors(header: String, payload: Int = 0) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        return data + Data(header.utf8) + Data(count: payload)
    }

    @Test func npyWhoseElementCountOverflowsIsRefused() {
        let error = strataError { _ = try NPY.parse(Self.npy(shape: "(4294967296, 4294967296)"), path: "big.npy") }
        #expect(error?.description.contains("big.npy: key 'shape'") == true, "\(String(describing: error))")
    }

    @Test func npyBeyondTheTensorLimitIsRefusedBeforeAllocating() {
        let error = strataError { _ = try NPY.parse(Self.npy(shape: "(100000, 100000)"), path: "limit.npy") }
        #expect(error?.description.contains("more than the limit") == true, "\(String(describing: error))")
    }

    @Test func oneDimensionalNPYIsRefusedAsTrainingData() throws {
        let folder = TemporaryFolder()
        let path = folder.write(Self.npy(shape: "(2,)", payload: Data(count: 8)), "one.npy")
        let error = strataError { _ = try Pretraining.prepare(.matrix(path: path), preprocessing: PreprocessingPipeline(), patchSeed: 1) }
        #expect(error?.description.contains("2-D") == true, "\(String(describing: error))")
    }

    @Test(arguments: [(UInt32(1_000_000), UInt32(1_000_000)), (65535, 65535), (0, 5)])
    func pngWithAbsurdDimensionsIsRefusedBeforeAllocating(width: UInt32, height: UInt32) {
        let error = strataError { _ = try PNGImage.decode(Self.png(width: width, height: height), path: "huge.png") }
        #expect(error?.description.hasPrefix("huge.png") == true, "\(String(describing: error))")
    }

    @Test func safetensorsWhoseShapeOverflowsIsRefused() {
        let file = Self.safetensors(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#)
        let error = strataError { _ = try SafeTensors.parse(file, path: "s.safetensors") }
        #expect(error?.description.contains("key 'w.shape'") == true, "\(String(describing: error))")
    }

    @Test func safetensorsHeaderLengthOfTwoToTheSixtyThirdIsRefused() {
        var file = Data()
        withUnsafeBytes(of: (UInt64(1) << 63).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: Array("{}".utf8))
        let error = strataError { _ = try SafeTensors.parse(file, path: "h.safetensors") }
        #expect(error?.description.contains("header length") == true, "\(String(describing: error))")
    }

    /// A stack file with `edit` applied to its metadata.
    static func tamperedStack(_ edit: (inout [String: String]) -> Void) throws -> SafeTensors {
        let contract = InputContract(dataset: "mnist", image: ImageGeometry(height: 2, width: 2))
        var pipeline = PreprocessingPipeline([PCA(components: 2)])
        var random = RandomSource(seed: 3)
        var sample = Tensor.uniform(shape: [20, 4], low: 0, high: 1, using: &random)
        try pipeline.fitTransform(&sample)
        let stack = try LayerStack(layers: [Autoencoder(.init(visibleCount: 2, hiddenCount: 3))], preprocessing: pipeline, extra: contract.metadata)
        var file = try stack.safeTensors()
        edit(&file.metadata)
        return file
    }

    @Test(arguments: [
        (#"hiddenCount\":3"#, #"hiddenCount\":100000000"#, "tensor 'weights'"),
        (#"hiddenCount\":3"#, #"hiddenCount\":10000000000"#, "layers[0].configuration"),
        ("\"height\":2", "\"height\":4294967296", "input.image.height"),
        ("\"height\":2", "\"height\":-28", "input.image.height"),
        ("\"components\":2", "\"components\":1e300", "pca.components"),
        ("\"kind\":\"autoencoder\"", "\"kind\":\"rbm\"", "rbm configuration"),
    ])
    func stackMetadataIsCheckedBeforeAnythingIsBuilt(find: String, replace: String, key: String) throws {
        let file = try Self.tamperedStack { metadata in
            for (name, value) in metadata where value.contains(find) { metadata[name] = value.replacingOccurrences(of: find, with: replace) }
        }
        let error = strataError { _ = try LayerStack.read(safeTensors: file, path: "t.safetensors") }
        #expect(error?.description.contains("t.safetensors") == true && error?.description.contains(key) == true, "\(String(describing: error))")
    }

    @Test func stackWithNoLayersIsRefused() throws {
        let file = try Self.tamperedStack { $0["layers"] = "[]" }
        let error = strataError { _ = try LayerStack.read(safeTensors: file, path: "e.safetensors") }
        #expect(error?.description.contains("no layers") == true, "\(String(describing: error))")
    }

    @Test func aNegativePrefixIsEmpty() throws {
        let data = try Dataset(name: "d", examples: Tensor(zeros: [3, 2]), labels: [0, 1, 0])
        #expect(data.prefix(-1).count == 0)
    }

    @Test func gzipThatLiesAboutItsSizeOrExpandsPastTheLimitIsRefused() throws {
        let zeros = try Gzip.compress(Data(count: 1 << 20))
        var lying = zeros
        lying.replaceSubrange(lying.count - 4 ..< lying.count, with: [0xff, 0xff, 0xff, 0xff])
        #expect(strataError { _ = try Gzip.decompress(lying, path: "l.gz") }?.description.contains("l.gz") == true) // checked, not allocated
        let error = strataError { _ = try Gzip.decompress(try Gzip.compress(Data(count: 4 << 20)), path: "bomb.gz", limit: 1 << 20) }
        #expect(error?.description.contains("bomb.gz") == true, "\(String(describing: error))")
    }

    @Test func labelsTooLargeForAnIntegerAreRefused() throws {
        let folder = TemporaryFolder()
        var data = NPY.preamble(descr: "<i8", shape: [1])
        withUnsafeBytes(of: Int64.max.littleEndian) { data.append(contentsOf: $0) }
        let path = folder.write(data, "labels.npy")
        let error = strataError { _ = try NPY.readIntegers(path) }
        #expect(error?.description.contains("is not a label") == true, "\(String(describing: error))")
    }
}
