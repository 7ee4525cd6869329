import StrataCore
import StrataData

/// A split tensor written whole without gathering it: the first part makes
/// the file's values from every part's band while the file is written, a
/// piece at a time, and the other parts serve their bands
/// (``ModelPartExchange/serveBands(_:)``).
extension HiddenUnitBands {
    /// `own`, this part's units along `hiddenAxis` (0: rows, 1: columns),
    /// as the whole tensor a file holds, for the first part to write; the
    /// other parts serve their values of it as tensor `index`.
    public func streamed(_ own: Tensor, hiddenAxis: Int, index: Int) -> StreamedTensor {
        hiddenAxis == 0 || own.rank == 1 ? rowStream(own, index: index) : columnStream(own, index: index)
    }

    /// A tensor whose hidden units are its rows (a bias, `(hidden)`; a
    /// decoder, `(hidden, visible)`): the parts' bands one after another.
    private func rowStream(_ own: Tensor, index: Int) -> StreamedTensor {
        let (width, split) = (own.count / max(mine.count, 1), self)
        let shape = own.rank == 1 ? [split.hiddenCount] : [split.hiddenCount, width]
        return StreamedTensor(shape: shape) { write in
            try own.withUnsafeBufferPointer { try write($0) } // the first part holds the first units
            for (part, units) in split.bands.enumerated().dropFirst() {
                try split.exchange.receiveBand(tensor: index, from: part, range: 0 ..< units.count * width, write)
            }
        }
    }

    /// A tensor whose hidden units are its columns (weights, `(visible,
    /// hidden)`): a run of whole rows at a time, each part's columns of those
    /// rows asked for in turn and put in place.
    private func columnStream(_ own: Tensor, index: Int) -> StreamedTensor {
        let (rows, hidden, split) = (own.rows, hiddenCount, self)
        let chunk = max(1, exchange.bandPiece / max(hidden, 1)), exchange = self.exchange
        return StreamedTensor(shape: [rows, hidden]) { write in
            var block = [Float](repeating: 0, count: min(chunk, rows) * hidden)
            for first in stride(from: 0, to: rows, by: chunk) {
                let count = min(chunk, rows - first)
                try block.withUnsafeMutableBufferPointer { out in
                    for (part, units) in split.bands.enumerated() {
                        let width = units.count
                        var offset = 0 // values of this part's rows placed so far
                        func place(_ piece: UnsafeBufferPointer<Float>) {
                            var taken = 0
                            while taken < piece.count {
                                let (row, column) = (offset / width, offset % width), n = min(width - column, piece.count - taken)
                                (out.baseAddress! + row * hidden + units.lowerBound + column).update(from: piece.baseAddress! + taken, count: n)
                                (taken, offset) = (taken + n, offset + n)
                            }
                        }
                        if part == 0 {
                            own.withUnsafeBufferPointer { place(UnsafeBufferPointer(rebasing: $0[first * width ..< (first + count) * width])) }
                        } else {
                            try exchange.receiveBand(tensor: index, from: part, range: first * width ..< (first + count) * width) { place($0) }
                        }
                    }
                    try write(UnsafeBufferPointer(rebasing: out[0 ..< count * hidden]))
                }
            }
        }
    }
}
