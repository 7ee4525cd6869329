import Foundation
import StrataCore
import StrataTraining

/// How one run of a sweep ended, kept as `RUN/result.json` (written
/// atomically when the run ends, so a resumed sweep skips exactly the runs
/// that have one).
public struct SweepResult: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable {
        /// Ran every stage; measured on the test set.
        case finished
        /// Stopped by successive halving at a rung; its folder is kept (and `strata train --resume` would continue it).
        case stopped
        /// Ended with an error (the last lines of `run.log` say which); a resumed sweep tries it again.
        case failed
    }

    public var run: Int
    public var status: Status
    /// The fraction of the held-out training labels classified right: the
    /// best epoch's (softmax) or the chosen C's (SVM); at a stopped run, its rung's.
    public var validationAccuracy: Double?
    /// Reported beside it, never used to choose (nil for a stopped run).
    public var testAccuracy: Double?
    /// Epochs of fine-tuning it ran (softmax), or nil.
    public var epochs: Int?
    public var seconds: Double
    /// Why it failed: the last lines of its log.
    public var message: String?
    /// The rank of the `mpirun` job that ran it (nil in one process).
    public var rank: Int?
    /// The labels per class its supervised stage learned from (the training
    /// labels it read over the classes; every label when it was given `all`).
    public var labelsPerClass: Double?

    public init(run: Int, status: Status, validationAccuracy: Double? = nil, testAccuracy: Double? = nil, epochs: Int? = nil, seconds: Double, message: String? = nil) {
        (self.run, self.status, self.validationAccuracy, self.testAccuracy, self.epochs, self.seconds, self.message) =
            (run, status, validationAccuracy, testAccuracy, epochs, seconds, message)
    }

    static func path(_ runFolder: String) -> String { runFolder + "/result.json" }

    func write(to runFolder: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(try encoder.encode(self), to: Self.path(runFolder))
    }

    /// The result a run left, or nil when it has none (not run, or interrupted).
    static func read(from runFolder: String) throws -> SweepResult? {
        let path = Self.path(runFolder)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do { return try decoder.decode(SweepResult.self, from: try readWholeFile(path)) } catch {
            throw StrataError.corrupt(path: path, offset: nil, reason: "not a sweep result (\(error)); remove it to run that run again")
        }
    }

    /// The finished run's measures, read from its stage's `evaluation.json`
    /// (`best_validation_error` for softmax, `validation_accuracy` for the SVM).
    static func measured(run: Int, stageFolder: String, seconds: Double) throws -> SweepResult {
        let path = stageFolder + "/evaluation.json"
        guard let object = try JSONSerialization.jsonObject(with: try readWholeFile(path)) as? [String: Any],
              let test = object["accuracy"] as? Double else {
            throw StrataError.corrupt(path: path, offset: nil, reason: "has no accuracy")
        }
        let validation = (object["best_validation_error"] as? Double).map { 1 - $0 } ?? (object["validation_accuracy"] as? Double)
        guard let validation else { throw StrataError.corrupt(path: path, offset: nil, reason: "records no validation measure to compare runs by") }
        let epochs = (try? MonitorLog.read(stageFolder + "/monitor.jsonl")).flatMap { $0.rows.last?["epoch"] }.map { Int($0) }
        var result = SweepResult(run: run, status: .finished, validationAccuracy: validation, testAccuracy: test, epochs: epochs, seconds: seconds)
        if let labels = object["training_labels"] as? Double, let classes = (object["class_names"] as? [Any])?.count, classes > 0 {
            result.labelsPerClass = labels / Double(classes)
        }
        return result
    }

    /// `valid_y_misclass` by epoch in a run's fine-tuning monitor (empty before its first epoch).
    static func validationErrors(stageFolder: String) -> [Int: Double] {
        guard let log = try? MonitorLog.read(stageFolder + "/monitor.jsonl") else { return [:] }
        var errors: [Int: Double] = [:]
        for row in log.rows { if let e = row["epoch"], let v = row["valid_y_misclass"], e >= 1 { errors[Int(e)] = v } }
        return errors
    }
}
