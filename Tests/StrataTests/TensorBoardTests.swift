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
import SwiftProtobuf
import Testing

@Suite struct TensorBoardTests {
    /// CRC-32C computed bit by bit, independently of the writer's table.
    static func bitwiseCRC32C(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0 ..< 8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0x82F6_3B78 : 0) }
        }
        return ~crc
    }

    static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8 }

    /// The records of an events file, each frame's length and both masked CRCs checked.
    static func records(_ path: String) throws -> [Data] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        var records: [Data] = [], offset = bytes.startIndex
        func uint32(_ at: Int) -> UInt32 { bytes[at ..< at + 4].enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) } }
        while offset < bytes.endIndex {
            let lengthBytes = bytes[offset ..< offset + 8]
            let length = lengthBytes.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            #expect(uint32(offset + 8) == masked(bitwiseCRC32C(Data(lengthBytes))), "length CRC at \(offset)")
            let data = bytes[offset + 12 ..< offset + 12 + length]
            #expect(uint32(offset + 12 + length) == masked(bitwiseCRC32C(Data(data))), "data CRC at \(offset)")
            records.append(Data(data))
            offset += 16 + length
        }
        return records
    }

    func trainedFolder() throws -> TemporaryFolder {
        let folder = TemporaryFolder()
        var random = RandomSource(seed: 3)
        let data = Tensor(shape: [200, 16], scalars: (0 ..< 3200).map { _ in random.nextUnitFloat() < 0.3 ? 1 : 0 })
        var configuration = TrainingConfiguration()
        (configuration.maxEpochs, configuration.batchSize) = (3, 20)
        var trainer = Trainer(configuration: configuration, folder: folder.path)
        trainer.showProgress = false
        var rbm = try RBM(.init(visibleCount: 16, hiddenCount: 8, visibleUnits: .binary, objective: .contrastiveDivergence(steps: 1)))
        try trainer.train(&rbm, data: data)
        try Pictures.weights(of: try LayerStack(layers: [rbm]), to: folder.file("weights.png"))
        try TensorBoardEvents(folder: folder.path, suffix: ".weights")
            .appendImage(png: try Data(contentsOf: URL(fileURLWithPath: folder.file("weights.png"))), tag: "weights", step: 3)
        return folder
    }

    static func eventFiles(_ folder: TemporaryFolder) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains("tfevents") }.sorted().map(folder.file)
    }

    /// The standard CRC-32C check value, the frames, and the events inside: a
    /// version record, then one scalar summary per monitor row at step = epoch.
    @Test func recordsAreFramedAndHoldTheMonitorChannels() throws {
        #expect(CRC32C.checksum(Data("123456789".utf8)) == 0xE306_9283)
        #expect(Self.bitwiseCRC32C(Data("123456789".utf8)) == 0xE306_9283)
        let folder = try trainedFolder()
        let files = try Self.eventFiles(folder)
        #expect(files.count == 2)
        let events = try Self.records(files[0]).map { try Tensorboard_Event(serializedBytes: $0) }
        #expect(events.first?.fileVersion == "brain.Event:2")
        let monitor = try MonitorLog.read(folder.file("monitor.jsonl"))
        #expect(events.count == 1 + monitor.rows.count)
        for (event, row) in zip(events.dropFirst(), monitor.rows) {
            #expect(event.step == Int64(row["epoch"]!))
            let objective = event.summary.value.first { $0.tag == "train_objective" }
            #expect(objective.map { Double($0.simpleValue) } == row["train_objective"].map { Double(Float($0)) })
        }
        let image = try #require(try Self.records(files[1]).last.map { try Tensorboard_Event(serializedBytes: $0) })
        #expect(image.summary.value.first?.tag == "weights" && image.summary.value.first?.image.width ?? 0 > 0 && image.step == 3)
    }

    /// TensorBoard's own reader lists the scalars and the image.
    @Test(.enabled(if: Python.has("tensorboard"), "needs python3 with tensorboard (scripts/install-deps.sh installs it)"))
    func tensorBoardReadsTheRun() throws {
        let folder = try trainedFolder()
        let script = """
            import sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            acc = EventAccumulator(sys.argv[1], size_guidance={"images": 0, "scalars": 0})
            acc.Reload()
            steps = [e.step for e in acc.Scalars("train_objective")]
            image = acc.Images("weights")[0]
            print(len(acc.Tags()["scalars"]), steps, image.step, image.width > 0)
            """
        let (status, output) = Python.run(["-c", script, folder.path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("[0, 1, 2, 3] 3 True"), "\(output)")
    }

    /// The regime read off the two errors: a large gap is high variance; close, high errors are high bias.
    @Test func learningCurvesNameTheRegime() {
        #expect(LearningCurves.regime(train: 0.01, valid: 0.09) == .highVariance(train: 0.01, valid: 0.09))
        #expect(LearningCurves.regime(train: 0.20, valid: 0.22) == .highBias(train: 0.20, valid: 0.22))
        #expect(LearningCurves.regime(train: 0.08, valid: 0.11) == nil, "a moderate gap with a moderate error is neither")
        #expect(LearningCurves.regime(train: 0.001, valid: 0.015) == nil, "both small")
        var log = MonitorLog()
        log.append(["epoch": 3, "train_y_misclass": 0.02, "valid_y_misclass": 0.12])
        #expect(LearningCurves.regime(log, epoch: 3)?.description.hasPrefix("overfitting (high variance)") == true)
    }
}
