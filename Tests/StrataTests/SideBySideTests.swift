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
import Testing

@Suite struct SideBySideTests {
    /// Two fine-tuning runs side by side (one core each) give exactly what
    /// each gives alone, in the order given, and hand on their log lines run by run.
    @Test func runsSideBySideEqualRunsAlone() throws {
        let folder = TemporaryFolder()
        let images = ImageSettings(dataset: try writeTinyImageFolder(folder), pixelScale: 255)
        let loaded = try images.loadLabeled()
        let networks: [SoftmaxFineTuning.Network] = [.random(hidden: [8], activation: .sigmoid), .random(hidden: [6, 5], activation: .relu)]
        func settings(_ name: String) -> [SoftmaxFineTuning.Settings] {
            networks.enumerated().map { index, network in
                var s = SoftmaxFineTuning.Settings(network: network, images: images)
                (s.validation, s.folder, s.progressLabel) = (10, folder.file("\(name)\(index)"), "run \(index)")
                (s.training.maxEpochs, s.training.batchSize, s.training.learningRate) = (4, 5, 0.3)
                s.training.hiddenDropout = 0.2
                return s
            }
        }
        let alone = try settings("alone").map { try SoftmaxFineTuning.run($0, loaded: loaded, compute: Compute(cores: 2), showProgress: false, log: { _ in }) }
        var lines: [String] = []
        let together = try SoftmaxFineTuning.runSideBySide(settings("together"), loaded: loaded, compute: Compute(cores: 2), showProgress: false,
                                                           log: { lines.append($0) })
        let firsts = lines.indices.filter { lines[$0].hasPrefix("fine-tuning ") }
        #expect(firsts.count == 2 && lines[firsts[0]].contains("-8-") && lines[firsts[1]].contains("-6-5-"))
        #expect(lines.contains { $0.hasPrefix("test accuracy") })
        #expect(together.count == 2)
        for (a, b) in zip(alone, together) {
            #expect(a.network.sizes == b.network.sizes)
            #expect(a.network.hidden.map(\.weights) == b.network.hidden.map(\.weights) && a.network.output.weights == b.network.output.weights)
            #expect(a.report.bestValidationError == b.report.bestValidationError && a.evaluation.confusion.correct == b.evaluation.confusion.correct)
        }
        #expect(alone[0].network.sizes != alone[1].network.sizes)
    }
}
