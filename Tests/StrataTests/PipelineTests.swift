import Foundation
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
@testable import StrataCommands
import Testing

/// Runs a command in process, as `strata ARGUMENTS` would, and returns its printed lines' effect (files).
func runCommand(_ arguments: [String]) throws {
    var command = try StrataCommand.parseAsRoot(arguments)
    try command.run()
}

func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// Runs `experiment` in this process on one core, without progress bars or printed lines.
func runQuietly(_ experiment: Experiment) throws -> ExperimentRun.Outcome {
    var run = ExperimentRun(experiment, compute: Compute(cores: 1))
    run.showProgress = false
    return try run.run { _ in }
}

/// A YAML experiment and the equivalent command lines go through the same
/// stages and readers, so they write the same bytes.
@Suite(.serialized) struct FrontEndAgreementTests {
    @Test func patchGRBMFromYAMLAndFromFlagsIsByteIdentical() throws {
        let folder = TemporaryFolder()
        let images = try writeTinyImageFolder(folder)
        let yaml = """
        name: agree
        dataset: {name: \(images), pixel_scale: 255}
        seed: 3
        patches: {window: 6, count: 400}
        preprocessing: [{gcn: {sqrt_bias: 10}}, {zca: {filter_bias: 0.1}}]
        layers:
          - learner: grbm
            hidden: 9
            objective: {smd: {noise: 0.4}}
            init_sigma: 0.4
            init_hidden_bias: -2
            training: {batch_size: 20, learning_rate: 0.05, lr_schedule: monitor, epochs: 2,
                       early_stopping: {channel: train_objective, prop_decrease: 0.01, patience: 1}}
        outputs: {folder: \(folder.file("yaml")), weights: false, monitor: false}
        """
        let experiment = try Experiment.parse(yaml, file: "agree.yaml")
        _ = try runQuietly(experiment)
        try runCommand(["pretrain", "--dataset", images, "--pixel-scale", "255", "--seed", "3", "--window", "6", "--random", "400",
                        "--preprocess", "gcn,zca", "--sqrt-bias", "10", "--filter-bias", "0.1", "--learner", "grbm", "--hidden", "9",
                        "--objective", "smd:0.4", "--init-sigma", "0.4", "--init-hidden-bias", "-2", "--batch-size", "20",
                        "--learning-rate", "0.05", "--lr-schedule", "monitor", "--epochs", "2", "--early-stopping", "train_objective",
                        "--prop-decrease", "0.01", "--patience", "1", "--threads", "1", "--run", folder.file("flags")])
        #expect(try bytes(folder.file("yaml/layer1/model.safetensors")) == bytes(folder.file("flags/model.safetensors")))
        #expect(try bytes(folder.file("yaml/stack.safetensors")) == bytes(folder.file("flags/stack.safetensors")))
    }

    @Test func autoencoderStackAndSoftmaxFromYAMLAndFromFlagsAgree() throws {
        let folder = TemporaryFolder()
        let images = try writeTinyImageFolder(folder)
        let yaml = """
        name: agree
        dataset: {name: \(images)}
        layers:
          - learner: autoencoder
            hidden: 8
            corruption: {masking: 0.2}
            loss: cross_entropy
            training: {batch_size: 10, learning_rate: 0.1, momentum: 0.5, final_momentum: 0.9, momentum_saturate: 2, epochs: 2}
        finetune:
          softmax: {learning_rate: 0.3, epochs: 2, hidden_dropout: 0.1, patience: 5}
        validation: 12
        outputs: {folder: \(folder.file("yaml")), weights: false, monitor: false}
        """
        let outcome = try runQuietly(try Experiment.parse(yaml))
        try runCommand(["pretrain", "--dataset", images, "--learner", "autoencoder", "--hidden", "8", "--corruption", "masking:0.2",
                        "--loss", "cross-entropy", "--batch-size", "10", "--learning-rate", "0.1", "--momentum", "0.5", "--final-momentum", "0.9",
                        "--momentum-saturate", "2", "--epochs", "2", "--threads", "1", "--run", folder.file("l1")])
        try runCommand(["finetune", "softmax", "--stack", folder.file("l1/stack.safetensors"), "--learning-rate", "0.3", "--epochs", "2",
                        "--hidden-dropout", "0.1", "--patience", "5", "--validation", "12", "--threads", "1", "--run", folder.file("ft")])
        #expect(try bytes(folder.file("yaml/layer1/model.safetensors")) == bytes(folder.file("l1/model.safetensors")))
        #expect(try bytes(folder.file("yaml/finetune/classifier.safetensors")) == bytes(folder.file("ft/classifier.safetensors")))
        #expect(try PNGImage.read(folder.file("ft/learning_curves.png")).width > 0, "fine-tuning draws its learning curves")
        let evaluated = try JSONSerialization.jsonObject(with: bytes(folder.file("ft/evaluation.json"))) as! [String: Any]
        #expect(evaluated["accuracy"] as? Double == outcome.accuracies["finetune"])
        // And `strata evaluate` on the saved classifier measures the same.
        try runCommand(["evaluate", folder.file("ft/classifier.safetensors"), "--out", folder.file("eval")])
        let again = try JSONSerialization.jsonObject(with: bytes(folder.file("eval/evaluation.json"))) as! [String: Any]
        #expect(again["accuracy"] as? Double == outcome.accuracies["finetune"])
    }
}

