import Foundation
@testable import StrataCore
@testable import StrataData
@testable import StrataPipeline
import Testing

extension DistributedTests {
    /// Fine-tuning through local stages across ranks: two replicas of the
    /// whole stages average their gradients (the encoders' with the softmax
    /// layer's), and train as one process with twice the batch.
    @Test func localStagesFineTunedByTwoRanksAreOneProcesssWithTwiceTheBatch() throws {
        let folder = TemporaryFolder()
        try Self.prepare(folder)
        func experiment(batch: Int) -> String {
            """
            name: lf
            dataset: {name: images}
            validation: 40
            local_stages:
              single_unit: false
              svm: false
              stages:
                - {field: 3, stride: 1, maps: 2, pool: 2, lcn: 3, training: {epochs: 0}}
              fine_tune: {epochs: 1, batch_size: \(batch), learning_rate: 0.1, random_per_example: true}
            """
        }
        try experiment(batch: 10).write(toFile: folder.file("ranks.yaml"), atomically: true, encoding: .utf8)
        try experiment(batch: 20).write(toFile: folder.file("one.yaml"), atomically: true, encoding: .utf8)
        let (status, output) = try MPIRun.run(ranks: 2, ["train", "ranks.yaml", "--out", "ranks", "--threads", "1"], in: folder.path)
        #expect(status == 0, "\(output)")
        #expect(try BuiltTool.run(["train", "one.yaml", "--out", "one", "--threads", "1"], in: folder.path) == 0,
                "\((try? String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)) ?? "")")
        let difference = try Self.relativeDifference(folder.file("ranks/fine_tune/finetune.safetensors"), folder.file("one/fine_tune/finetune.safetensors"))
        print("local stages fine-tuned, 2 ranks x 10 against 1 process x 20: largest relative difference \(difference)")
        #expect(difference < 1e-5, "2 ranks x 10 against 1 process x 20: \(difference)")
        #expect(output.contains("over 2 ranks"), "the log names the ranks: \(output)")
        #expect(try SafeTensors.read(folder.file("one/fine_tune/finetune.safetensors")).tensors["stage0.encoder"] != nil)
    }
}

extension ModelParallelTests {
    /// Fine-tuning through two stages split by image rows: each part
    /// backpropagates through its rows (LCN whole, its pools, its positions;
    /// the input rows that neighbours share summed in one process's order),
    /// so 2 parts give one process's bytes: the checkpoint (streamed from
    /// the parts, and resumed), and the classifier gathered whole at the end.
    @Test func localStagesSplitByRowsFineTuneToOneProcesssBytes() throws {
        let folder = TemporaryFolder()
        _ = try Self.prepare(folder)
        let yaml = """
            name: lf
            dataset: {name: images}
            validation: 12
            local_stages:
              single_unit: false
              svm: false
              stages:
                - {field: 4, stride: 2, maps: 4, pool: 2, pool_stride: 1, lcn: 3, training: {epochs: 1, batch_size: 20}}
                - {field: 2, stride: 1, maps: 3, pool: 2, pool_stride: 1, lcn: 3, training: {epochs: 1, batch_size: 20}}
              fine_tune: {epochs: 2, batch_size: 10, learning_rate: 0.1, momentum: 0.5}
            """
        try yaml.write(toFile: folder.file("lf.yaml"), atomically: true, encoding: .utf8)
        #expect(try BuiltTool.run(["train", "lf.yaml", "--out", "one", "--threads", "1"], in: folder.path) == 0)
        let two = try MPIRun.run(ranks: 2, ["train", "lf.yaml", "--out", "two", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(two.status == 0, "\(two.output)")
        #expect(two.output.contains("fine-tuning through the stages") && !two.output.contains("left out"), "\(two.output)")
        // The same split stopped after the first epoch, its checkpoint streamed from the parts, then resumed.
        for extra in [["--max-epochs", "1"], ["--resume"]] {
            let run = try MPIRun.run(ranks: 2, ["train", "lf.yaml", "--out", "resumed", "--model-parallel", "2", "--threads", "1"] + extra, in: folder.path)
            #expect(run.status == 0, "\(run.output)")
        }
        for file in ["fine_tune/finetune.safetensors", "fine_tune/classifier.safetensors"] {
            for run in ["two", "resumed"] {
                #expect(Self.bytes(folder.file("one/" + file)) != nil && Self.bytes(folder.file("one/" + file)) == Self.bytes(folder.file(run + "/" + file)),
                        "2 parts (\(run)) against one process: \(file)")
            }
        }
        // Both stages' encoders moved, in the split run as in one process.
        let (stack, tuned) = (try SafeTensors.read(folder.file("two/stack.safetensors")), try SafeTensors.read(folder.file("two/fine_tune/finetune.safetensors")))
        for i in 0 ..< 2 {
            let (before, after) = (stack.tensors["layer\(i).encoder"], tuned.tensors["stage\(i).encoder"])
            #expect(before != nil && before?.shape == after?.shape && before?.scalars != after?.scalars, "stage \(i + 1)'s encoder is fine-tuned")
        }
        let evaluation = { (run: String) in try? String(contentsOfFile: folder.file(run + "/fine_tune/evaluation.txt"), encoding: .utf8) }
        #expect(evaluation("one") != nil && evaluation("one") == evaluation("two"))
        // The command line's route: the stack fine-tuned by 2 parts, and Downpour refused for split stages.
        let command = ["finetune", "softmax", "--stack", "one/stack.safetensors", "--epochs", "1", "--batch-size", "10", "--validation", "12"]
        #expect(try BuiltTool.run(command + ["--run", "c1", "--threads", "1"], in: folder.path) == 0)
        let c2 = try MPIRun.run(ranks: 2, command + ["--run", "c2", "--model-parallel", "2", "--threads", "1"], in: folder.path)
        #expect(c2.status == 0 && c2.output.contains("local stages split 2 ways by image rows (1 replica)"), "\(c2.output)")
        #expect(Self.bytes(folder.file("c1/classifier.safetensors")) != nil && Self.bytes(folder.file("c1/classifier.safetensors")) == Self.bytes(folder.file("c2/classifier.safetensors")))
        let async = try MPIRun.run(ranks: 2, command + ["--run", "c3", "--model-parallel", "2", "--distributed", "async", "--threads", "1"], in: folder.path)
        #expect(async.status != 0 && async.output.contains("fine-tune with sync"), "\(async.output)")
    }
}
