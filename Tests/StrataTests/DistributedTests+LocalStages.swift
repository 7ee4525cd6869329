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
