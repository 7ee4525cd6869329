import Foundation

/// Writes files so that a reader never sees a half-written one: the bytes go to
/// a temporary file in the same folder, are flushed to disk, and the temporary
/// file is then renamed over the destination (rename is atomic on POSIX); the
/// folder is then synced so that the rename itself survives a power loss.
///
/// Temporary files are named `.NAME.PID.RANDOM.tmp`; those left by a process
/// that no longer runs (a run killed mid-write) are removed by the next write
/// of the same file.
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
        try makeFolder(folder.path)
        removeStaleTemporaries(of: url.lastPathComponent, in: folder.path)
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
            syncFolder(folder.path)
        } catch let error as StrataError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw StrataError.io(path: path, reason: "write failed: \(error.localizedDescription)")
        }
    }

    /// Creates `folder` (and its parents) if needed.
    /// - Throws: ``StrataError/io(path:reason:)`` naming the folder and the
    ///   system's reason (read-only, permission denied, a file in the way).
    public static func makeFolder(_ folder: String) throws {
        // mkdir(2) level by level, so a failure carries the system's own reason.
        var path = folder.hasPrefix("/") ? "" : "."
        for component in folder.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw StrataError.io(path: folder, reason: "cannot create the folder \(path) (\(String(cString: strerror(errno)))); choose another output folder")
            }
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw StrataError.io(path: folder, reason: "is a file, not a folder; choose another output folder")
        }
        guard access(folder, W_OK) == 0 else {
            throw StrataError.io(path: folder, reason: "cannot write into the folder (\(String(cString: strerror(errno)))); choose another output folder")
        }
    }

    /// fsync on the folder: makes the rename durable (POSIX leaves it in the
    /// page cache otherwise). A failure here is not fatal: the file is complete.
    private static func syncFolder(_ folder: String) {
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// Removes `.NAME.PID.*.tmp` files in `folder` whose writing process is gone.
    static func removeStaleTemporaries(of name: String, in folder: String) {
        let prefix = ".\(name)."
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries where entry.hasPrefix(prefix) && entry.hasSuffix(".tmp") {
            let fields = entry.dropFirst(prefix.count).split(separator: ".")
            guard fields.count == 3, let pid = Int32(fields[0]), !isRunning(pid) else { continue }
            try? FileManager.default.removeItem(atPath: folder + "/" + entry)
        }
    }

    private static func isRunning(_ pid: Int32) -> Bool {
        pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
    }
}
