import Foundation
@testable import Strata
import Testing

@Suite struct CIFAR10Tests {
    /// A record whose pixel j of channel c is (c * 7 + j + label) % 256.
    func record(label: UInt8) -> [UInt8] {
        [label] + (0 ..< 3).flatMap { c in (0 ..< 1024).map { j in UInt8((c * 7 + j + Int(label)) % 256) } }
    }

    @Test func readsBatchesPlanar() throws {
        let folder = TemporaryFolder()
        let one = folder.write(Data(record(label: 3) + record(label: 9)), "data_batch_1.bin")
        let two = folder.write(Data(record(label: 0)), "data_batch_2.bin")
        let meta = folder.write(Data("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n".utf8), "batches.meta.txt")
        let names = try CIFAR10.readClassNames(meta)
        let dataset = try CIFAR10.read(batches: [one, two], classNames: names)
        #expect(dataset.count == 3)
        #expect(dataset.labels == [3, 9, 0])
        #expect(dataset.classNames?[3] == "cat")
        #expect(dataset.geometry == ImageGeometry(height: 32, width: 32, channels: 3, layout: .planar))
        // Example 1 (label 9): green plane (c = 1) pixel 5 is (7 + 5 + 9) % 256.
        #expect(dataset.examples[1, 1024 + 5] == 21)
        #expect(dataset.examples[2, 2047] == Float((7 + 1023) % 256))
    }

    @Test func refusesTruncatedBatchAndForeignFile() {
        let folder = TemporaryFolder()
        let short = folder.write(Data(record(label: 1) + record(label: 2).prefix(100)), "data_batch_1.bin")
        #expect(strataError { _ = try CIFAR10.read(batches: [short]) } ==
            .truncated(path: short, expected: 2 * 3073, found: 3073 + 100, what: "CIFAR-10 records of 3073 bytes (3173 is not a multiple)"))
        var foreign = record(label: 1)
        foreign[0] = 200
        let bad = folder.write(Data(foreign), "not_cifar.bin")
        guard case .badMagic? = strataError({ _ = try CIFAR10.read(batches: [bad]) }) else { Issue.record("foreign file accepted"); return }
    }
}
