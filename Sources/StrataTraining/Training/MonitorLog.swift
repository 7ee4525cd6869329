import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// The monitor channels of a run: one row per epoch (epoch 0 is before any
/// training), written as JSON Lines (`monitor.jsonl`), each row a flat object
/// of channel name to number. The whole file is rewritten atomically after
/// each epoch, so it is never half-written; rows read from a file (a resumed
/// run's) are written back byte for byte as they were read.
public struct MonitorLog: Sendable {
    public private(set) var rows: [[String: Double]] = []
    /// Each row's text as read from a file (nil: a row made in this process).
    private var readText: [String?] = []

    public init(rows: [[String: Double]] = []) { (self.rows, readText) = (rows, rows.map { _ in nil }) }

    public mutating func append(_ row: [String: Double]) { rows.append(row); readText.append(nil) }

    /// The channel names, sorted (as pylearn2's `plot_monitor.py` lists them).
    public var channelNames: [String] { Array(Set(rows.flatMap(\.keys))).sorted() }

    /// One channel's values by row (nil where a row lacks it).
    public func values(_ channel: String) -> [Double?] { rows.map { $0[channel] } }

    public func write(to path: String) throws {
        var text = ""
        for (row, read) in zip(rows, readText) {
            if let read { text += read + "\n"; continue }
            let fields = row.keys.sorted().map { key -> String in
                let value = row[key]!
                let number = value.isFinite ? "\(value)" : "null"
                return "\(jsonString(key)):\(number)"
            }
            text += "{" + fields.joined(separator: ",") + "}\n"
        }
        try AtomicFile.write(Data(text.utf8), to: path)
    }

    /// The rows of a resumed run's log at `path` up to `epoch` (later ones,
    /// from after its checkpoint, are done again); empty when there is no log.
    public static func resumed(from path: String, throughEpoch epoch: Int) throws -> MonitorLog {
        guard FileManager.default.fileExists(atPath: path) else { return MonitorLog() }
        let saved = try read(path)
        var log = MonitorLog()
        for (row, text) in zip(saved.rows, saved.readText) where (row["epoch"] ?? 0) <= Double(epoch) { log.rows.append(row); log.readText.append(text) }
        return log
    }

    public static func read(_ path: String) throws -> MonitorLog {
        let data = try readWholeFile(path)
        var log = MonitorLog()
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw StrataError.corrupt(path: path, offset: nil, reason: "line \(index + 1) is not a JSON object")
            }
            log.rows.append(object.compactMapValues { ($0 as? NSNumber)?.doubleValue ?? ($0 is NSNull ? Double.nan : nil) })
            log.readText.append(String(line))
        }
        return log
    }
}
