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

@Suite struct IDXTests {
    let images = Tensor(shape: [3, 2, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7, 250, 251, 254, 255])

    @Test func readsRawAndGzipUbyte() throws {
        let folder = TemporaryFolder()
        let bytes = IDX.encode(images, as: .uint8)
        #expect(Array(bytes.prefix(4)) == [0, 0, 0x08, 3])
        let raw = folder.write(bytes, "images-idx3-ubyte")
        let gz = folder.write(try Gzip.compress(bytes), "images-idx3-ubyte.gz")
        for path in [raw, gz] {
            let (tensor, type) = try IDX.read(path)
            #expect(type == .uint8)
            #expect(tensor == images)
        }
    }

    @Test(arguments: IDX.ElementType.allCases)
    func readsEveryElementTypeBigEndian(type: IDX.ElementType) throws {
        let values = Tensor(shape: [2, 3], scalars: [-3, -1, 0, 1, 7, 100])
        let expected = type == .uint8 ? Tensor(shape: [2, 3], scalars: [0, 0, 0, 1, 7, 100]) : values
        let folder = TemporaryFolder()
        let path = folder.write(IDX.encode(values, as: type), "values.idx")
        let (tensor, readType) = try IDX.read(path)
        #expect(readType == type)
        #expect(tensor == expected)
    }

    @Test func int32IsBigEndianOnDisk() throws {
        let data = IDX.encode(Tensor(shape: [1], scalars: [258]), as: .int32)
        #expect(Array(data.suffix(4)) == [0, 0, 1, 2])
    }

    @Test func readsLabels() throws {
        let folder = TemporaryFolder()
        let path = folder.write(IDX.encode(Tensor(shape: [4], scalars: [3, 1, 4, 1]), as: .uint8), "labels-idx1-ubyte")
        #expect(try IDX.readLabels(path) == [3, 1, 4, 1])
    }

    @Test func refusesTruncatedFiles() throws {
        let folder = TemporaryFolder()
        let bytes = IDX.encode(images, as: .uint8)
        let path = folder.write(bytes.prefix(bytes.count - 1), "short-idx3-ubyte")
        let error = strataError { _ = try IDX.read(path) }
        #expect(error == .truncated(path: path, expected: bytes.count, found: bytes.count - 1, what: "3x2x2 elements of type uint8"))
        #expect(error?.description.contains(path) == true)
        let header = folder.write(bytes.prefix(9), "header-idx3-ubyte")
        guard case .truncated = strataError({ _ = try IDX.read(header) }) else { Issue.record("header truncation not reported"); return }
        let gz = try Gzip.compress(bytes)
        let gzPath = folder.write(gz.prefix(gz.count / 2), "short.gz")
        guard case .truncated = strataError({ _ = try IDX.read(gzPath) }) else { Issue.record("gzip truncation not reported"); return }
    }

    @Test func refusesWrongMagic() {
        let folder = TemporaryFolder()
        let path = folder.write(Data([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 1, 9]), "archive.zip")
        guard case .badMagic(let p, _, let found)? = strataError({ _ = try IDX.read(path) }) else {
            Issue.record("wrong magic not reported"); return
        }
        #expect(p == path && found == "50 4b 03 04")
        let unknownType = folder.write(Data([0, 0, 0x07, 1, 0, 0, 0, 1, 9]), "type7.idx")
        guard case .badMagic? = strataError({ _ = try IDX.read(unknownType) }) else { Issue.record("unknown type not reported"); return }
    }

    @Test func refusesMissingFileAndCorruptGzip() {
        let folder = TemporaryFolder()
        #expect(strataError { _ = try IDX.read(folder.file("nope")) } == .fileNotFound(path: folder.file("nope")))
        var gz = [UInt8](try! Gzip.compress(IDX.encode(images, as: .uint8)))
        for i in 12 ..< gz.count - 8 { gz[i] ^= 0x5A }
        let path = folder.write(Data(gz), "corrupt.gz")
        guard case .corrupt? = strataError({ _ = try IDX.read(path) }) else { Issue.record("corrupt gzip not reported"); return }
    }
}
