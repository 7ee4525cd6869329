import Foundation
import StrataCore

/// The largest count a saved state may hold (examples seen, epochs, a
/// position): 2^53, far beyond any run, and small enough that a run adding to
/// it never overflows and a Double holds it exactly.
let largestSavedCount = 1 << 53

/// Range checks of the values a resume reads, run on load before any is used:
/// a value outside its range is ``StrataError/badKey(path:key:reason:)`` naming
/// the key (the reader adds the file).
enum SavedState {
    /// A xoshiro256** state: four words, not all zero (the all-zero state never leaves zero).
    static func checkRandom(_ state: [UInt64], _ key: String) throws {
        guard state.count == 4 else { throw StrataError.badKey(path: "<checkpoint>", key: key, reason: "a random state is four words, found \(state.count)") }
        guard state.contains(where: { $0 != 0 }) else { throw StrataError.badKey(path: "<checkpoint>", key: key, reason: "a random state is not all zero") }
    }

    /// A count in 0...2^53.
    static func checkCount(_ value: Int, _ key: String) throws {
        guard (0 ... largestSavedCount).contains(value) else {
            throw StrataError.badKey(path: "<checkpoint>", key: key, reason: "must lie in 0...\(largestSavedCount), found \(value)")
        }
    }

    /// A finite, non-negative rate.
    static func checkRate(_ value: Float, _ key: String) throws {
        guard value.isFinite, value >= 0 else { throw StrataError.badKey(path: "<checkpoint>", key: key, reason: "must be finite and not negative, found \(value)") }
    }

    /// Runs a saved configuration's own `validate`, reporting what it finds at `key`.
    static func checked(_ key: String, _ validate: () throws -> Void) throws {
        do { try validate() } catch let error as StrataError { throw StrataError.badKey(path: "<checkpoint>", key: key, reason: error.description) }
    }

    /// A finite number, when present.
    static func checkFinite(_ value: Double?, _ key: String) throws {
        if let value, !value.isFinite { throw StrataError.badKey(path: "<checkpoint>", key: key, reason: "must be finite, found \(value)") }
    }
}

extension EpochState {
    /// The fields both loops save, checked (`key`: the metadata key they sit under).
    func checkEpochFields(_ key: String) throws {
        try SavedState.checkRandom(random, key + ".random")
        if let start = epochRandom { try SavedState.checkRandom(start, key + ".epochRandom") }
        try SavedState.checkCount(epoch, key + ".epoch")
        if let position = epochPosition { try SavedState.checkCount(position, key + ".epochPosition") }
        try SavedState.checkRate(learningRate, key + ".learningRate")
        try SavedState.checkFinite(lowestObjective, key + ".lowestObjective")
        try SavedState.checkFinite(firstObjective, key + ".firstObjective")
    }
}

extension TrainerState {
    /// Every value checked against its range (see ``SavedState``); `key`: where it was read.
    func checked(_ key: String) throws -> TrainerState {
        try checkEpochFields(key)
        try SavedState.checkCount(examplesSeen, key + ".examplesSeen")
        try SavedState.checkCount(epochsWithoutImprovement, key + ".epochsWithoutImprovement")
        try SavedState.checkFinite(best, key + ".best")
        try SavedState.checkFinite(previousObjective, key + ".previousObjective")
        return self
    }
}

extension FineTuningState {
    /// Every value checked against its range (see ``SavedState``); `key`: where it was read.
    func checked(_ key: String) throws -> FineTuningState {
        try checkEpochFields(key)
        try SavedState.checkCount(bestEpoch, key + ".bestEpoch")
        try SavedState.checkCount(epochsWithoutImprovement, key + ".epochsWithoutImprovement")
        if let batches = epochBatches { try SavedState.checkCount(batches, key + ".epochBatches") }
        try SavedState.checkFinite(epochLossSum, key + ".epochLossSum")
        try SavedState.checkFinite(bestError, key + ".bestError")
        try SavedState.checkFinite(previousObjective, key + ".previousObjective")
        guard bestEpoch <= epoch else {
            throw StrataError.badKey(path: "<checkpoint>", key: key + ".bestEpoch", reason: "\(bestEpoch) is later than the \(counted(epoch, "epoch")) done")
        }
        return self
    }
}
