import Foundation

/// Writes files so that a reader never sees a half-written one: the bytes go to
/// a temporary file in the same folder, are flushed to disk, and the temporary
/// file is then renamed over the destination (rename is atomic on POSIX).
public enum AtomicFile {
    /// Writes `data` to `path` atomically, creating the parent folder if needed.
    /// - Throws: ``StrataError/io(path:reason:)`` naming the path on failure.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { handle in
            try handle.write(contentsOf: data)
        }
    }

    /// Writes to `path` atomically through `body`, which receives a handle on
    /// the temporary file. If `body` throws, the temporary file is removed and
    /// the destination is left as it was.
    public static func write(to path: String, _ body: (FileHandle) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw StrataError.io(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0 ... .max)).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw StrataError.io(path: path, reason: "cannot create temporary file \(temporary.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            do {
                try body(handle)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            if rename(temporary.path, path) != 0 {
                throw StrataError.io(path: path, reason: "cannot rename temporary file into place: \(String(cString: strerror(errno)))")
            }
        } catch let error as StrataError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw StrataError.io(path: path, reason: "write failed: \(error.localizedDescription)")
        }
    }
}
