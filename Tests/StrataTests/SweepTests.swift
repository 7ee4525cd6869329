import Foundation
import Strata
import Testing

/// `strata sweep`: the keys it sets are judged by the experiment reader
/// before anything runs, grids and random draws are what was asked, and
/// successive halving stops the runs it should.
struct SweepPlanTests {
    static let yaml = """
        name: plan
        dataset: {name: images}
        layers:
          - learner: autoencoder
            hidden: 16
            training: {batch_size: 5, epochs: 2}
        finetune:
          softmax: {learning_rate: 0.3, epochs: 4}
        labels_per_class: 10
        validation: 40
        outputs: {folder: run}
        """

    func experiment(_ overrides: [(String, String)]) throws -> Experiment {
        let text = try ExperimentOverride.apply(overrides.map { ExperimentOverride(key: $0.0, value: $0.1) }, to: Self.yaml, file: "plan.yaml")
        return try Experiment.parse(text, file: "plan.yaml")
    }

    @Test func overridesSetNestedKeysListsAndDefaults() throws {
        let e = try experiment([("layers[0].hidden", "48"), ("finetune.learning_rate", "0.05"), ("layers[0].training.momentum", "0.7"),
                                ("labels_per_class", "default"), ("layers[0].corruption", "{masking: 0.4}")])
        #expect(e.layers[0].hiddenCount == 48)
        guard case .softmax(let c, _)? = e.finetune else { Issue.record("the softmax stage is gone"); return }
        #expect(c.learningRate == 0.05) // finetune.KEY reaches the file's one stage
        #expect(e.layers[0].training.initialMomentum == 0.7) // a key the file left out is added
        #expect(e.labelsPerClass == nil) // `default` removes the key
        #expect(e.layers[0].summary.contains("masking:0.4"))
        #expect(try experiment([]).labelsPerClass == 10)
    }

    @Test func aKeyThatDoesNotExistOrAValueOfTheWrongTypeIsRefusedByTheReader() {
        let typo = strataError { _ = try experiment([("finetune.softmax.learning_rte", "0.1")]) }?.description ?? ""
        #expect(typo.contains("finetune.softmax.learning_rte") && typo.contains("did you mean 'learning_rate'"), "\(typo)")
        let type = strataError { _ = try experiment([("layers[0].hidden", "many")]) }?.description ?? ""
        #expect(type.contains("layers[0].hidden") && type.contains("expected a whole number"), "\(type)")
        let index = strataError { _ = try experiment([("layers[2].hidden", "8")]) }?.description ?? ""
        #expect(index.contains("'layers' has 1 entry"), "\(index)")
        let scalar = strataError { _ = try experiment([("name.first", "8")]) }?.description ?? ""
        #expect(scalar.contains("'name' is not a mapping"), "\(scalar)")
    }

