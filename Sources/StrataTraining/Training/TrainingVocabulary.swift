import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

// The words of the training loop's settings: each name parsed by the shared settings vocabulary (StrataCore's SettingVocabulary.swift), for flags and YAML alike.

extension LearningRateSchedule {
    /// `constant`, `linear:FINAL_FRACTION:SATURATE_EPOCH`, `exponential:FACTOR[:MINIMUM]` or
    /// `monitor` (pylearn2's `MonitorBasedLRAdjuster` defaults). Bare `linear` is
    /// `linear:0.1:10`, bare `exponential` is `exponential:0.95`.
    public init(parsing text: String) throws {
        let (word, p) = splitComposite(text)
        switch (word, p.count) {
        case ("constant", 0): self = .constant
        case ("monitor", 0): self = .monitorBasedDefaults
        case ("linear", 0): self = .linearDecay(finalFraction: 0.1, saturateEpoch: 10)
        case ("linear", 2):
            let fraction = try finiteNumber(p[0], "linear's final fraction"), epoch = try wholeNumber(p[1], "linear's saturate epoch")
            guard fraction >= 0, epoch >= 1 else { throw SettingError("linear:FINAL_FRACTION:EPOCH needs a fraction >= 0 and an epoch >= 1 (got '\(text)')") }
            self = .linearDecay(finalFraction: fraction, saturateEpoch: epoch)
        case ("exponential", 0): self = .exponentialDecay(factor: 0.95, minimum: 0)
        case ("exponential", 1), ("exponential", 2):
            let factor = try finiteNumber(p[0], "exponential's factor"), minimum = p.count > 1 ? try finiteNumber(p[1], "exponential's minimum") : 0
            guard factor > 0, factor <= 1, minimum >= 0 else { throw SettingError("exponential:FACTOR[:MIN] needs 0 < FACTOR <= 1 and MIN >= 0 (got '\(text)')") }
            self = .exponentialDecay(factor: factor, minimum: minimum)
        default:
            throw SettingError("expected constant, linear:FINAL_FRACTION:EPOCH, exponential:FACTOR[:MIN] or monitor (got '\(text)')")
        }
    }
}
