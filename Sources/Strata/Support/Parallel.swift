import Dispatch
import Foundation

/// Splits `0..<count` into one contiguous chunk per core and runs `body` on
/// each chunk concurrently (row-wise work on large batches: patch extraction,
/// contrast normalization). Small counts run on the calling thread.
public func parallelChunks(_ count: Int, minimumChunk: Int = 256, _ body: (Range<Int>) -> Void) {
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, count / max(minimumChunk, 1)))
    if workers <= 1 {
        if count > 0 { body(0 ..< count) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let start = count * w / workers, end = count * (w + 1) / workers
        if start < end { body(start ..< end) }
    }
}