    @Test func gridsAndRandomSearchesAreTheRunsAsked() throws {
        let folder = TemporaryFolder()
        let path = folder.write(Data(Self.yaml.utf8), "plan.yaml")
        var settings = Sweep.Settings(experiments: [path], swept: [try SweptSetting.parse("finetune.learning_rate=0.01,0.1"),
                                                                   try SweptSetting.parse("layers[0].hidden=8,16,32")])
        let grid = try Sweep.runs(settings, names: ["plan"])
        #expect(grid.map(\.summary) == ["0.01", "0.1"].flatMap { lr in [8, 16, 32].map { "finetune.learning_rate=\(lr) layers[0].hidden=\($0)" } })
        #expect(try Sweep.experiments(grid, settings: settings).map { $0.experiment.layers[0].hiddenCount } == [8, 16, 32, 8, 16, 32])

        settings.swept = [try SweptSetting.parse("finetune.learning_rate=log:0.001..1"), try SweptSetting.parse("layers[0].hidden=8..64")]
        #expect(strataError { _ = try Sweep.runs(settings, names: ["plan"]) }?.description.contains("--random") == true) // a range is for a random search
        settings.random = 40
        let drawn = try Sweep.runs(settings, names: ["plan"])
        #expect(drawn.count == 40)
        #expect(try Sweep.runs(settings, names: ["plan"]) == drawn) // the same seed, the same runs
        #expect(try Sweep.runs(settings, names: ["plan", "other"]).map(\.overrides) == drawn.map(\.overrides) + drawn.map(\.overrides)) // each experiment, the same draws
        settings.seed = 2
        #expect(try Sweep.runs(settings, names: ["plan"]) != drawn)
        let rates = drawn.map { Double($0.overrides[0].value)! }, hidden = drawn.map { Int($0.overrides[1].value) }
        #expect(rates.allSatisfy { (0.001 ... 1).contains($0) } && rates.contains { $0 < 0.01 } && rates.contains { $0 > 0.1 }, "log-uniform: \(rates)")
        #expect(hidden.allSatisfy { $0 != nil && (8 ... 64).contains($0!) }, "whole numbers in the range: \(hidden)")

        settings.swept = [try SweptSetting.parse("seed=1,2"), try SweptSetting.parse("seed=3")]
        #expect(strataError { _ = try Sweep.runs(settings, names: ["plan"]) }?.description.contains("more than once") == true)
        #expect(strataError { _ = try SweptSetting.parse("learning_rate") }?.description.contains("KEY=VALUES") == true)
        #expect(strataError { _ = try SweptSetting.parse("x=log:0..1") }?.description.contains("LOW > 0") == true)
    }

    @Test func anSVMStageMustChooseCOnHeldOutLabels() throws {
        let svm = Self.yaml.replacingOccurrences(of: "softmax: {learning_rate: 0.3, epochs: 4}", with: "svm: {c: 1, pool: 2x2}")
        let folder = TemporaryFolder()
        let path = folder.write(Data(svm.utf8), "svm.yaml")
        let settings = Sweep.Settings(experiments: [path], swept: [try SweptSetting.parse("layers[0].hidden=8,16")])
        let error = strataError { _ = try Sweep.experiments(try Sweep.runs(settings, names: ["plan"]), settings: settings) }?.description ?? ""
        #expect(error.contains("c_grid"), "\(error)")
    }

    @Test func successiveHalvingKeepsTheBestFractionAtEachRung() {
        let rule = SuccessiveHalving(grace: 1, reduction: 3)
        #expect(rule.rungs(maxEpochs: 30) == [1, 3, 9, 27])
        #expect(rule.cutoff([]) == nil)
        #expect(abs(rule.cutoff([0.4, 0.1, 0.3, 0.2])! - 0.2) < 1e-12) // position (4 - 1) / 3 = 1 of the sorted errors
        #expect(abs(rule.cutoff([0.1, 0.2, 0.3])! - (0.1 + 2.0 / 3 * 0.1)) < 1e-12)
        var table = RungTable(rungs: rule.rungs(maxEpochs: 30))
        #expect(table.record(run: 0, errorsByEpoch: [1: 0.5], rule: rule) == nil) // the first at a rung goes on
        #expect(table.record(run: 1, errorsByEpoch: [1: 0.6], rule: rule) == 1) // worse than the best third: stopped
        #expect(table.record(run: 2, errorsByEpoch: [1: 0.4], rule: rule) == nil)
        #expect(table.record(run: 2, errorsByEpoch: [1: 0.4], rule: rule) == nil) // recorded once
        // A run seen first past two rungs is judged at the higher one.
        #expect(table.record(run: 3, errorsByEpoch: [1: 0.9, 2: 0.8, 3: 0.3], rule: rule) == nil)
        #expect(table.errors[1][3] == 0.3 && table.errors[0][3] == nil)
        #expect(strataError { _ = try SuccessiveHalving(parsing: "0:3", key: "--halving") }?.description.contains("GRACE >= 1") == true)
    }

