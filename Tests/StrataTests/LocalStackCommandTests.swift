import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPipeline
import Testing

extension FrontEndAgreementTests {
    /// A stack of local stages written by a `local_stages` run records its
    /// images and their preprocessing, so the commands read it alone:
    /// `finetune softmax --stack` fine-tunes through the stages, and
    /// `finetune svm --stack` extracts the features the run's own SVM saw.
    @Suite struct LocalStackCommandTests {
        @Test func theCommandsTakeAStackOfLocalStages() throws {
            let folder = TemporaryFolder()
            let images = try writeTinyImageFolder(folder, side: 12)
            let yaml = """
                name: t
                dataset: {name: \(images)}
                validation: 10
                local_stages:
                  single_unit: false
                  c_grid: [0.1]
                  stages:
                    - {field: 3, stride: 1, maps: 2, pool: 2, lcn: 3, training: {epochs: 1, batch_size: 10, learning_rate: 0.001}}
                """
            try yaml.write(toFile: folder.file("t.yaml"), atomically: true, encoding: .utf8)
            try runCommand(["train", folder.file("t.yaml"), "--out", folder.file("run"), "--threads", "1"])
            let stack = try LayerStack.read(folder.file("run/stack.safetensors"))
            let contract = try InputContract(metadata: stack.extra)
            #expect(stack.preprocessing.steps.count == 1 && contract.dataset == images)

            try runCommand(["finetune", "softmax", "--stack", folder.file("run/stack.safetensors"), "--dataset", images, "--epochs", "2",
                            "--batch-size", "10", "--validation", "10", "--threads", "1", "--run", folder.file("softmax")])
            let tuned = try Classifier.read(folder.file("softmax/classifier.safetensors"))
            #expect(tuned.kind == "softmax" && tuned.extractor?.stack.layers.first is LocalFeatureStage)

            try runCommand(["finetune", "svm", "--stack", folder.file("run/stack.safetensors"), "--dataset", images, "--c", "0.1",
                            "--validation", "10", "--threads", "1", "--run", folder.file("svm")])
            let (own, command) = (try Classifier.read(folder.file("run/svm/classifier.safetensors")), try Classifier.read(folder.file("svm/classifier.safetensors")))
            let x = try ImageFolder.read(images).examples
            let (a, b) = (try own.scores(x), try command.scores(x))
            let largest = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? .infinity
            print("local stack: the run's SVM against finetune svm --stack, largest score difference \(largest)")
            #expect(largest < 1e-3, "the command's features are the run's")
        }
    }
}
