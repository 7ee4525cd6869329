import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

/// Each composite setting has one text form, read the same from a flag or a YAML value.
@Suite struct VocabularyTests {
    @Test func textFormsRoundTrip() throws {
        for c in [Autoencoder.Corruption.none, .masking(probability: 0.3), .gaussian(standardDeviation: 0.1), .saltAndPepper(probability: 0.2)] {
            #expect(try Autoencoder.Corruption(parsing: c.text) == c)
        }
        for o in [RBM.Objective.scoreMatching(noise: 0.4), .contrastiveDivergence(steps: 3), .persistentCD(steps: 1)] {
            #expect(try RBM.Objective(parsing: o.text) == o)
        }
        #expect(try Autoencoder.Loss(parsing: "cross-entropy") == .crossEntropy && Autoencoder.Loss(parsing: "squared_error") == .squaredError)
        #expect(try Autoencoder.Corruption(parsing: "salt-pepper:0.1") == .saltAndPepper(probability: 0.1))
    }

    @Test func schedulesTakeTheirParameters() throws {
        #expect(try LearningRateSchedule(parsing: "linear:0.2:15") == .linearDecay(finalFraction: 0.2, saturateEpoch: 15))
        #expect(try LearningRateSchedule(parsing: "exponential:0.9:0.001") == .exponentialDecay(factor: 0.9, minimum: 0.001))
        #expect(try LearningRateSchedule(parsing: "monitor") == .monitorBasedDefaults)
        #expect(throws: SettingError.self) { try LearningRateSchedule(parsing: "exponential:nan") }
        #expect(throws: SettingError.self) { try LearningRateSchedule(parsing: "linear:0.1") }
    }

    @Test func yamlMappingsFlattenToTheSameText() throws {
        let e = try Experiment.parse("""
        name: v
        layers:
          - learner: autoencoder
            hidden: 4
            corruption: {salt_pepper: 0.2}
            training: {lr_schedule: {exponential: {factor: 0.9}}}
          - learner: rbm
            hidden: 3
            objective: {pcd: {steps: 2}}
        """)
        guard case .autoencoder(let a) = e.layers[0].learner, case .rbm(let r) = e.layers[1].learner else { Issue.record("wrong learners"); return }
        #expect(a.corruption == .saltAndPepper(probability: 0.2) && r.objective == .persistentCD(steps: 2))
        #expect(e.layers[0].training.schedule == .exponentialDecay(factor: 0.9, minimum: 0))
    }

    @Test func momentumRampsAgreeAtTheEdges() {
        let ramp = MomentumRamp(initial: 0.5, final: 0.9, startEpoch: 1, saturateEpoch: 5)
        #expect(ramp.momentum(atEpoch: 1) == 0.5 && abs(ramp.momentum(atEpoch: 3) - 0.7) < 1e-6 && ramp.momentum(atEpoch: 9) == 0.9)
        #expect(MomentumRamp(initial: 0.5, final: 0.9, startEpoch: 3, saturateEpoch: 3).momentum(atEpoch: 3) == 0.9)
        var tuning = FineTuningConfiguration()
        (tuning.initialMomentum, tuning.finalMomentum, tuning.momentumSaturateEpoch) = (0.5, 0.9, 5)
        var training = TrainingConfiguration()
        (training.initialMomentum, training.finalMomentum, training.momentumSaturateEpoch) = (0.5, 0.9, 5)
        #expect((1 ... 8).allSatisfy { tuning.momentum(atEpoch: $0) == training.momentum(atEpoch: $0) })
    }
}
