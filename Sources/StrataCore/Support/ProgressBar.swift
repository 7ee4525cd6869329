import Foundation

/// A one-line progress bar on standard error: a bar, the count, the rate and
/// the time left, redrawn at most ten times a second. When standard error is
/// not a terminal (a log file, CI), a plain line every ``logInterval`` seconds
/// says how far it is, so a long step is never silent.
public final class ProgressBar {
    private let total: Int
    private let label: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let interactive: Bool
    /// Extra text shown at the end of the line (for example the current objective).
    public var status = ""
    /// Seconds between the plain progress lines written when standard error is not a terminal.
    public var logInterval: Double = 10

    /// `plain`: write the plain lines even on a terminal (several bars at once would overwrite each other).
    public init(total: Int, label: String, plain: Bool = false) {
        self.total = max(total, 1)
        self.label = label
        interactive = !plain && isatty(STDERR_FILENO) != 0
    }

    /// Marks `done` units complete and redraws if due.
    public func update(_ done: Int) {
        if !interactive {
            let elapsed = Date().timeIntervalSince(start)
            guard done < total, elapsed >= logInterval, Date().timeIntervalSince(lastDraw) >= logInterval else { return }
            lastDraw = Date()
            let left = Double(total - done) * elapsed / Double(max(done, 1))
            FileHandle.standardError.write(Data(String(format: "%@ %.0f%% (%d of %d), %@ elapsed, eta %@ %@\n", label, 100 * Double(done) / Double(total),
                                                        done, total, Self.duration(elapsed), Self.duration(left), status).utf8))
            return
        }
        guard Date().timeIntervalSince(lastDraw) >= 0.1 || done >= total else { return }
        lastDraw = Date()
        let fraction = min(1, Double(done) / Double(total))
        let width = 28
        let filled = Int(fraction * Double(width))
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left = rate > 0 ? Double(total - done) / rate : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "\r%@ %@ %3.0f%% %@/s eta %@ %@", label, bar, fraction * 100,
                          Self.compact(rate), Self.duration(left), status)
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
    }

    /// Ends the bar's line, printing `summary` in its place.
    public func finish(_ summary: String) {
        let elapsed = Date().timeIntervalSince(start)
        let prefix = interactive ? "\r\u{1B}[K" : ""
        FileHandle.standardError.write(Data("\(prefix)\(label) \(summary) (\(Self.duration(elapsed)))\n".utf8))
    }

    static func compact(_ value: Double) -> String {
        value >= 1e6 ? String(format: "%.1fM", value / 1e6) : value >= 1e3 ? String(format: "%.1fk", value / 1e3) : String(format: "%.0f", value)
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1fs", seconds) : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }
}
