import Foundation
@testable import Strata
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The `strata` binary the test build made.
func strataBinary() -> String? {
    let fm = FileManager.default
    let candidates = [".build/debug/strata", ".build/x86_64-unknown-linux-gnu/debug/strata", ".build/aarch64-unknown-linux-gnu/debug/strata"]
    return candidates.map { repositoryRoot + "/" + $0 }.first { fm.isExecutableFile(atPath: $0) }
}

/// Runs the CLI; returns its exit status and its output.
func runStrata(_ arguments: [String]) throws -> (status: Int32, output: String) {
    guard let binary = strataBinary() else { throw StrataError.fileNotFound(path: repositoryRoot + "/.build/debug/strata") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A labeled PNG folder: two classes of 12x12 gray images (bright top half or bright left half).
func writeTinyImageFolder(_ folder: TemporaryFolder) throws -> String {
    var random = RandomSource(seed: 7)
    for (k, name) in ["top", "left"].enumerated() {
        try FileManager.default.createDirectory(atPath: folder.file("images/\(name)"), withIntermediateDirectories: true)
        for i in 0 ..< 30 {
            var pixels = [UInt8](repeating: 0, count: 144)
            for y in 0 ..< 12 { for x in 0 ..< 12 {
                let bright = k == 0 ? y < 6 : x < 6
                pixels[y * 12 + x] = UInt8((bright ? 150 : 40) + Int(random.nextUnitFloat() * 60))
            } }
            try PNGImage(width: 12, height: 12, channels: 1, pixels: pixels).write(to: folder.file("images/\(name)/\(i).png"))
        }
    }
    return folder.file("images")
}

@Suite(.serialized) struct TutorialTests {
    static let tutorials = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/Tutorials"))?
        .filter { FileManager.default.fileExists(atPath: repositoryRoot + "/Tutorials/\($0)/experiment.yaml") }.sorted() ?? []

    @Test func thereAreAtLeastThreeTutorials() {
        #expect(Self.tutorials.count >= 3, "found \(Self.tutorials)")
    }

    /// Every tutorial runs unchanged, at a tiny size (few images, one epoch), so none of them rots.
    @Test(arguments: tutorials)
    func runsAtATinySize(_ name: String) throws {
        let folder = TemporaryFolder()
        let images = try writeTinyImageFolder(folder)
        let (status, output) = try runStrata(["tutorial", name, "--dataset", images, "--limit", "60", "--max-epochs", "1", "--out", folder.file("run")])
        #expect(status == 0, "strata tutorial \(name) failed:\n\(output)")
        for file in ["stack.safetensors", "monitor.png", "report.txt"] {
            #expect(FileManager.default.fileExists(atPath: folder.file("run/\(file)")), "\(name): no \(file)")
        }
        #expect(try LayerStack.read(folder.file("run/stack.safetensors")).layers.count >= 1)
    }
}

@Suite struct ExperimentFileTests {
    @Test func everyTutorialFileIsValid() throws {
        for name in TutorialTests.tutorials {
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
