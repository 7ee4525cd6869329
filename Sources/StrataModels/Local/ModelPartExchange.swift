import StrataCore
import StrataData

/// The link between the parts of one model split across processes (model
/// parallelism, as DistBelief splits a model across machines; Dean et al.
/// 2012): what a part sends its neighbours and the sums the parts make
/// together. Declared here, below MPI, so a layer can be split without
/// knowing the transport; StrataDistributed's `ModelParallel` implements it
/// over MPI. Every call is collective over the parts of one model replica.
public protocol ModelPartExchange: AnyObject, Sendable {
    /// This process's part, `0 ..< parts`; parts own consecutive image regions.
    var part: Int { get }
    var parts: Int { get }

    /// Point to point with the neighbouring parts at once: sends `toPrevious`
    /// to part - 1 and `toNext` to part + 1 and receives `fromPrevious` and
    /// `fromNext` from them (empty buffers where there is no such neighbour or
    /// nothing crosses). Each buffer's size is agreed by the layer's plan.
    func exchange(toPrevious: UnsafeBufferPointer<Float>, fromPrevious: UnsafeMutableBufferPointer<Float>,
                  toNext: UnsafeBufferPointer<Float>, fromNext: UnsafeMutableBufferPointer<Float>)

    /// Sums `values` over the parts, in place on every part.
    func sum(_ values: UnsafeMutableBufferPointer<Float>)
    func sum(_ values: inout [Double])

    /// Completes `buffer` on every part: part `r` has written `bands[r]`.
    func gatherBands(_ buffer: UnsafeMutableBufferPointer<Float>, bands: [Range<Int>])
    /// Completes `buffer` on part 0 only (a checkpoint's whole model: no other part holds more than its own).
    func gatherBandsOnFirstPart(_ buffer: UnsafeMutableBufferPointer<Float>, bands: [Range<Int>])

    /// On a part other than the first: answers the first part's requests
    /// (``receiveBand(tensor:from:range:_:)``) for its values of `tensors`,
    /// until the first part says it has all it needs (``endBandRequests()``).
    /// How a checkpoint is written without gathering the model in one process.
    func serveBands(_ tensors: [UnsafeBufferPointer<Float>])
    /// On the first part: the values `range` of part `from`'s tensor `index`
    /// (the order it passed them to ``serveBands(_:)``), passed to `body` a
    /// piece of at most ``bandPiece`` values at a time. Every piece is
    /// received even when `body` throws, which is then rethrown.
    func receiveBand(tensor index: Int, from part: Int, range: Range<Int>, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws
    /// On the first part: tells every other part that serves bands that nothing more is asked.
    func endBandRequests()

    /// Values this part has sent to other parts so far, borders and sums alike.
    var valuesSent: Int { get }
}

extension ModelPartExchange {
    /// The most values one piece of a served band holds (4 MB): what the first part holds of another's at once.
    public var bandPiece: Int { 1 << 20 }

    /// Writes `file` (this part's tensors) as the whole model's file: on the
    /// first part to `path`, each tensor of `names` (listed in one order on
    /// every part) replaced by `stream(index, name)`, made from the parts'
    /// values while the file is written; the other parts serve their values
    /// of those tensors meanwhile and write nothing. Collective.
    func writeWhole(_ file: SafeTensors, streaming names: [String], to path: String, _ stream: (Int, String) throws -> StreamedTensor) throws {
        try onFirstPartServedBy(names.map { file.tensors[$0]! }) {
            var whole = file
            for (index, name) in names.enumerated() { (whole.tensors[name], whole.streamed[name]) = (nil, try stream(index, name)) }
            try whole.write(to: path)
        }
    }

    /// Runs `body` on the first part while every other part serves its
    /// `tensors` (listed in one order on every part) to the streams `body`
    /// reads with ``receiveBand(tensor:from:range:_:)``; the other parts
    /// return when `body` is done, also when it throws. The skeleton of every
    /// file written whole from a split model's parts. Collective.
    package func onFirstPartServedBy(_ tensors: [Tensor], _ body: () throws -> Void) throws {
        guard part == 0 else {
            withBuffers(tensors[...], []) { serveBands($0) }
            return
        }
        defer { endBandRequests() } // also when the file cannot be written: the others stop serving
        try body()
    }
}

/// One part's share of a stage split by image region (``LocalFeatureStage``):
/// the pooling rows it makes, the filter rows (positions, with their weights)
/// it owns, the filter rows it reads from the next part for its pools (the
/// halo), and the input rows its receptive fields cover.
///
/// The filter rows are cut at pooling-row starts, so a part reads only from
/// the next part for its pools (the `poolSize - poolStride` rows that
/// overlapping pools share) and sends its own first rows to the previous;
/// receptive fields that overlap the neighbours' add their partial
/// reconstructions on the shared input rows. Nothing else crosses.
public struct LocalStagePartition: Equatable, Sendable {
    public var part: Int, parts: Int
    /// Pooling rows made here.
    public var pools: Range<Int>
    /// Filter rows owned here (their units' weights live here only).
    public var filterRows: Range<Int>
    /// Filter rows read: the owned ones and the next part's first rows.
    public var readRows: Range<Int>
    /// Filter rows the previous part reads from this one (sent to it each step).
    public var rowsToPrevious: Int
    /// This part's pooling rows that read the next part's filter rows, and
    /// the previous part's that read this one's: their pooled values cross,
    /// so that each part takes the gradient of its own units, pool after pool
    /// in the order one process takes it (the same bits).
    public var poolsToNext: Range<Int>, poolsFromPrevious: Range<Int>
    /// Input rows this part's receptive fields cover, and those whose
    /// reconstruction error it counts (each input row counted by one part).
    public var inputRows: Range<Int>, countedInputRows: Range<Int>
    /// Input rows shared with the previous and the next part's receptive fields.
    public var sharedWithPrevious: Range<Int>, sharedWithNext: Range<Int>

