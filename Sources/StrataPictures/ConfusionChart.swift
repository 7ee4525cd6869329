import CCairo
import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

extension ConfusionMatrix {
    /// The confusion matrix as a labeled chart: one cell per (true, predicted)
    /// pair, shaded by its share of the true class (darker blue is more), the
    /// count written in it, the diagonal framed in green, class names along
    /// both axes, and the accuracy in the title. `evaluation.png` is this.
    public func chartPNG(title: String = "") throws -> Data {
        let k = classNames.count
        let cell = 44.0
        let longest = Double(classNames.map(\.count).max() ?? 1)
        let labelSpace = 24 + 7.5 * longest              // room for names left of the rows and above the columns
        let (left, top) = (labelSpace + 24, labelSpace + 44)
        let width = Int(left + Double(k) * cell + 20), height = Int(top + Double(k) * cell + 20)
        let heading = title.isEmpty ? String(format: "accuracy %.2f%% (%d of %d)", 100 * accuracy, correct, total) : title
        return try CairoCanvas.png(width: width, height: height, what: "confusion matrix") { cr in
            cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD)
            cairo_set_font_size(cr, 15)
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
            CairoCanvas.text(cr, heading, x: Double(width) / 2, y: 22, align: 0.5)
            cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
            cairo_set_font_size(cr, 12)
            CairoCanvas.text(cr, "predicted", x: left + Double(k) * cell / 2, y: 42, align: 0.5)
            cairo_save(cr)
            cairo_translate(cr, 16, top + Double(k) * cell / 2)
            cairo_rotate(cr, -.pi / 2)
            CairoCanvas.text(cr, "true class", x: 0, y: 0, align: 0.5)
            cairo_restore(cr)
            for t in 0 ..< k {
                let rowTotal = max(counts[t].reduce(0, +), 1)
                let y = top + Double(t) * cell
                cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
                CairoCanvas.text(cr, classNames[t], x: left - 6, y: y + cell / 2 + 4, align: 1)
                for p in 0 ..< k {
                    let share = Double(counts[t][p]) / Double(rowTotal)
                    let x = left + Double(p) * cell
                    cairo_set_source_rgb(cr, 1 - 0.9 * share, 1 - 0.6 * share, 1 - 0.15 * share)
                    cairo_rectangle(cr, x, y, cell, cell)
                    cairo_fill(cr)
                    if counts[t][p] > 0 {
                        let dark = share > 0.5
                        cairo_set_source_rgb(cr, dark ? 1 : 0.15, dark ? 1 : 0.15, dark ? 1 : 0.15)
                        CairoCanvas.text(cr, String(counts[t][p]), x: x + cell / 2, y: y + cell / 2 + 4, align: 0.5)
                    }
                }
            }
            // Column names, rotated, above the columns.
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
            for p in 0 ..< k {
                cairo_save(cr)
                cairo_translate(cr, left + (Double(p) + 0.5) * cell + 4, top - 6)
                cairo_rotate(cr, -.pi / 2)
                CairoCanvas.text(cr, classNames[p], x: 0, y: 0, align: 0)
                cairo_restore(cr)
            }
            // Grid and the diagonal's frames.
            cairo_set_line_width(cr, 1)
            cairo_set_source_rgb(cr, 0.8, 0.8, 0.8)
            for i in 0 ... k {
                let o = Double(i) * cell + 0.5
                cairo_move_to(cr, left + o, top); cairo_line_to(cr, left + o, top + Double(k) * cell); cairo_stroke(cr)
                cairo_move_to(cr, left, top + o); cairo_line_to(cr, left + Double(k) * cell, top + o); cairo_stroke(cr)
            }
            cairo_set_line_width(cr, 2)
            cairo_set_source_rgb(cr, 0, 0.6, 0)
            for i in 0 ..< k {
                cairo_rectangle(cr, left + Double(i) * cell + 1.5, top + Double(i) * cell + 1.5, cell - 2, cell - 2)
                cairo_stroke(cr)
            }
        }
    }
}

extension ConfusionMatrix {
    /// Writes `NAME.txt` (the table), `NAME.json` (accuracies and counts) and
    /// `NAME.png` (the labeled chart, ``chartPNG(title:)``) into `folder`, atomically.
    public func write(to folder: String, name: String = "evaluation", extra: [String: Double] = [:]) throws {
        try AtomicFile.makeFolder(folder)
        try AtomicFile.write(Data(table.utf8), to: folder + "/\(name).txt")
        var object: [String: Any] = ["accuracy": accuracy, "correct": correct, "total": total, "class_names": classNames,
                                     "per_class_accuracy": perClassAccuracy.map { $0 ?? NSNull() as Any }, "confusion": counts]
        for (key, value) in extra { object[key] = value }
        let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(json, to: folder + "/\(name).json")
        try AtomicFile.write(try chartPNG(), to: folder + "/\(name).png")
    }
}
