/// The fewest scalars an element-wise pass over a large tensor gives one
/// core (128 KB): a batch of 100 rows of 1,000 hidden units (100,000 scalars)
/// is split in two or more, a row or a bias vector stays on the calling thread.
public let elementsPerCore = 1 << 15

/// Runs `body` on `0..<count` cut into contiguous chunks of at least
/// ``elementsPerCore`` (one per core, on the ``CoreTeam``): an element-wise
/// pass between a training step's split products, which would otherwise
/// leave all but one core waiting. Each element is computed exactly as on
/// one core, so the result never depends on the number of cores.
@inline(__always)
public func parallelElements(_ count: Int, _ body: (Range<Int>) -> Void) {
    parallelChunks(count, minimumChunk: elementsPerCore, body)
}

/// Splits `0..<count` into one contiguous chunk per core and runs `body` on
/// each chunk concurrently on the ``CoreTeam`` (row-wise work on large
/// batches: patch extraction, contrast normalization, pooling). `cores`
/// defaults to the applied ``Compute``; small counts and one core run on the
/// calling thread.
public func parallelChunks(_ count: Int, minimumChunk: Int = 256, cores: Int = Compute.activeCores, _ body: (Range<Int>) -> Void) {
    let workers = min(max(cores, 1), max(1, count / max(minimumChunk, 1)))
    if workers <= 1 {
        if count > 0 { body(0 ..< count) }
        return
    }
    CoreTeam.run(workers) { w in
        let start = count * w / workers, end = count * (w + 1) / workers
        if start < end { body(start ..< end) }
    }
}