    @Test func aSweepFileNamesItsExperimentsBesideItAndFlagsWin() throws {
        let folder = TemporaryFolder()
        _ = folder.write(Data(Self.yaml.utf8), "study/plan.yaml")
        let file = folder.write(Data("""
            name: study
            experiments: [plan.yaml]
            set:
              labels_per_class: [5, 10]
              finetune.learning_rate: log:0.01..1
            random: 4
            parallel: 2
            """.utf8), "study/sweep.yaml")
        #expect(Sweep.Settings.isSweepFile(file) && !Sweep.Settings.isSweepFile(folder.file("study/plan.yaml")))
        let settings = try Sweep.Settings.read(paths: [file], swept: [try SweptSetting.parse("labels_per_class=3")], flags: FlagSettings(["parallel": "3"]))
        #expect(settings.experiments == [folder.file("study/plan.yaml")] && settings.name == "study" && settings.random == 4)
        #expect(settings.parallel == 3, "the flag wins")
        #expect(settings.swept.map(\.description) == ["labels_per_class=3", "finetune.learning_rate=log:0.01..1"], "--set replaces the file's values of its key")
        #expect(Sweep.folder(settings, names: ["plan"]) == "runs/study")
        let bad = folder.write(Data("name: s\nexperiments: [plan.yaml]\nparalel: 2\n".utf8), "study/bad.yaml")
        let error = strataError { _ = try Sweep.Settings.read(sweepFile: bad) }?.description ?? ""
        #expect(error.contains("bad.yaml:3") && error.contains("did you mean 'parallel'"), "\(error)")
    }

    @Test func anExperimentWithoutLayersTrainsItsNetworkFromARandomStart() throws {
        let text = """
            name: scratch
            dataset: {name: images}
            seed: 7
            finetune:
              softmax: {hidden: [16], activation: relu, batch_norm: true, optimizer: adam, min_updates: 300, epochs: 2}
            """
        let e = try Experiment.parse(text, file: "scratch.yaml")
        guard case .random(let hidden, let activation, _)? = e.network, case .softmax(let c, _)? = e.finetune else { Issue.record("no random network"); return }
        #expect(hidden == [16] && activation == .relu && e.layers.isEmpty)
        #expect(c.seed == 7, "the experiment's seed is the stage's default")
        #expect(c.minUpdates == 300)
        let (raised, note) = c.withMinimumUpdates(trainingExamples: 80) // batch 100: one update an epoch
        #expect(raised.maxEpochs == 300 && note?.contains("300 epochs") == true)
        #expect(c.withMinimumUpdates(trainingExamples: 100_000).0.maxEpochs == 2, "enough updates already: unchanged")
        let both = text.replacingOccurrences(of: "finetune:", with: "layers: [{learner: rbm, hidden: 8}]\nfinetune:")
        let error = strataError { _ = try Experiment.parse(both, file: "both.yaml") }?.description ?? ""
        #expect(error.contains("layers") && error.contains("random start"), "\(error)")
    }

    /// The label-efficiency study's file and every run's experiment are valid as they are.
    @Test func theLabelEfficiencyStudyReadsAsItIs() throws {
        let settings = try Sweep.Settings.read(sweepFile: repositoryRoot + "/Tutorials/label_efficiency/sweep.yaml")
        let runs = try Sweep.runs(settings, names: try Sweep.experimentFiles(settings).map(\.name))
        #expect(runs.count == settings.experiments.count * 3 * 6, "every pipeline, three seeds, six label counts")
        let planned = try Sweep.experiments(runs, settings: settings)
        #expect(Set(planned.map(\.experiment.seed)) == [1, 2, 3])
        #expect(planned.filter { $0.experiment.labelsPerClass == nil }.count == settings.experiments.count * 3, "all: every label")
    }

    /// `epochs: 0` keeps a pretrained layer at its initialization (the random-features baseline); fine-tuning needs an epoch.
    @Test func noEpochsIsARandomLayerAndOnlyForPretraining() throws {
        let e = try experiment([("layers[0].training.epochs", "0")])
        #expect(e.layers[0].training.maxEpochs == 0)
        #expect(e.layers[0].summary.contains("kept at its initialization"))
        let error = strataError { _ = try experiment([("finetune.epochs", "0")]) }?.description ?? ""
        #expect(error.contains("finetune.softmax.epochs") && error.contains("must be positive"), "\(error)")
    }
}
