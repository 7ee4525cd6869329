import Foundation
import Testing
@testable import Strata

/// The training configurations' saved-field lists: every stored setting is
/// saved unless it is one that says how a run is spread or how fast it goes,
/// and a record written with every saved setting changed reads back equal.
@Suite struct SavedFieldsTests {
    func stored(_ value: Any) -> Set<String> { Set(Mirror(reflecting: value).children.compactMap(\.label)) }

    @Test func everySettingIsSavedOrNamedAsNotSaved() {
        let sgd = Set(MinibatchSGD.savedFields.flatMap(\.keys))
        #expect(stored(TrainingConfiguration().sgd).subtracting(sgd) == ["checkpointEverySteps", "serverShards", "maxStaleness", "modelParallel"])
        #expect(stored(TrainingConfiguration()).subtracting(TrainingConfiguration.savedFields.flatMap(\.keys)) == ["sgd", "cores"])
        #expect(stored(FineTuningConfiguration()).subtracting(FineTuningConfiguration.savedFields.flatMap(\.keys)) == ["sgd"])
        #expect(Set(TrainingConfiguration.savedFields.flatMap(\.keys)).isSuperset(of: sgd), "the shared settings are flattened into the record")
    }

    @Test func aRecordWithEverySettingChangedReadsBackEqual() throws {
        var fine = FineTuningConfiguration()
        (fine.batchSize, fine.learningRate, fine.initialMomentum, fine.finalMomentum, fine.momentumSaturateEpoch) = (7, 0.3, 0.1, 0.2, 3)
        (fine.weightDecay, fine.maxEpochs, fine.monitorExamples, fine.seed, fine.divergenceFactor) = (0.01, 9, 50, 4, 20)
        (fine.optimizer, fine.randomPerExample, fine.distributed) = (.nesterov, true, .downpour(fetchEvery: 2, pushEvery: 3))
        (fine.learningRateDecay, fine.lrSchedule, fine.inputDropout, fine.hiddenDropout, fine.maxColumnNorm) = (0.9, .constant, 0.1, 0.2, 3)
        (fine.minUpdates, fine.patience, fine.batchNorm, fine.batchNormEpsilon, fine.batchNormMomentum) = (11, 5, true, 1e-3, 0.8)
        (fine.teacher, fine.temperature, fine.softWeight) = ("teacher.safetensors", 2, 0.5)
        fine.augmentation.flip = true
        let record = try JSONEncoder().encode(fine)
        #expect(try JSONDecoder().decode(FineTuningConfiguration.self, from: record) == fine)
        var training = TrainingConfiguration()
        (training.batchSize, training.optimizer, training.schedule, training.momentumStartEpoch) = (9, .adamDefaults, .linearDecay(finalFraction: 0.1, saturateEpoch: 4), 2)
        (training.earlyStopping, training.checkpointEvery) = (EarlyStopping(patience: 3), 2)
        let read = try JSONDecoder().decode(TrainingConfiguration.self, from: try JSONEncoder().encode(training))
        #expect(read == training)
        let keys = try JSONSerialization.jsonObject(with: record) as? [String: Any]
        #expect(keys?["batchSize"] as? Int == 7 && keys?["sgd"] == nil, "one flat record, as before the shared settings had a type")
    }
}
