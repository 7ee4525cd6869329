import Foundation

/// Random numbers drawn per example, so that what an example's Gibbs sample
/// or corruption is does not depend on which process or core draws it, nor on
/// how the global minibatch is cut: the counter-based idea of Salmon et al.
/// (2011, "Parallel random numbers: as easy as 1, 2, 3"), built on the
/// library's own generator. Each step draws one `key` from the run's
/// generator (the same draw on every rank); row `i` of a rank's batch is
/// example `firstExample + i` of the step's global batch, and its numbers
/// for draw site `site` (a Gibbs step's hidden sample, its visible sample, a
/// corruption) come from a generator seeded with the key, the example and
/// the site alone. Data-parallel training over N ranks with batch b then
/// draws exactly what one process with batch N·b draws.
public struct ExampleStreams: Sendable {
    /// The step's key, one draw from the run's generator.
    public let key: UInt64
    /// The position, in the step's global batch, of this batch's first row.
    public let firstExample: Int

    /// Draws the step's key from `random` (one value, on every rank alike).
    public init(firstExample: Int, random: inout RandomSource) {
        (key, self.firstExample) = (random.next(), firstExample)
    }

    /// The generator of row `row` (of this batch) for draw site `site`.
    @inline(__always)
    public func stream(row: Int, site: UInt64) -> RandomSource {
        RandomSource(seed: key ^ (UInt64(firstExample + row) &* 0x9E37_79B9_7F4A_7C15) ^ ((site &+ 1) &* 0xD1B5_4A32_D192_ED03))
    }

    /// Calls `body` with each row in `rows` of the row-major `(·, columns)`
    /// values at `base` and that row's generator for `site`.
    @inline(__always)
    public func forEachRow(_ base: UnsafeMutablePointer<Float>, columns: Int, rows: Range<Int>, site: UInt64,
                           _ body: (UnsafeMutableBufferPointer<Float>, inout RandomSource) -> Void) {
        for row in rows {
            var random = stream(row: row, site: site)
            body(UnsafeMutableBufferPointer(start: base + row * columns, count: columns), &random)
        }
    }

    /// ``forEachRow(_:columns:rows:site:_:)`` over every row of `tensor` `(n, columns)`.
    public func forEachRow(of tensor: inout Tensor, site: UInt64, _ body: (UnsafeMutableBufferPointer<Float>, inout RandomSource) -> Void) {
        let (rows, columns) = (tensor.rows, tensor.columns)
        tensor.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            forEachRow(base, columns: columns, rows: 0 ..< rows, site: site, body)
        }
    }
}
