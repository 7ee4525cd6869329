import CCairo
import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

/// A line chart of one or more series, drawn with Cairo and written as PNG:
/// axes with round-numbered ticks, light grid lines, a legend, a title and
/// axis labels; optionally a logarithmic y axis. What `strata plot-monitor`
/// draws (pylearn2's `plot_monitor.py` drew with matplotlib on screen).
public struct LineChart: Sendable {
    /// One curve: its label, its points and its color.
    public struct Series: Sendable {
        public var label: String
        public var points: [(x: Double, y: Double)]
        /// Vertical bars (a spread: the lowest and highest of several runs) drawn at their x in the series' color.
        public var bars: [(x: Double, low: Double, high: Double)] = []
        public init(label: String, points: [(x: Double, y: Double)], bars: [(x: Double, low: Double, high: Double)] = []) {
            (self.label, self.points, self.bars) = (label, points, bars)
        }
    }

    public var title = ""
    public var xLabel = ""
    public var yLabel = ""
    public var logarithmicY = false
    /// A logarithmic x axis (labels per class, learning rates).
    public var logarithmicX = false
    /// Join each series' points by lines; false: a scatter of dots (runs of a sweep).
    public var lines = true
    /// Fixed y range; nil: fitted to the data.
    public var yRange: ClosedRange<Double>?
    /// A dot at every point (for series of few points, such as one per network depth).
    public var markers = false
    public var width = 960
    public var height = 600
    public var series: [Series] = []

    public init(title: String = "", xLabel: String = "", yLabel: String = "") {
        (self.title, self.xLabel, self.yLabel) = (title, xLabel, yLabel)
    }

    /// Tableau's ten colors, the default cycle of matplotlib (what pylearn2 users saw).
    static let palette: [(Double, Double, Double)] = [
        (0.122, 0.467, 0.706), (1.0, 0.498, 0.055), (0.173, 0.627, 0.173), (0.839, 0.153, 0.157), (0.580, 0.404, 0.741),
        (0.549, 0.337, 0.294), (0.890, 0.467, 0.761), (0.498, 0.498, 0.498), (0.737, 0.741, 0.133), (0.090, 0.745, 0.812),
    ]

    /// The chart as PNG bytes.
    public func pngData() throws -> Data {
        // A NaN y is kept as a break in its line (a value that does not exist there); other unplottable points are dropped.
        func plottable(_ p: (x: Double, y: Double)) -> Bool { p.x.isFinite && p.y.isFinite && (!logarithmicY || p.y > 0) && (!logarithmicX || p.x > 0) }
        let usable = series.map { s in
            Series(label: s.label, points: s.points.filter { plottable($0) || ($0.x.isFinite && $0.y.isNaN) },
                   bars: s.bars.filter { plottable(($0.x, $0.low)) && plottable(($0.x, $0.high)) })
        }
            .filter { $0.points.contains(where: plottable) }
        guard !usable.isEmpty else {
            throw StrataError.invalidArgument(name: "chart", reason: logarithmicY ? "no positive finite values to plot on a log scale" : "no finite values to plot")
        }
        return try CairoCanvas.png(width: width, height: height, what: "chart") { draw(usable, on: $0) }
    }

    /// Writes the chart atomically as a PNG file.
    public func write(to path: String) throws {
        try AtomicFile.write(try pngData(), to: path)
    }

    // MARK: Drawing

