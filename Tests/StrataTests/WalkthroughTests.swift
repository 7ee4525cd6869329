import ArgumentParser
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

/// Every `strata ...` command line in the README, the benchmarks' recipes and the tutorials' walkthroughs.
enum Walkthroughs {
    static let files = ["README.md", "BENCHMARKS.md"] + ((try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/Tutorials")) ?? [])
        .sorted().map { "Tutorials/\($0)/README.md" }.filter { FileManager.default.fileExists(atPath: repositoryRoot + "/" + $0) }

    /// The commands of one Markdown file: lines of `sh` blocks (joined at a
    /// trailing backslash, comments cut) and inline code spans, that start with `strata`.
    static func commands(in file: String) -> [String] {
        guard let text = try? String(contentsOfFile: repositoryRoot + "/" + file, encoding: .utf8) else { return [] }
        var found: [String] = [], inBlock = false, pending = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") { inBlock.toggle(); pending = ""; continue }
            if inBlock {
                let joined = pending + line.trimmingCharacters(in: .whitespaces)
                if joined.hasSuffix("\\") { pending = String(joined.dropLast()) + " "; continue }
                pending = ""
                let command = cutComment(joined)
                if command.hasPrefix("strata ") { found.append(command) }
            } else {
                let parts = line.split(separator: "`", omittingEmptySubsequences: false)
                // Inline spans of three words or more are commands; `strata features` in prose names one.
                for (i, part) in parts.enumerated() where i % 2 == 1 && part.hasPrefix("strata ") && part.split(separator: " ").count >= 3 {
                    found.append(cutComment(String(part)))
                }
            }
        }
        return found
    }

    static func cutComment(_ line: String) -> String {
        var quote: Character?, previous: Character = " "
        for (i, c) in line.enumerated() {
            if let q = quote { if c == q { quote = nil } } else if c == "'" || c == "\"" { quote = c } else if c == "#", previous == " " {
                return String(line.prefix(i)).trimmingCharacters(in: .whitespaces)
            }
            previous = c
        }
        return line.trimmingCharacters(in: .whitespaces)
    }

    /// Splits a command line as a shell would (quotes, no expansion).
    static func words(_ line: String) -> [String] {
        var words: [String] = [], current = "", quote: Character?, inWord = false
        for c in line {
            if let q = quote { if c == q { quote = nil } else { current.append(c) }; continue }
            if c == "'" || c == "\"" { quote = c; inWord = true } else if c == " " {
                if inWord { words.append(current); current = ""; inWord = false }
            } else { current.append(c); inWord = true }
        }
        if inWord { words.append(current) }
        return words
    }

    static var all: [String] { files.flatMap { file in commands(in: file).map { "\(file): \($0)" } } }
}

@Suite struct WalkthroughTests {
    @Test func thereAreWalkthroughCommands() {
        #expect(Walkthroughs.all.count >= 30, "found \(Walkthroughs.all.count)")
    }

    /// The README and one walkthrough per tutorial are read: a missing Tutorials folder fails here, not by finding no commands.
    @Test func everyTutorialsWalkthroughIsRead() {
        let tutorials = TutorialCatalog.names(in: [repositoryRoot + "/Tutorials"]) // experiments and studies (sweep.yaml)
        #expect(tutorials.count >= 3, "tutorials found: \(tutorials)")
        #expect(Walkthroughs.files == ["README.md", "BENCHMARKS.md"] + tutorials.map { "Tutorials/\($0)/README.md" }, "walkthroughs read: \(Walkthroughs.files)")
    }

    /// `strata tutorial --help` lists every tutorial folder, and no other: a new one cannot be left out of it.
    @Test func theTutorialHelpListsEveryTutorialFolder() {
        let folders = TutorialCatalog.names(in: [repositoryRoot + "/Tutorials"])
        #expect(folders.count >= 3, "tutorials found: \(folders)")
        #expect(TutorialCatalog.shipped.map(\.name).sorted() == folders, "listed: \(TutorialCatalog.shipped.map(\.name)); folders: \(folders)")
        let help = TutorialCommand.helpMessage(columns: 200)
        for name in folders { #expect(help.contains("  \(name) "), "strata tutorial --help does not list \(name)") }
    }

    /// Every documented command line parses and passes its checks: no flag in the docs can rot.
    @Test(arguments: Walkthroughs.all)
    func documentedCommandIsAccepted(_ entry: String) {
        let line = String(entry.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
        let arguments = Array(Walkthroughs.words(line).dropFirst())
        do {
            _ = try StrataCommand.parseAsRoot(arguments)
        } catch {
            let code = StrataCommand.exitCode(for: error)
            #expect(code == .success, "\(entry)\n  \(StrataCommand.message(for: error))")
        }
    }
}

/// The examples in every command's `--help` parse and pass their checks too.
@Suite struct HelpExampleTests {
    static func commands(_ type: ParsableCommand.Type) -> [ParsableCommand.Type] {
        [type] + type.configuration.subcommands.flatMap(commands)
    }

    static let examples: [String] = commands(StrataCommand.self).flatMap { type -> [String] in
        var found: [String] = [], pending = ""
        for raw in type.configuration.discussion.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let line = pending + raw
            if line.hasSuffix("\\") { pending = String(line.dropLast()) + " "; continue }
            pending = ""
            if line.hasPrefix("strata ") { found.append(Walkthroughs.cutComment(line)) }
        }
        return found
    }

    /// No option's help states its default twice: in its own words and again in
    /// the `(default: ...)` swift-argument-parser appends for a declared value.
    @Test func noOptionSaysItsDefaultTwice() {
        for type in Self.commands(StrataCommand.self) {
            let options = type.helpMessage(columns: 10_000).components(separatedBy: "\n  -").dropFirst()
            for option in options {
                let text = option.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
                guard let appended = text.range(of: "(default: ", options: .backwards) else { continue }
                #expect(!text[..<appended.lowerBound].contains("default"),
                        "strata \(type.configuration.commandName ?? "") -\(text.prefix(160))")
            }
        }
    }

    @Test func everyCommandShowsExamples() { #expect(Self.examples.count >= 15, "\(Self.examples)") }

    @Test(arguments: examples)
    func exampleIsAccepted(_ line: String) {
        do { _ = try StrataCommand.parseAsRoot(Array(Walkthroughs.words(line).dropFirst())) } catch {
            #expect(StrataCommand.exitCode(for: error) == .success, "\(line)\n  \(StrataCommand.message(for: error))")
        }
    }
}