    /// The whole stage in one process.
    public static func whole(_ g: LocalStageGeometry) -> LocalStagePartition {
        make(g, parts: 1)?.first ?? LocalStagePartition(part: 0, parts: 1, pools: 0 ..< g.poolRows, filterRows: 0 ..< g.filterRows,
                                                        readRows: 0 ..< g.filterRows, rowsToPrevious: 0,
                                                        poolsToNext: g.poolRows ..< g.poolRows, poolsFromPrevious: 0 ..< 0, inputRows: 0 ..< g.inputHeight,
                                                        countedInputRows: 0 ..< g.inputHeight, sharedWithPrevious: 0 ..< 0, sharedWithNext: 0 ..< 0)
    }

    /// Every part's share of `g` split `parts` ways, or an error saying why it
    /// cannot be and the nearest number of parts that can.
    public static func plan(_ g: LocalStageGeometry, parts: Int) throws -> [LocalStagePartition] {
        if let plan = make(g, parts: parts) { return plan }
        let valid = (1 ..< parts).reversed().first { make(g, parts: $0) != nil } ?? 1
        throw StrataError.invalidArgument(name: "model_parallel", reason: """
            \(g.poolRows) pooling rows of \(g.filterRows) filter rows cannot be split \(parts) ways: every part needs a pooling row \
            and enough rows that only its neighbours read its borders (pools of \(g.poolSize) rows \(g.poolStride) apart, fields of \
            \(g.field) pixels \(g.stride) apart); the nearest valid choice is model_parallel: \(valid)
            """)
    }

    private static func make(_ g: LocalStageGeometry, parts: Int) -> [LocalStagePartition]? {
        guard parts >= 1, parts <= g.poolRows else { return nil }
        // Pooling rows cut so that the filter rows (the work and the weights) split evenly, each part keeping a pooling row.
        var poolStarts = [0]
        for r in 1 ..< parts {
            let even = Int((Double(r * g.filterRows) / Double(parts * g.poolStride)).rounded())
            poolStarts.append(min(g.poolRows - (parts - r), max(poolStarts[r - 1] + 1, even)))
        }
        poolStarts.append(g.poolRows)
        let filterStarts = (0 ... parts).map { $0 == parts ? g.filterRows : poolStarts[$0] * g.poolStride }
        var plan: [LocalStagePartition] = []
        for r in 0 ..< parts {
            let pools = poolStarts[r] ..< poolStarts[r + 1]
            let owned = filterStarts[r] ..< filterStarts[r + 1]
            let read = owned.lowerBound ..< max(owned.upperBound, g.filterRows(ofPools: pools).upperBound)
            let input = g.inputRows(of: owned)
            let counted = (r == 0 ? 0 : input.lowerBound) ..< (r == parts - 1 ? g.inputHeight : filterStarts[r + 1] * g.stride)
            plan.append(LocalStagePartition(part: r, parts: parts, pools: pools, filterRows: owned, readRows: read, rowsToPrevious: 0,
                                            poolsToNext: pools.upperBound ..< pools.upperBound, poolsFromPrevious: pools.lowerBound ..< pools.lowerBound, inputRows: input, countedInputRows: counted, sharedWithPrevious: 0 ..< 0, sharedWithNext: 0 ..< 0))
        }
        for r in 0 ..< parts - 1 {
            // Only neighbours may meet: the halo lies inside the next part, the fields' overlap too.
            guard !plan[r].filterRows.isEmpty, plan[r].readRows.upperBound <= plan[r + 1].filterRows.upperBound else { return nil }
            if r + 2 < parts, plan[r].inputRows.upperBound > plan[r + 2].inputRows.lowerBound { return nil }
            plan[r + 1].rowsToPrevious = plan[r].readRows.upperBound - plan[r].filterRows.upperBound
            // The first of this part's pools to read row `filterRows.upperBound` (the next part's first).
            var reading = plan[r].pools.lowerBound
            while reading < plan[r].pools.upperBound && reading * g.poolStride + g.poolSize <= plan[r].filterRows.upperBound { reading += 1 }
            let crossing = reading ..< plan[r].pools.upperBound
            (plan[r].poolsToNext, plan[r + 1].poolsFromPrevious) = (crossing, crossing)
            let shared = plan[r + 1].inputRows.lowerBound ..< max(plan[r + 1].inputRows.lowerBound, plan[r].inputRows.upperBound)
            (plan[r].sharedWithNext, plan[r + 1].sharedWithPrevious) = (shared, shared)
        }
        return plan
    }

    /// Filter positions owned here (a contiguous range of the stage's positions).
    public func positions(_ g: LocalStageGeometry) -> Range<Int> {
        filterRows.lowerBound * g.filterColumns ..< filterRows.upperBound * g.filterColumns
    }

    /// Values a training step sends per example: its first rows to the
    /// previous part, its pooled values that read the next part's rows, and
    /// its reconstruction of the shared input rows (the partial sum forward, the whole back).
    public func valuesSentPerExample(_ g: LocalStageGeometry) -> Int {
        rowsToPrevious * g.filterColumns * g.maps + poolsToNext.count * g.poolColumns * g.maps
            + (sharedWithPrevious.count + sharedWithNext.count) * g.inputRowSize
    }

    /// The pooling rows whose values this part holds: the previous part's that read its rows, then its own.
    public var pooledRows: Range<Int> { (poolsFromPrevious.isEmpty ? pools.lowerBound : poolsFromPrevious.lowerBound) ..< pools.upperBound }
}
