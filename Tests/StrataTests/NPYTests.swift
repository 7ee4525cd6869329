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

@Suite struct NPYTests {
    /// An .npy file built by hand from the format's specification.
    func handMade(descr: String, shape: String, payload: [UInt8], version: UInt8 = 1) -> Data {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        let preamble = version == 1 ? 10 : 12
        header += String(repeating: " ", count: (64 - (preamble + header.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [version, 0])
        if version == 1 {
            data.append(contentsOf: [UInt8(header.count & 0xff), UInt8(header.count >> 8)])
        } else {
            data.append(contentsOf: [UInt8(header.count & 0xff), UInt8(header.count >> 8), 0, 0])
        }
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: payload)
        return data
    }

    @Test func float32RoundTripAndAlignedHeader() throws {
        let folder = TemporaryFolder()
        let t = Tensor(shape: [2, 3], scalars: [1.5, -2, 0, 3.25, 1e-8, 7])
        let path = folder.file("x.npy")
        try NPY.write(t, to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let array = try NPY.read(path)
        #expect(array.tensor == t && array.descr == "<f4")
        try NPY.write(integers: [3, -1, 9], to: folder.file("y.npy"))
        #expect(try NPY.readIntegers(folder.file("y.npy")) == [3, -1, 9])
    }

    @Test func readsFloat64Uint8AndBigEndian() throws {
        let folder = TemporaryFolder()
        var f8: [UInt8] = []
        for v in [0.5, -4.0] { withUnsafeBytes(of: v.bitPattern.littleEndian) { f8 += $0 } }
        #expect(try NPY.parse(handMade(descr: "<f8", shape: "(2,)", payload: f8), path: "f8").tensor.scalars == [0.5, -4])
        #expect(try NPY.parse(handMade(descr: "|u1", shape: "(2, 2)", payload: [0, 1, 128, 255]), path: "u1").tensor
            == Tensor(shape: [2, 2], scalars: [0, 1, 128, 255]))
        var be: [UInt8] = []
        withUnsafeBytes(of: Float(2.5).bitPattern.bigEndian) { be += $0 }
        #expect(try NPY.parse(handMade(descr: ">f4", shape: "(1,)", payload: be, version: 2), path: "be").tensor.scalars == [2.5])
        let scalar = try NPY.parse(handMade(descr: "<f4", shape: "()", payload: Array(withUnsafeBytes(of: Float(3).bitPattern) { Array($0) })), path: "s")
        #expect(scalar.tensor.shape == [] && scalar.tensor.scalars == [3])
        _ = folder
    }

    @Test func refusesBadFiles() {
        let good = handMade(descr: "<f4", shape: "(2, 2)", payload: [UInt8](repeating: 0, count: 16))
        guard case .truncated(_, let expected, let found, _)? = strataError({ _ = try NPY.parse(good.prefix(good.count - 3), path: "a.npy") }) else {
            Issue.record("truncated data accepted"); return
        }
        #expect(expected == good.count && found == good.count - 3)
        guard case .badMagic? = strataError({ _ = try NPY.parse(Data("PK\u{3}\u{4}xxxxxxxxxx".utf8), path: "b.npy") }) else {
            Issue.record("wrong magic accepted"); return
        }
        let fortran = handMade(descr: "<f4", shape: "(1,)", payload: [0, 0, 0, 0])
        let text = String(decoding: fortran, as: UTF8.self).replacingOccurrences(of: "False", with: "True ")
        guard case .badKey(_, "fortran_order", _)? = strataError({ _ = try NPY.parse(Data([0x93]) + Data(text.utf8.dropFirst(3)), path: "c.npy") }) else {
            Issue.record("Fortran order accepted"); return
        }
        guard case .badKey(_, "descr", _)? = strataError({ _ = try NPY.parse(handMade(descr: "<c8", shape: "(1,)", payload: []), path: "d.npy") }) else {
            Issue.record("complex dtype accepted"); return
        }
    }
}
