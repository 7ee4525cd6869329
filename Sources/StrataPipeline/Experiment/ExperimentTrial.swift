import StrataCore

/// A trial of an experiment, as one tries it before the full run: its first
/// `limit` images (and what follows from it, ``ExperimentRun/trial(_:limit:maxEpochs:)``),
/// at most `maxEpochs` epochs per stage, another dataset. `strata train`
/// and `strata tutorial` take it as flags; a sweep passes it to every run.
public struct ExperimentTrial: Equatable, Sendable {
    public var limit: Int?
    public var maxEpochs: Int?
    /// A dataset name, or a folder of PNG images or CIFAR-10 binary batches, instead of the file's.
    public var dataset: String?

    public init(limit: Int? = nil, maxEpochs: Int? = nil, dataset: String? = nil) {
        (self.limit, self.maxEpochs, self.dataset) = (limit, maxEpochs, dataset)
    }

    /// Refuses a trial no run can make: a `limit` or `maxEpochs` below 1
    /// (named by the flags that give them).
    public func validate() throws {
        if let limit, limit < 1 { throw StrataError.invalidArgument(name: "--limit", reason: "must be at least 1, not \(limit)") }
        if let maxEpochs, maxEpochs < 1 { throw StrataError.invalidArgument(name: "--max-epochs", reason: "must be at least 1, not \(maxEpochs)") }
    }

    /// `experiment` as this trial runs it, and one line per change, for the plan.
    public func applied(to experiment: Experiment) throws -> (Experiment, changes: [String]) {
        try validate()
        var e = experiment
        if let dataset { e.images.dataset = dataset }
        return ExperimentRun.trial(e, limit: limit, maxEpochs: maxEpochs)
    }

    /// The flags that ask a `strata train` run for this trial.
    public var arguments: [String] {
        (limit.map { ["--limit", String($0)] } ?? []) + (maxEpochs.map { ["--max-epochs", String($0)] } ?? []) + (dataset.map { ["--dataset", $0] } ?? [])
    }
}
