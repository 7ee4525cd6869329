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
