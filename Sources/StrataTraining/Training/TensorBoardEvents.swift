import Foundation
import SwiftProtobuf
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// TensorBoard's own log format, so `tensorboard --logdir runs` shows Strata's
/// runs: an events file (`events.out.tfevents.SECONDS.HOST`) of `Event`
/// messages (TensorBoard's `event.proto` and `summary.proto`, compiled by
/// swift-protobuf from the descriptors its PyPI package ships), each framed as
/// a TFRecord: length (UInt64, little-endian), its masked CRC-32C, the bytes,
/// their masked CRC-32C.
///
/// A training loop opens one file per process (a resumed run adds a file, as
/// TensorFlow's writers do) and appends each monitor row's channels as scalars
/// at step = epoch; ``appendImage(png:tag:step:)`` adds a picture such as the
/// filter tiles. In a job of several MPI ranks only rank 0 writes one (the
/// others hold the same model; their events go to /dev/null), so TensorBoard
/// shows each curve once.
public struct TensorBoardEvents {
    /// The file being written.
    public let path: String
    private let handle: FileHandle
    /// Monitor rows already in the log when the file was opened, or written since.
    private var rowsWritten: Int

    /// Opens a new events file in `folder`, starting with the `file_version`
    /// event; `rowsAlreadyLogged` rows of the monitor log (a resumed run's) are not repeated.
    public init(folder: String, rowsAlreadyLogged: Int = 0, suffix: String = "") throws {
        try AtomicFile.makeFolder(folder)
        if let world = MPIWorld.current, world.rank != 0, let null = FileHandle(forWritingAtPath: "/dev/null") {
            (path, handle, rowsWritten) = ("/dev/null", null, rowsAlreadyLogged)
            return
        }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        var name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host)\(suffix)"
        var attempt = 1
        while FileManager.default.fileExists(atPath: folder + "/" + name) { attempt += 1; name += ".\(attempt)" }
        path = folder + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw StrataError.io(path: path, reason: "cannot create the TensorBoard events file")
        }
        self.handle = handle
        rowsWritten = rowsAlreadyLogged
        var event = Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.fileVersion = "brain.Event:2"
        try write(event)
    }

    /// Appends the rows of `log` not written yet: every channel but `epoch` as
    /// a scalar, at step = the row's epoch.
    public mutating func append(_ log: MonitorLog) throws {
        guard log.rows.count > rowsWritten else { return }
        for row in log.rows[rowsWritten...] {
            var summary = Tensorboard_Summary()
            for (channel, value) in row.sorted(by: { $0.key < $1.key }) where channel != "epoch" && value.isFinite {
                var v = Tensorboard_Summary.Value()
                v.tag = channel
                v.simpleValue = Float(value)
                summary.value.append(v)
            }
            var event = Tensorboard_Event()
            event.wallTime = Date().timeIntervalSince1970
            event.step = Int64(row["epoch"] ?? Double(rowsWritten))
            event.summary = summary
            try write(event)
            rowsWritten += 1
        }
    }

    /// Appends a PNG picture (TensorBoard's image summary) under `tag`.
    public func appendImage(png: Data, tag: String, step: Int) throws {
        // The size and color type are in the PNG's IHDR chunk: width and height, big-endian, at bytes 16 and 20; color type at 25.
        guard png.count >= 26, png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw StrataError.invalidArgument(name: "image summary", reason: "'\(tag)' is not a PNG image")
        }
        func bigEndian(_ offset: Int) -> Int32 { png[png.startIndex + offset ..< png.startIndex + offset + 4].reduce(0) { $0 << 8 | Int32($1) } }
        var image = Tensorboard_Summary.Image()
        let colorspace: [UInt8: Int32] = [0: 1, 4: 2, 2: 3, 6: 4] // gray, gray+alpha, RGB, RGBA
        (image.width, image.height, image.colorspace) = (bigEndian(16), bigEndian(20), colorspace[png[png.startIndex + 25]] ?? 4)
        image.encodedImageString = png
        var value = Tensorboard_Summary.Value()
        value.tag = tag
        value.image = image
        var event = Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(step)
        event.summary.value = [value]
        try write(event)
    }

    /// Writes one framed event and flushes it, so TensorBoard sees it while training goes on.
    private func write(_ event: Tensorboard_Event) throws {
        do {
            try handle.write(contentsOf: Self.record(try event.serializedData()))
            try handle.synchronize()
        } catch {
            throw StrataError.io(path: path, reason: "cannot write the TensorBoard event: \(error.localizedDescription)")
        }
    }

    /// One TFRecord: `length`, `masked_crc32c(length)`, `data`, `masked_crc32c(data)`.
    static func record(_ data: Data) -> Data {
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Data($0) }
        var out = lengthBytes
        var lengthCRC = CRC32C.masked(lengthBytes).littleEndian
        out.append(contentsOf: withUnsafeBytes(of: &lengthCRC) { Data($0) })
        out.append(data)
        var dataCRC = CRC32C.masked(data).littleEndian
        out.append(contentsOf: withUnsafeBytes(of: &dataCRC) { Data($0) })
        return out
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord frames use it.
enum CRC32C {
    private static let table: [UInt32] = (0 ..< 256).map { n in
        var c = UInt32(n)
        for _ in 0 ..< 8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// TensorFlow's mask: rotate right by 15 bits and add a constant.
    static func masked(_ data: Data) -> UInt32 {
        let crc = checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
