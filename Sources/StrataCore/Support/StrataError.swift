import Foundation

/// Every failure Strata reports. Each case carries what was expected, what was
/// found, and the file, offset or key at fault, so the sentence printed by the
/// CLI (``errorDescription``) tells the user where to look and what to change.
public enum StrataError: Error, Equatable, LocalizedError, CustomStringConvertible {
    /// A file that was asked for does not exist.
    case fileNotFound(path: String)
    /// A file could not be opened, read, written or renamed.
    case io(path: String, reason: String)
    /// A file ends before the data its header promises.
    case truncated(path: String, expected: Int, found: Int, what: String)
    /// A file starts with the wrong magic number or signature.
    case badMagic(path: String, expected: String, found: String)
    /// A file is structurally wrong at a given byte offset (or anywhere, when nil).
    case corrupt(path: String, offset: Int?, reason: String)
    /// A value of a key in a header or configuration is missing or wrong.
    case badKey(path: String, key: String, reason: String)
    /// Two shapes that must agree do not.
    case shapeMismatch(context: String, expected: [Int], found: [Int])
    /// An argument is out of its allowed range.
    case invalidArgument(name: String, reason: String)
    /// A dataset name is unknown or its files are not found anywhere searched.
    case datasetNotFound(name: String, searched: [String], hint: String)
    /// A download could not be made or verified.
    case download(url: String, reason: String)
    /// A numerical computation failed (for example a LAPACK routine).
    case numerical(routine: String, reason: String)
    /// Training produced NaN or infinity, or an exploding objective (`reason`);
    /// the last good checkpoint is kept untouched.
    case diverged(epoch: Int, batch: Int, lastCheckpoint: String?, reason: String)
    /// A setting given where it would not act (`--dataset` with `--input`): refused, not ignored.
    case inapplicable(setting: String, why: String)
    /// A run stopped on request (``StopRequest``) after `position` examples of
    /// epoch `epoch`, with a checkpoint of exactly that point.
    case interrupted(signal: Int32, checkpoint: String, epoch: Int, position: Int)

    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .truncated(let path, let expected, let found, let what):
            return "\(path): truncated file: \(what) needs \(expected) bytes but only \(found) are there"
        case .badMagic(let path, let expected, let found):
            return "\(path): wrong magic number: expected \(expected), found \(found) (is this the right kind of file?)"
        case .corrupt(let path, let offset, let reason):
            if let offset { return "\(path): at byte \(offset): \(reason)" }
            return "\(path): \(reason)"
        case .badKey(let path, let key, let reason):
            return "\(path): key '\(key)': \(reason)"
        case .shapeMismatch(let context, let expected, let found):
            return "\(context): expected shape \(expected), found \(found)"
        case .invalidArgument(let name, let reason):
            return "invalid \(name): \(reason)"
        case .inapplicable(let setting, let why):
            return "\(setting) does not apply \(why)"
        case .datasetNotFound(let name, let searched, let hint):
            let places = searched.isEmpty ? "" : "\nsearched:\n" + searched.map { "  \($0)" }.joined(separator: "\n")
            return "dataset '\(name)' not found\(places)\n\(hint)"
        case .download(let url, let reason):
            return "download of \(url) failed: \(reason)"
        case .numerical(let routine, let reason):
            return "\(routine): \(reason)"
        case .interrupted(let signal, let checkpoint, let epoch, let position):
            return "stopped by \(StopRequest.name(of: signal)) in epoch \(epoch) after \(position) examples; \(checkpoint) holds the run at that point. Run the same command with --resume to continue exactly where it stopped."
        case .diverged(let epoch, let batch, let checkpoint, let reason):
            let kept = checkpoint.map { "the last good checkpoint \($0) is kept as it was" } ?? "no checkpoint was written yet"
            return "training diverged in epoch \(epoch), batch \(batch): \(reason); \(kept). Lower the learning rate, or check the data for NaN."
        }
    }
}