extension FrontEndAgreementTests {
    /// A second stage (`maps`) and an SVM on both stages' features, from a
    /// file and from `pretrain --on STACK --window` and `finetune svm
    /// --lower-pool`: the same centroids and the same classifier (the files
    /// differ only in the lower stack's recorded path).
    @Test func secondStageFromYAMLAndFromFlagsAgree() throws {
        let folder = TemporaryFolder()
        let images = try writeTinyImageFolder(folder)
        let yaml = """
        name: agree
        dataset: {name: \(images), pixel_scale: 255}
        patches: {window: 3, count: 300}
        preprocessing: [gcn]
        layers:
          - {learner: kmeans, hidden: 5, training: {batch_size: 50, epochs: 2}}
        maps:
          encoding: triangle
          pool: 4x4
          window: 2
          count: 200
          preprocessing: [zca]
          layers:
            - {learner: kmeans, hidden: 6, training: {batch_size: 50, epochs: 2}}
        finetune:
          svm: {c: 0.1, pool: 2x2, encoding: triangle, lower_pool: 2x2}
        validation: 12
        outputs: {folder: \(folder.file("yaml")), weights: false, monitor: false}
        """
        let outcome = try runQuietly(try Experiment.parse(yaml))
        try runCommand(["pretrain", "--dataset", images, "--pixel-scale", "255", "--window", "3", "--random", "300", "--preprocess", "gcn",
                        "--learner", "kmeans", "--hidden", "5", "--batch-size", "50", "--epochs", "2", "--threads", "1", "--run", folder.file("l1")])
        try runCommand(["pretrain", "--on", folder.file("l1/stack.safetensors"), "--encoding", "triangle", "--pool", "4x4", "--window", "2", "--random", "200",
                        "--preprocess", "zca", "--learner", "kmeans", "--hidden", "6", "--batch-size", "50", "--epochs", "2", "--threads", "1", "--run", folder.file("l2")])
        try runCommand(["finetune", "svm", "--stack", folder.file("l2/stack.safetensors"), "--c", "0.1", "--pool", "2x2", "--encoding", "triangle",
                        "--lower-pool", "2x2", "--validation", "12", "--threads", "1", "--run", folder.file("svm")])
        let (fromFile, fromFlags) = (try LayerStack.read(folder.file("yaml/maps/stack.safetensors")), try LayerStack.read(folder.file("l2/stack.safetensors")))
        #expect(fromFile.layers[0].filters == fromFlags.layers[0].filters && fromFile.sizes == "20-6")
        #expect(try InputContract(metadata: fromFlags.extra).maps?.stack == folder.file("l1/stack.safetensors"))
        let (a, b) = (try Classifier.read(folder.file("yaml/svm/classifier.safetensors")), try Classifier.read(folder.file("svm/classifier.safetensors")))
        guard case .svm(let svmA) = a.head, case .svm(let svmB) = b.head else { Issue.record("not SVMs"); return }
        #expect(svmA.weights == svmB.weights && a.extractor?.outputCount == 6 * 4 + 5 * 4)
        #expect(outcome.stack.sizes == "20-6" && outcome.accuracies["svm"] != nil)
    }
}

/// In-process runs share the process's compute (BLAS threads), so they run one at a time.
extension FrontEndAgreementTests {
@Suite(.serialized) struct TutorialTests {
    static let tutorials = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/Tutorials"))?
        .filter { FileManager.default.fileExists(atPath: repositoryRoot + "/Tutorials/\($0)/experiment.yaml") }.sorted() ?? []

    @Test func thereAreAtLeastThreeTutorials() {
        #expect(Self.tutorials.count >= 3, "found \(Self.tutorials)")
    }

