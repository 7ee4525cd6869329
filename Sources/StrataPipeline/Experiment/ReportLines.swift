import Foundation
import StrataCore

/// The lines an experiment logs, kept as they are logged for its `report.txt`.
final class ReportLines: @unchecked Sendable {
    private(set) var all: [String] = []

    /// `log`, that also keeps each line.
    func keeping(_ log: @escaping StageLog) -> StageLog {
        { line in
            log(line)
            self.all.append(line)
        }
    }

    /// Writes the lines to `folder/report.txt` and says so through `log`.
    func write(to folder: String, log: StageLog) throws {
        try AtomicFile.write(Data((all.joined(separator: "\n") + "\n").utf8), to: folder + "/report.txt")
        log("report: \(folder)/report.txt")
    }
}
