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

/// A fresh temporary folder for one test, removed when the value is released.
final class TemporaryFolder {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "strata-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ data: Data, _ name: String) -> String {
        let target = file(name)
        try! FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        precondition(FileManager.default.createFile(atPath: target, contents: data), "could not write \(target)")
        return target
    }
}

/// The largest absolute difference between two equal-sized tensors.
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count)
    return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Runs `body` and returns the StrataError it throws (failing the test when it throws none).
func strataError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> StrataError? {
    do {
        try body()
        Issue.record("expected an error, none was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as StrataError {
        return error
    } catch {
        Issue.record("expected a StrataError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Python 3, for the tests that check Strata against a reference written in
/// Python. A test that needs it is declared with
/// `.enabled(if: Python.has(...), "...")`, so a missing interpreter or module
/// is reported as a skipped test, never as a pass.
enum Python {
    /// Runs `python3 ARGUMENTS`, returning its exit status and its output.
    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        runProcess("/usr/bin/env", ["python3"] + arguments)
    }

    /// Whether `python3` runs and imports every one of `modules`.
    static func has(_ modules: String...) -> Bool {
        run(["-c", "import " + modules.joined(separator: ", ")]).status == 0
    }

    /// Whether onnx's checker is at hand (``onnxCheckerFailure(_:)``).
    static let hasONNX = has("onnx")

    /// What `onnx.checker.check_model(..., full_check=True)` (shape inference
    /// included) finds wrong with the model at `path`; nil when it passes.
    static func onnxCheckerFailure(_ path: String) -> String? {
        let (status, output) = run(["-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path])
        return status == 0 ? nil : output
    }
}

/// Runs `executable ARGUMENTS` in `folder` (the current one when nil) to the
/// end: its exit status and its standard output and error together
/// (status -1 when it cannot be started).
func runProcess(_ executable: String, _ arguments: [String], in folder: String? = nil) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    guard (try? process.run()) != nil else { return (-1, "\(executable) could not be started") }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
