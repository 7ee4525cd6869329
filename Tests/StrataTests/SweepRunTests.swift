import Foundation
import Strata
import Testing

/// `strata sweep` run for real: runs as processes of the built tool, two at
/// once, stopped by successive halving, stopped by a signal and resumed, and
/// spread over the ranks of `mpirun`.
@Suite(.serialized, .needsBuiltTool)
struct SweepRunTests {
    /// 240 8x8 images in two classes (``InterruptionTests/prepare(_:)``) and a small experiment on them.
    static func prepare(epochs: Int = 6, batch: Int = 10) throws -> TemporaryFolder {
        let folder = TemporaryFolder()
        try InterruptionTests.prepare(folder)
        let yaml = """
            name: small
            dataset: {name: images}
            layers:
              - learner: autoencoder
                hidden: 8
                training: {batch_size: 10, epochs: 1}
            finetune:
              softmax: {learning_rate: 0.1, batch_size: \(batch), epochs: \(epochs), patience: \(epochs)}
            validation: 40
            outputs: {folder: run}
            """
        _ = folder.write(Data(yaml.utf8), "small.yaml")
        return folder
    }

    static func log(_ folder: TemporaryFolder, _ name: String = "log.txt") -> String {
        (try? String(contentsOfFile: folder.file(name), encoding: .utf8)) ?? ""
    }

    static func result(_ folder: TemporaryFolder, _ run: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: folder.file("sweep/\(run)/result.json")) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    static let grid = ["sweep", "small.yaml", "--set", "finetune.learning_rate=0.03,0.3", "--set", "layers[0].hidden=4,8",
                       "--set", "finetune.momentum=0,0.5", "--threads-per-run", "1", "--out", "sweep"]

