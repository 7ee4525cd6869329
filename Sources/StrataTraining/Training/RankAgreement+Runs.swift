import Foundation
import StrataCore
import StrataModels
import StrataDistributed

extension MPIWorld {
    /// Before a training run's first collective: every rank holds the same
    /// examples (sizes and fingerprints, `identity`) and the same `settings`
    /// (their JSON, the per-machine core count aside), or the job stops here
    /// naming the rank and what differs (``requireAgreement(_:what:)``).
    func requireSameRun(_ what: String, rows: Int, columns: Int, validationRows: Int, identity: String, settings: String) throws {
        var agreement = RankAgreement()
        agreement.size("training examples", rows)
        agreement.size("values per example", columns)
        agreement.size("validation examples", validationRows)
        agreement.text("data (values and labels)", identity)
        agreement.text("settings", settings)
        try requireAgreement(agreement, what: what)
    }
}

extension TrainingConfiguration {
    /// The settings every rank must share, as text: the core count is each machine's own.
    var sharedAcrossRanks: String {
        var shared = self
        shared.cores = 1
        return encodeJSON(shared)
    }
}
