import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

extension FeatureExtractor {
    /// ``extract(_:imagesPerBatch:cores:progress:)`` across the ranks of
    /// `world` (by image shards): each rank extracts one contiguous band of
    /// the examples, in whole products (``imagesPerProduct``), and one in-place allgather gives every rank all the
    /// features, as one process computes them (an image's features depend on
    /// that image alone). `progress` is told about how many are done (this
    /// rank's count times the ranks). Without ranks: the plain extraction. Collective.
    public func extract(_ examples: Tensor, imagesPerBatch: Int = 16, cores: Int = Compute.activeCores, world: MPIWorld?,
                        progress: ((Int) -> Void)? = nil) throws -> Tensor {
        guard let world, world.size > 1 else { return try extract(examples, imagesPerBatch: imagesPerBatch, cores: cores, progress: progress) }
        var agreement = RankAgreement()
        agreement.size("images", examples.rows); agreement.size("values per image", examples.columns)
        agreement.text("images' values", examples.fingerprint)
        try world.requireAgreement(agreement, what: "feature extraction")
        let width = outputCount
        guard case let (total, false) = examples.rows.multipliedReportingOverflow(by: width), total <= Int(Int32.max) else {
            throw StrataError.invalidArgument(name: "features", reason: "\(examples.rows) x \(width) features are more than MPI's 2^31 values in one gather; extract fewer images at a time")
        }
        // Bands of whole products, so that each rank's cuts are one process's cuts.
        let unit = imagesPerProduct, units = (examples.rows + unit - 1) / unit
        let bands = (0 ..< world.size).map { rank -> Range<Int> in
            let share = DataParallel.share(of: units, rank: rank, size: world.size)
            return min(share.lowerBound * unit, examples.rows) ..< min(share.upperBound * unit, examples.rows)
        }
        let mine = bands[world.rank]
        let band = mine.isEmpty ? Tensor(zeros: [0, width])
            : try extract(examples.rows(mine), imagesPerBatch: imagesPerBatch, cores: cores) { progress?(min(examples.rows, $0 * world.size)) }
        return world.stackRows(band, rows: bands.map(\.count), columns: width)
    }
}