    private func draw(_ series: [Series], on cr: OpaquePointer) {
        let legendWidth = min(320.0, 40 + 7.5 * Double(series.map(\.label.count).max() ?? 0))
        let (left, right, top, bottom) = (86.0, Double(width) - legendWidth - 20, title.isEmpty ? 24.0 : 52.0, Double(height) - 62)
        let xs = series.flatMap { $0.points.filter { !$0.y.isNaN }.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) + $0.bars.flatMap { [$0.low, $0.high] } }.filter { !$0.isNaN }
        var (xMin, xMax) = (xs.min()!, xs.max()!)
        if !lines || series.contains(where: { !$0.bars.isEmpty }) { // dots or bars: room around them at the ends
            (xMin, xMax) = logarithmicX ? (xMin / 1.5, xMax * 1.5) : (xMin - max(0.05 * (xMax - xMin), 0.5 * abs(xMin) * 0.1), xMax + max(0.05 * (xMax - xMin), 0.5 * abs(xMax) * 0.1))
        }
        let (xTicks, xLow, xHigh) = Self.ticks(xMin, xMax, logarithmic: logarithmicX)
        let (yTicks, yLow, yHigh) = yRange.map { Self.ticks($0.lowerBound, $0.upperBound, logarithmic: logarithmicY) }
            ?? Self.ticks(ys.min()!, ys.max()!, logarithmic: logarithmicY)
        func ty(_ y: Double) -> Double { logarithmicY ? log10(y) : y }
        func tx(_ x: Double) -> Double { logarithmicX ? log10(x) : x }
        func px(_ x: Double) -> Double { left + (tx(x) - tx(xLow)) / max(tx(xHigh) - tx(xLow), 1e-300) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (ty(y) - ty(yLow)) / max(ty(yHigh) - ty(yLow), 1e-300) * (bottom - top) }

        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)

        // Grid and ticks.
        cairo_set_line_width(cr, 1)
        cairo_set_font_size(cr, 12)
        for t in xTicks {
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9)
            cairo_move_to(cr, px(t).rounded() + 0.5, top); cairo_line_to(cr, px(t).rounded() + 0.5, bottom); cairo_stroke(cr)
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15)
            text(cr, Self.format(t), x: px(t), y: bottom + 18, align: 0.5)
        }
        for t in yTicks {
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9)
            cairo_move_to(cr, left, py(t).rounded() + 0.5); cairo_line_to(cr, right, py(t).rounded() + 0.5); cairo_stroke(cr)
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15)
            text(cr, Self.format(t), x: left - 8, y: py(t) + 4, align: 1)
        }
        // Frame.
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2)
        cairo_rectangle(cr, left + 0.5, top + 0.5, right - left, bottom - top)
        cairo_stroke(cr)
        // Series, clipped to the plot area.
        cairo_save(cr)
        cairo_rectangle(cr, left, top, right - left, bottom - top)
        cairo_clip(cr)
        cairo_set_line_width(cr, 2)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        for (i, s) in series.enumerated() {
            let (r, g, b) = Self.palette[i % Self.palette.count]
            cairo_set_source_rgb(cr, r, g, b)
            drawSeries(s, on: cr, px: px, py: py)
        }
        cairo_restore(cr)
        // Labels and title.
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
        cairo_set_font_size(cr, 14)
        text(cr, xLabel + (logarithmicX ? " (log scale)" : ""), x: (left + right) / 2, y: Double(height) - 18, align: 0.5)
        cairo_save(cr)
        cairo_translate(cr, 22, (top + bottom) / 2)
        cairo_rotate(cr, -.pi / 2)
        text(cr, yLabel + (logarithmicY ? " (log scale)" : ""), x: 0, y: 0, align: 0.5)
        cairo_restore(cr)
        if !title.isEmpty {
            cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD)
            cairo_set_font_size(cr, 16)
            text(cr, title, x: (left + right) / 2, y: 32, align: 0.5)
            cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        }
        // Legend.
        cairo_set_font_size(cr, 12)
        for (i, s) in series.enumerated() {
            let y = top + 12 + Double(i) * 20
            let (r, g, b) = Self.palette[i % Self.palette.count]
            cairo_set_source_rgb(cr, r, g, b)
            cairo_set_line_width(cr, 3)
            if lines {
                cairo_move_to(cr, right + 16, y - 4); cairo_line_to(cr, right + 40, y - 4); cairo_stroke(cr)
            } else {
                cairo_arc(cr, right + 28, y - 4, 4, 0, 2 * .pi); cairo_fill(cr)
            }
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
            text(cr, s.label, x: right + 46, y: y, align: 0)
        }
    }

    /// One series in its color: its line (unless ``lines`` is off), its dots and its bars.
    private func drawSeries(_ s: Series, on cr: OpaquePointer, px: (Double) -> Double, py: (Double) -> Double) {
        var penDown = false
        for p in s.points where lines {
            guard !p.y.isNaN else { penDown = false; continue }
            if penDown { cairo_line_to(cr, px(p.x), py(p.y)) } else { cairo_move_to(cr, px(p.x), py(p.y)) }
            penDown = true
        }
        cairo_stroke(cr)
        let dots = markers || !lines ? s.points.filter { !$0.y.isNaN } : (s.points.count == 1 ? s.points : [])
        for p in dots { cairo_arc(cr, px(p.x), py(p.y), markers ? 4 : 3, 0, 2 * .pi); cairo_fill(cr) }
        cairo_set_line_width(cr, 1.5)
        for b in s.bars {
            let (x, low, high) = (px(b.x), py(b.low), py(b.high))
            cairo_move_to(cr, x, low); cairo_line_to(cr, x, high)
            cairo_move_to(cr, x - 4, low); cairo_line_to(cr, x + 4, low)
            cairo_move_to(cr, x - 4, high); cairo_line_to(cr, x + 4, high)
            cairo_stroke(cr)
        }
        cairo_set_line_width(cr, 2)
    }

    private func text(_ cr: OpaquePointer, _ string: String, x: Double, y: Double, align: Double) {
        CairoCanvas.text(cr, string, x: x, y: y, align: align)
    }

    /// Round tick values covering `[low, high]` (1-2-5 steps; powers of ten on a log axis) and the axis range.
    static func ticks(_ low: Double, _ high: Double, logarithmic: Bool) -> ([Double], Double, Double) {
        if logarithmic {
            let a = floor(log10(low)), b = max(ceil(log10(high)), a + 1)
            let step = max(1, ((b - a) / 8).rounded(.up))
            return (stride(from: a, through: b, by: step).map { pow(10, $0) }, pow(10, a), pow(10, b))
        }
        var (lo, hi) = (low, high)
        if hi - lo < 1e-12 * max(abs(lo), 1) { (lo, hi) = (lo - max(abs(lo) * 0.05, 0.5), hi + max(abs(hi) * 0.05, 0.5)) }
        let raw = (hi - lo) / 6
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = floor(lo / step) * step, last = ceil(hi / step) * step
        return (stride(from: first, through: last + step / 2, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }, first, last)
    }

    static func format(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return String(format: "%.3g", value) }
        if value == value.rounded() { return String(Int(value)) }
        return String(format: "%.4g", value)
    }
}