    @Test func aGridOfEightRunsOnTwoProcessesWritesTheTableAndCharts() throws {
        let folder = try Self.prepare()
        #expect(try BuiltTool.run(Self.grid + ["--parallel", "2"], in: folder.path) == 0, "\(Self.log(folder))")
        let csv = try String(contentsOfFile: folder.file("sweep/results.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 9, "a header and eight runs: \(csv)")
        #expect(csv.first?.hasPrefix("run,finetune.learning_rate,layers[0].hidden,finetune.momentum,status,validation_accuracy") == true)
        let validation = csv.dropFirst().map { Double($0.split(separator: ",")[5])! }
        #expect(validation == validation.sorted(by: >), "sorted by validation accuracy: \(validation)")
        #expect(csv.dropFirst().allSatisfy { $0.contains(",finished,") })
        for key in ["finetune_learning_rate", "layers_0__hidden", "finetune_momentum"] {
            #expect(FileManager.default.fileExists(atPath: folder.file("sweep/results_\(key).png")))
        }
        for i in 1 ... 8 {
            #expect(FileManager.default.fileExists(atPath: folder.file(String(format: "sweep/run%03d/finetune/classifier.safetensors", i))))
        }
        #expect(Self.log(folder).contains("2 at once"))
        // The best run is the one the table names first, by validation, and its test accuracy is beside it.
        let best = try String(contentsOfFile: folder.file("sweep/results.md"), encoding: .utf8)
        #expect(best.contains("test accuracy (%, not used to choose)"))
    }

    @Test func successiveHalvingStopsLaggingRunsAndKeepsTheirFolders() throws {
        // Long enough (batch 1) that a run is still training when the sweep reads its rungs.
        let folder = try Self.prepare(epochs: 40, batch: 1)
        let arguments = ["sweep", "small.yaml", "--set", "finetune.learning_rate=0.1,0.000001,0.0000001", "--threads-per-run", "1",
                         "--halving", "1:3", "--out", "sweep"]
        #expect(try BuiltTool.run(arguments, in: folder.path) == 0, "\(Self.log(folder))")
        let stopped = ["run002", "run003"].filter { Self.result(folder, $0)?["status"] as? String == "stopped" }
        #expect(!stopped.isEmpty, "a run far behind at a rung is stopped: \(Self.log(folder))")
        #expect(Self.result(folder, "run001")?["status"] as? String == "finished")
        for run in stopped {
            #expect(FileManager.default.fileExists(atPath: folder.file("sweep/\(run)/finetune/finetune.safetensors")), "the stopped run's checkpoint is kept")
        }
        let csv = try String(contentsOfFile: folder.file("sweep/results.csv"), encoding: .utf8)
        #expect(csv.contains("stopped at epoch"), "\(csv)")
    }

    @Test func aKilledSweepResumesOnlyTheUnfinishedRuns() throws {
        let folder = try Self.prepare(epochs: 10, batch: 1)
        let arguments = ["sweep", "small.yaml", "--set", "finetune.learning_rate=0.01,0.03,0.1,0.3", "--threads-per-run", "1", "--out", "sweep"]
        let process = try BuiltTool.start(arguments, in: folder.path)
        BuiltTool.waitFor(folder.file("sweep/run002/run.log")) // run001 has ended, run002 is running
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGTERM, "\(Self.log(folder))")
        #expect(Self.log(folder).contains("--resume"))
        let first = try Data(contentsOf: URL(fileURLWithPath: folder.file("sweep/run001/result.json")))
        let firstLog = try Data(contentsOf: URL(fileURLWithPath: folder.file("sweep/run001/run.log")))
        #expect(Self.result(folder, "run004") == nil, "a run after the stop did not start")
        // Without --resume the folder is refused; with it, only runs 2-4 run.
        #expect(try BuiltTool.run(arguments, in: folder.path) == 1)
        #expect(Self.log(folder).contains("already holds a sweep"))
        #expect(try BuiltTool.run(arguments + ["--resume"], in: folder.path) == 0, "\(Self.log(folder))")
        #expect(Self.log(folder).contains("run001 small finetune.learning_rate=0.01: finished by an earlier sweep, kept"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("sweep/run001/result.json"))) == first)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("sweep/run001/run.log"))) == firstLog, "run001 did not run again")
        for run in ["run002", "run003", "run004"] { #expect(Self.result(folder, run)?["status"] as? String == "finished") }
        // An experiment added at the end extends the sweep: only its runs run.
        let other = try String(contentsOfFile: folder.file("small.yaml"), encoding: .utf8).replacingOccurrences(of: "name: small", with: "name: other")
        _ = folder.write(Data(other.utf8), "other.yaml")
        let extended = ["sweep", "small.yaml", "other.yaml"] + arguments.dropFirst(2) + ["--resume"]
        #expect(try BuiltTool.run(extended, in: folder.path) == 0, "\(Self.log(folder))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("sweep/run001/run.log"))) == firstLog)
        #expect(Self.result(folder, "run008")?["status"] as? String == "finished", "other.yaml's four runs ran")
        #expect(Self.log(folder).contains("run004 small finetune.learning_rate=0.3: finished by an earlier sweep, kept"))
        // A different sweep in the same folder is refused, saying what differs.
        #expect(try BuiltTool.run(["sweep", "small.yaml", "--set", "finetune.learning_rate=0.5", "--out", "sweep", "--resume"], in: folder.path) == 1)
        #expect(Self.log(folder).contains("records another sweep"))
    }

    @Test(.needsMPIRun) func underMPIRunTheRunsSpreadOverTheRanks() throws {
        let folder = try Self.prepare(epochs: 10, batch: 1)
        let arguments = ["sweep", "small.yaml", "--set", "finetune.learning_rate=0.01,0.03,0.1,0.3", "--threads-per-run", "1", "--out", "sweep"]
        let (status, output) = try MPIRun.run(ranks: 2, arguments, in: folder.path)
        #expect(status == 0, "\(output)")
        let ranks = (1 ... 4).compactMap { Self.result(folder, String(format: "run%03d", $0))?["rank"] as? Int }
        #expect(ranks.count == 4 && Set(ranks) == [0, 1], "each run once, on both ranks: \(ranks)")
        #expect(output.contains("on each of 2 ranks"))
        let csv = try String(contentsOfFile: folder.file("sweep/results.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 5, "rank 0 writes every rank's runs: \(csv)")
    }

    /// The label-efficiency study at a tiny size: its six pipelines, two
    /// seeds, few labels of the test images (the tutorial's README has the full size).
    @Test func theLabelEfficiencyTutorialRunsAtATinySize() throws {
        let folder = TemporaryFolder()
        _ = try writeTinyImageFolder(folder) // 12x12 images: the patch windows (7x7, 8x8) have positions to pool
        let study = repositoryRoot + "/Tutorials/label_efficiency/sweep.yaml"
        let arguments = ["sweep", study, "--dataset", "images", "--limit", "60", "--max-epochs", "1",
                         "--set", "labels_per_class=4", "--set", "seed=1,2", "--out", "study"]
        #expect(try BuiltTool.run(arguments, in: folder.path) == 0, "\(Self.log(folder))")
        let summary = try String(contentsOfFile: folder.file("study/summary.md"), encoding: .utf8)
        for name in ["kmeans_triangle", "grbm_soft_threshold", "stacked_dae", "dbn", "no_pretraining", "sigmoid_no_pretraining"] {
            #expect(summary.contains("| \(name) | 4 | 2 |"), "\(name) over two seeds: \(summary)")
        }
        #expect(FileManager.default.fileExists(atPath: folder.file("study/summary_labels_per_class.png")))
        // The two seeds pretrain apart; nothing else differs, so nothing is shared, and every run pretrained itself.
        #expect(!Self.log(folder).contains("pretraining shared"))
        // Runs that differ only in their labels share one pretraining.
        let shared = ["sweep", repositoryRoot + "/Tutorials/label_efficiency/stacked_dae.yaml", "--dataset", "images", "--limit", "60", "--max-epochs", "1",
                      "--set", "labels_per_class=4,all", "--out", "shared"]
        let one = try BuiltTool.run(shared, in: folder.path)
        #expect(one == 0, "\(Self.log(folder))")
        let log = Self.log(folder)
        #expect(log.contains("1 pretraining for the 2 runs that pretrain"), "\(log)")
        #expect(log.contains("run002: pretraining shared with run001"), "\(log)")
        let lent = try Data(contentsOf: URL(fileURLWithPath: folder.file("shared/run001/stack.safetensors")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("shared/run002/stack.safetensors"))) == lent)
    }
}
