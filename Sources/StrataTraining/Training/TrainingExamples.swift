import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// The examples a pretraining run draws its minibatches from: a matrix in
/// memory, or the rows of an `.npy` file on disk read one block at a time, so
/// that a patch set larger than memory trains with bounded memory.
///
/// On disk, an epoch visits the blocks (`blockRows` consecutive rows each) in
/// a shuffled order and the rows of each block in a shuffled order, both
/// drawn from the run's seed, so every example is seen once per epoch, as in
/// memory, and each block is read once per epoch. When one block holds every
/// row the order is exactly the in-memory one, and so is the training.
public enum TrainingExamples: Sendable {
    case memory(Tensor)
    case file(NPYRowFile, blockRows: Int)

    public var rows: Int {
        switch self {
        case .memory(let x): return x.rows
        case .file(let f, _): return f.rows
        }
    }

    public var columns: Int {
        switch self {
        case .memory(let x): return x.columns
        case .file(let f, _): return f.columns
        }
    }

    /// One line for logs: the shape, and the file and block size when on disk.
    public var summary: String {
        switch self {
        case .memory(let x): return "\(x.rows) x \(x.columns) in memory"
        case .file(let f, let block): return "\(f.rows) x \(f.columns) read from \(f.path) in blocks of \(block) rows"
        }
    }

    /// Checks the values are finite and returns their fingerprint (the
    /// resumed-run identity, ``Tensor/fingerprint``, the same for a matrix
    /// on disk as in memory): one pass over a file, block by block, naming
    /// the first row that is not finite; with `showProgress`, a file's pass draws a progress bar.
    public func validatedFingerprint(what: String, showProgress: Bool = false) throws -> String {
        switch self {
        case .memory(let x):
            guard x.isFinite else { throw StrataError.invalidArgument(name: what, reason: "contains NaN or infinity") }
            return x.fingerprint
        case .file(let f, let blockRows):
            try Self.validate(blockRows: blockRows, columns: f.columns)
            let reader = try f.open()
            var block = [Float](repeating: 0, count: min(blockRows, f.rows) * f.columns)
            var hasher = FingerprintHasher()
            let bar = showProgress ? ProgressBar(total: f.rows, label: "checking \(f.path)") : nil
            for start in stride(from: 0, to: f.rows, by: blockRows) {
                let range = start ..< min(start + blockRows, f.rows)
                try block.withUnsafeMutableBufferPointer { buffer in
                    try reader.read(rows: range, into: buffer.baseAddress!)
                    let values = UnsafeBufferPointer(rebasing: buffer[0 ..< range.count * f.columns])
                    if let bad = values.firstIndex(where: { !$0.isFinite }) {
                        throw StrataError.invalidArgument(name: what, reason: "\(f.path) row \(start + bad / f.columns) holds \(values[bad])")
                    }
                    hasher.add(values)
                }
                bar?.update(range.upperBound)
            }
            bar?.finish("every value finite")
            return hasher.fingerprint(shape: [f.rows, f.columns])
        }
    }

    /// A block must hold at least one row and at most 2^31 values (8 GiB).
    package static func validate(blockRows: Int, columns: Int) throws {
        guard blockRows >= 1 else { throw StrataError.invalidArgument(name: "block rows", reason: "\(blockRows) must be at least 1") }
        guard case let (values, false) = blockRows.multipliedReportingOverflow(by: columns), values <= 1 << 31 else {
            throw StrataError.invalidArgument(name: "block rows", reason: "\(blockRows) rows of \(columns) values do not make a block that fits in memory")
        }
    }

    /// The order an epoch visits the rows in, drawn from `random`: a
    /// permutation of all rows in memory (or with one block); on disk, the
    /// blocks shuffled, then the rows of each block shuffled.
    public func epochOrder(using random: inout RandomSource) -> [Int] {
        guard case .file(let f, let blockRows) = self, blockRows < f.rows else { return random.permutation(rows) }
        let blocks = (f.rows + blockRows - 1) / blockRows
        var order: [Int] = []
        order.reserveCapacity(f.rows)
        for block in random.permutation(blocks) {
            let start = block * blockRows
            let count = min(blockRows, f.rows - start)
            order.append(contentsOf: random.permutation(count).lazy.map { start + $0 })
        }
        return order
    }

