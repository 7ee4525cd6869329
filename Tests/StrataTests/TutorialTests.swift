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

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A labeled PNG folder: two classes of 12x12 gray images (bright top half or bright left half).
func writeTinyImageFolder(_ folder: TemporaryFolder, side: Int = 12) throws -> String {
    var random = RandomSource(seed: 7)
    for (k, name) in ["top", "left"].enumerated() {
        try FileManager.default.createDirectory(atPath: folder.file("images/\(name)"), withIntermediateDirectories: true)
        for i in 0 ..< 30 {
            var pixels = [UInt8](repeating: 0, count: side * side)
            for y in 0 ..< side { for x in 0 ..< side {
                let bright = k == 0 ? y < side / 2 : x < side / 2
                pixels[y * side + x] = UInt8((bright ? 150 : 40) + Int(random.nextUnitFloat() * 60))
            } }
            try PNGImage(width: side, height: side, channels: 1, pixels: pixels).write(to: folder.file("images/\(name)/\(i).png"))
        }
    }
    return folder.file("images")
}

@Suite struct ExperimentFileTests {
    @Test func everyTutorialFileIsValid() throws {
        try #require(FrontEndAgreementTests.TutorialTests.tutorials.count >= 3, "no tutorials found in \(repositoryRoot)/Tutorials")
        for name in FrontEndAgreementTests.TutorialTests.tutorials {
            let experiment = try Experiment.read(repositoryRoot + "/Tutorials/\(name)/experiment.yaml")
            #expect(experiment.name == name)
        }
    }

    @Test func aMisspelledKeyIsReportedWithLineColumnAndSuggestion() {
        let text = """
        name: typo
        layers:
          - learner: autoencoder
            hiden: 100
        """
        let error = strataError { _ = try Experiment.parse(text, file: "typo.yaml") }
        let message = error?.description ?? ""
        #expect(message.contains("typo.yaml:4:5"), "\(message)")
        #expect(message.contains("layers[0].hiden") && message.contains("did you mean 'hidden'?"), "\(message)")
    }

    @Test func repeatedKeysWrongTypesAndMissingFieldsAreRefused() {
        let repeated = strataError { _ = try Experiment.parse("name: a\nname: b\nlayers: []\n", file: "r.yaml") }
        #expect(repeated?.description.contains("more than once") == true && repeated?.description.contains("r.yaml:") == true)
        let wrongType = strataError { _ = try Experiment.parse("name: a\nlayers:\n  - learner: rbm\n    hidden: many\n", file: "w.yaml") }
        #expect(wrongType?.description.contains("w.yaml:4:13") == true && wrongType?.description.contains("expected a whole number") == true, "\(wrongType?.description ?? "")")
        let missing = strataError { _ = try Experiment.parse("name: a\nlayers:\n  - hidden: 10\n", file: "m.yaml") }
        #expect(missing?.description.contains("missing required key 'learner'") == true)
        let mixed = strataError { _ = try Experiment.parse("name: a\nlayers:\n  - learner: rbm\n    hidden: 10\n    tied: true\n", file: "x.yaml") }
        #expect(mixed?.description.contains("is an autoencoder setting") == true)
    }
}
