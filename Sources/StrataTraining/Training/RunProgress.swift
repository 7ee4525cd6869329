import Foundation
import StrataCore
import StrataDistributed

/// Where a run is, for the process that supervises it (`strata launch`,
/// ``ElasticLaunch``): after every step rank 0 overwrites one line of a small
/// file with the steps it made since it started and the step of its last
/// checkpoint, so that when a process of the job is lost the launcher can say
/// how many steps the restart from that checkpoint will redo.
///
/// Active only when the environment names the file
/// (`STRATA_PROGRESS_FILE`, set by the launcher); otherwise ``shared`` is nil
/// and the loops do nothing. The line is written in place with one `pwrite`
/// of a buffer made once, no allocation per step.
public final class RunProgress: @unchecked Sendable {
    /// The environment variable that names the file.
    public static let environmentKey = "STRATA_PROGRESS_FILE"
    /// This process's reporter: nil unless the environment names a file and this is rank 0.
    public nonisolated(unsafe) static let shared: RunProgress? = {
        guard let path = ProcessInfo.processInfo.environment[environmentKey], !path.isEmpty,
              (MPIWorld.current?.rank ?? 0) == 0 else { return nil }
        return RunProgress(path: path)
    }()

    private let descriptor: Int32
    private var line = [UInt8](repeating: 0x20, count: Reading.fields * Reading.width)
    /// The line's fields, in ``Reading``'s order: steps, checkpoint steps, epoch, batch, checkpoint epoch, checkpoint batch (updated in place).
    private var fields = [Int](repeating: 0, count: Reading.fields)

    /// Opens (creates, empties) the file at `path`; nil when it cannot be made.
    public init?(path: String) {
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
    }

    deinit { close(descriptor) }

    /// A step of `epoch` ended, the epoch's `batch`-th.
    public func stepped(epoch: Int, batch: Int) {
        (fields[0], fields[2], fields[3]) = (fields[0] + 1, epoch, batch)
        write()
    }

    /// A checkpoint was written after `batch` steps of `epoch`.
    public func checkpointed(epoch: Int, batch: Int) {
        (fields[1], fields[4], fields[5]) = (fields[0], epoch, batch)
        write()
    }

    private func write() {
        let fields = self.fields
        line.withUnsafeMutableBufferPointer { out in
            for (field, value) in fields.enumerated() {
                var rest = max(value, 0), place = (field + 1) * Reading.width - 2
                repeat {
                    out[place] = UInt8(48 + rest % 10)
                    (rest, place) = (rest / 10, place - 1)
                } while rest > 0 && place > field * Reading.width
                while place >= field * Reading.width { out[place] = 0x20; place -= 1 }
            }
            out[out.count - 1] = 0x0A
            _ = pwrite(descriptor, out.baseAddress, out.count, 0)
        }
    }

    /// The file's line, read back.
    public struct Reading: Equatable, Sendable {
        static let (fields, width) = (6, 14)
        /// Steps the process made since it started, and at its last checkpoint (0: none written).
        public var steps: Int, checkpointSteps: Int
        /// The last step's epoch and its place in it; the last checkpoint's.
        public var epoch: Int, batch: Int, checkpointEpoch: Int, checkpointBatch: Int

        /// Steps made after the last checkpoint: what a restart from it redoes.
        public var stepsSinceCheckpoint: Int { steps - checkpointSteps }

        /// The line at `path`, or nil when there is none (the run made no step).
        public static func read(_ path: String) -> Reading? {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
            guard numbers.count == fields else { return nil }
            return Reading(steps: numbers[0], checkpointSteps: numbers[1], epoch: numbers[2], batch: numbers[3],
                           checkpointEpoch: numbers[4], checkpointBatch: numbers[5])
        }
    }
}
