import Foundation
import Strata
import Testing

/// Ranks prove they hold the same data before they train: two ranks whose
/// data differ end within seconds with a message naming the rank and what
/// differs, never corrupting a gather or waiting for ever; a failing rank's
/// own message reaches the user.
@Suite(.serialized, .needsBuiltTool, .needsMPIRun)
struct RankAgreementTests {
    /// Features `name.npy` (`rows` x 8) with labels beside them (`name.labels.npy`), labels from `label`.
    static func features(_ folder: TemporaryFolder, _ name: String, rows: Int, label: (Int) -> Int) throws {
        var random = RandomSource(seed: 3)
        try NPY.write(Tensor.uniform(shape: [rows, 8], low: 0, high: 1, using: &random), to: folder.file(name + ".npy"))
        try NPY.write(integers: (0 ..< rows).map(label), to: folder.file(name + ".labels.npy"))
    }

    static func softmax(train: String) -> [String] {
        ["finetune", "softmax", "--train-features", train + ".npy", "--test-features", "test.npy", "--validation", "20", "--epochs", "2",
         "--threads", "1", "--run", "run"]
    }

    func check(_ result: (status: Int32, output: String, seconds: Double), says reason: String) {
        #expect(result.status != 0, "\(result.output)")
        #expect(result.seconds < 30, "took \(result.seconds) s")
        #expect(result.output.contains(reason), "\(result.output)")
        #expect(!result.output.contains("Program crashed") && !result.output.contains("corrupted"), "\(result.output)")
    }

    /// Rank 1's training features: fewer rows, or as many with other labels.
    @Test(arguments: [(160, false, "rank 1's training examples: 140, rank 0's: 180 for fine-tuning"),
                      (200, true, "rank 1's data (values and labels) differs from rank 0's")])
    func otherDataOnRankOneIsRefusedNamingTheRank(rows: Int, otherLabels: Bool, reason: String) throws {
        let folder = TemporaryFolder()
        try Self.features(folder, "a", rows: 200) { $0 % 2 }
        try Self.features(folder, "b", rows: rows) { otherLabels ? ($0 / 3) % 2 : $0 % 2 }
        try Self.features(folder, "test", rows: 40) { $0 % 2 }
        let result = try MPIRun.runEach([Self.softmax(train: "a"), Self.softmax(train: "b")], in: folder.path)
        check(result, says: reason)
    }

    @Test func aFailingRankOneShowsItsOwnMessage() throws {
        let folder = TemporaryFolder()
        try Self.features(folder, "a", rows: 200) { $0 % 2 }
        try Self.features(folder, "test", rows: 40) { $0 % 2 }
        let result = try MPIRun.runEach([Self.softmax(train: "a"), Self.softmax(train: "missing")], in: folder.path)
        check(result, says: "strata rank 1 of 2:")
        #expect(result.output.contains("missing.npy"), "\(result.output)")
    }
}