    /// Every tutorial runs unchanged through the library, at a tiny size (few images, one epoch), so none of them rots.
    @Test(arguments: tutorials)
    func runsAtATinySize(_ name: String) throws {
        let folder = TemporaryFolder()
        var experiment = try Experiment.read(repositoryRoot + "/Tutorials/\(name)/experiment.yaml")
        // Le et al.'s stages read whole images as large as the tutorial's (28x28): their fields do not fit in 12x12.
        experiment.images.dataset = try writeTinyImageFolder(folder, side: experiment.localStages == nil ? 12 : 28)
        experiment.outputs.folder = folder.file("run")
        experiment.localStages?.stimulusSteps = 5
        let (trial, changes) = ExperimentRun.trial(experiment, limit: 60, maxEpochs: 1)
        #expect(changes.contains { $0.contains("--limit 60") }, "the plan says what --limit changes")
        let outcome = try runQuietly(trial)
        for file in ["stack.safetensors", "monitor.png", "report.txt"] {
            #expect(FileManager.default.fileExists(atPath: folder.file("run/\(file)")), "\(name): no \(file)")
        }
        #expect(outcome.stack.layers.count >= 1)
        if name == "deep_networks" {
            // The study ran every variant at every depth and wrote its table, data and (when a network reached the target) chart.
            let csv = try String(contentsOfFile: folder.file("run/depth_study.csv"), encoding: .utf8).split(separator: "\n")
            #expect(csv.count == 1 + 5 * outcome.stack.layers.count, "\(csv)")
            #expect(FileManager.default.fileExists(atPath: folder.file("run/depth_study.md")))
            #expect(FileManager.default.fileExists(atPath: folder.file("run/depth_study.png")) || outcome.lines.contains { $0.contains("no depth_study.png") },
                    "a chart, or the reason there is none: \(outcome.lines)")
        }
        if name == "high_level_features" {
            // The stages fine-tuned with a softmax layer, saved as a classifier over them.
            #expect(outcome.accuracies["fine_tune"] != nil && outcome.accuracies["svm"] != nil, "\(outcome.accuracies)")
            let tuned = try Classifier.read(folder.file("run/fine_tune/classifier.safetensors"))
            #expect(tuned.kind == "softmax" && tuned.extractor?.stack.layers.count == experiment.localStages?.stages.count)
        }
        #expect(!outcome.lines.contains { $0.contains("no run has") }, "\(name): the chart lost channels: \(outcome.lines)")
        // The walkthrough's commands that read this tutorial's outputs work on them (no stale paths).
        let readers = Walkthroughs.files.flatMap(Walkthroughs.commands).filter { $0.contains("runs/\(name)/") && !$0.contains("--run ") }
        #expect(name != "grbm_smd" || readers.count >= 4, "the grbm_smd walkthrough's show-weights and plot-monitor commands: \(readers)")
        for line in readers {
            var arguments = Array(Walkthroughs.words(line.replacingOccurrences(of: "runs/\(name)/", with: folder.file("run") + "/")).dropFirst())
            // Every output goes to the temporary folder, also a command's default output file.
            if let o = arguments.firstIndex(where: { $0 == "-o" || $0 == "--output" }), o + 1 < arguments.count {
                let suffix = URL(fileURLWithPath: arguments[o + 1]).pathExtension // kept: some commands choose by it
                arguments[o + 1] = folder.file("walkthrough." + (suffix.isEmpty ? "out" : suffix))
            } else if ["show-weights", "plot-monitor"].contains(arguments.first ?? ""), !arguments.contains("--list") {
                arguments += ["-o", folder.file("walkthrough.png")]
            }
            #expect(throws: Never.self, "\(line)") { try runCommand(arguments) }
        }
        if FileManager.default.fileExists(atPath: folder.file("walkthrough.onnx")), Python.hasONNX {
            #expect(Python.onnxCheckerFailure(folder.file("walkthrough.onnx")) == nil, "the walkthrough's ONNX export fails onnx's full check")
        }
    }
}
}

@Suite struct RepositoryTests {
    /// A clone must succeed on a case-insensitive file system (macOS): no two paths may differ only by case.
    @Test func noTwoPathsDifferOnlyByCase() throws {
        let enumerator = FileManager.default.enumerator(atPath: repositoryRoot)!
        var seen: [String: String] = [:]
        while let path = enumerator.nextObject() as? String {
            if path.hasPrefix(".build") || path.hasPrefix(".git/") || path == ".git" { enumerator.skipDescendants(); continue }
            if let other = seen[path.lowercased()], other != path { Issue.record("\(path) and \(other) differ only by case") }
            seen[path.lowercased()] = path
        }
        #expect(seen.count > 50)
    }
}