    /// The rows at `indices` (sorted or not), gathered into a tensor: the monitor's fixed subset.
    public func gatherRows(_ indices: [Int]) throws -> Tensor {
        switch self {
        case .memory(let x):
            return indices.count == x.rows && indices.elementsEqual(0 ..< x.rows) ? x : x.gatherRows(indices)
        case .file(let f, _):
            let reader = try f.open()
            var out = Tensor(zeros: [indices.count, f.columns])
            try out.withUnsafeMutableBufferPointer { buffer in
                for (k, i) in indices.enumerated() { try reader.read(rows: i ..< i + 1, into: buffer.baseAddress! + k * f.columns) }
            }
            return out
        }
    }

    /// The examples without their last `count` rows, and those rows in
    /// memory (a validation set held out of a run).
    public func holdingOut(last count: Int) throws -> (rest: TrainingExamples, held: Tensor) {
        precondition(count >= 0 && count < rows, "holding out \(count) of \(rows) rows")
        switch self {
        case .memory(let x): return (.memory(x.rows(0 ..< x.rows - count)), x.rows(x.rows - count ..< x.rows))
        case .file(let f, let blockRows): return (.file(f.prefix(f.rows - count), blockRows: blockRows), try f.read(rows: f.rows - count ..< f.rows))
        }
    }

    /// The examples as one matrix in memory (read whole from a file).
    public func inMemory() throws -> Tensor {
        switch self {
        case .memory(let x): return x
        case .file(let f, _): return try f.read(rows: 0 ..< f.rows)
        }
    }

    /// A gatherer of minibatches for one pass over an epoch's order.
    public func minibatches() throws -> MinibatchGatherer { try MinibatchGatherer(self) }
}

/// Gathers minibatches of ``TrainingExamples`` into a reused buffer. On disk
/// it holds one block: a row of another block reads that block first, which
/// happens once per block per epoch since an epoch's order visits the blocks
/// one after another (``TrainingExamples/epochOrder(using:)``).
public final class MinibatchGatherer {
    private let examples: TrainingExamples
    private var reader: NPYRowFile.Reader?
    private var block: [Float] = []
    private var loadedBlock = -1
    /// Blocks read from disk so far.
    public private(set) var blocksRead = 0

    init(_ examples: TrainingExamples) throws {
        self.examples = examples
        if case .file(let f, let blockRows) = examples {
            try TrainingExamples.validate(blockRows: blockRows, columns: f.columns)
            reader = try f.open()
            block = [Float](repeating: 0, count: min(blockRows, f.rows) * f.columns)
        }
    }

    /// Writes the rows at `indices` into `batch` (reallocated only when its row count changes).
    public func gather(_ indices: ArraySlice<Int>, into batch: inout Tensor) throws {
        switch examples {
        case .memory(let x):
            x.gatherRows(indices, into: &batch)
        case .file(let f, let blockRows):
            if batch.shape != [indices.count, f.columns] { batch = Tensor(zeros: [indices.count, f.columns]) }
            let width = f.columns
            for (k, i) in indices.enumerated() {
                precondition(i >= 0 && i < f.rows, "row index \(i) out of 0..<\(f.rows)")
                let wanted = i / blockRows
                if wanted != loadedBlock {
                    let start = wanted * blockRows
                    try block.withUnsafeMutableBufferPointer { try reader!.read(rows: start ..< min(start + blockRows, f.rows), into: $0.baseAddress!) }
                    loadedBlock = wanted
                    blocksRead += 1
                }
                let offset = (i - wanted * blockRows) * width
                block.withUnsafeBufferPointer { source in
                    batch.withUnsafeMutableBufferPointer { (($0.baseAddress! + k * width)).update(from: source.baseAddress! + offset, count: width) }
                }
            }
        }
    }
}
