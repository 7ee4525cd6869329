import CCairo
import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

/// A white RGB Cairo image to draw on, encoded as PNG bytes: what the charts
/// (monitor curves, confusion matrices) share.
enum CairoCanvas {
    /// Creates a `width` x `height` surface, lets `draw` paint it, returns the PNG.
    static func png(width: Int, height: Int, what: String, _ draw: (OpaquePointer) -> Void) throws -> Data {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let cr = cairo_create(surface) else {
            throw StrataError.io(path: "<\(what)>", reason: "Cairo could not create a \(width)x\(height) image")
        }
        defer { cairo_destroy(cr); cairo_surface_destroy(surface) }
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        draw(cr)
        cairo_surface_flush(surface)
        var bytes = Data()
        let status = withUnsafeMutablePointer(to: &bytes) { pointer in
            cairo_surface_write_to_png_stream(surface, { closure, data, length in
                closure!.assumingMemoryBound(to: Data.self).pointee.append(data!, count: Int(length))
                return CAIRO_STATUS_SUCCESS
            }, pointer)
        }
        guard status == CAIRO_STATUS_SUCCESS else { throw StrataError.io(path: "<\(what)>", reason: "Cairo could not encode the PNG") }
        return bytes
    }

    /// Draws `string` with its baseline at `y`; `align` 0 left, 0.5 centered, 1 right of `x`.
    static func text(_ cr: OpaquePointer, _ string: String, x: Double, y: Double, align: Double) {
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, string, &extents)
        cairo_move_to(cr, x - align * extents.x_advance, y)
        cairo_show_text(cr, string)
    }
}
