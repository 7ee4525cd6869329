import ArgumentParser
import Foundation
@testable import StrataCommands
import Testing

/// Every text flag of an option group reaches the library under its YAML key
/// (the flag's name with underscores): a flag declared but left out of its
/// group's `settings`, or listed under another key, would be accepted and
/// then ignored.
@Suite struct FlagVocabularyTests {
    /// The group's text and whole-number options, by property name, each with a value of its own to give it.
    static func valuedOptions<Group: ParsableArguments>(_ group: Group.Type) -> [(name: String, value: String)] {
        Mirror(reflecting: Group()).children.enumerated().compactMap { index, child in
            guard let label = child.label, label.hasPrefix("_") else { return nil }
            let name = String(label.dropFirst())
            if child.value is Option<String?> { return (name, "value-of-\(name)") }
            if child.value is Option<Int?> { return (name, String(index + 2)) }
            return nil
        }
    }

    /// `fooBar` as `foo_bar`; with `separator` "-", as the flag `foo-bar`.
    static func spelled(_ name: String, separator: String = "_") -> String {
        name.map { $0.isUppercase ? separator + $0.lowercased() : String($0) }.joined()
    }

    /// Parses every valued option of `Group` with a value of its own and checks each arrives under its key.
    static func check<Group: ParsableArguments>(_ group: Group.Type, _ settings: (Group) -> [String: String?]) throws {
        let options = valuedOptions(group)
        #expect(!options.isEmpty, "\(Group.self): no valued options found")
        let parsed = try Group.parse(options.flatMap { ["--" + spelled($0.name, separator: "-"), $0.value] })
        let given = settings(parsed)
        for (name, value) in options {
            #expect(given[spelled(name)] == .some(value), "\(Group.self).\(name) does not reach the setting \(spelled(name))")
        }
        let set = given.compactMapValues { $0 }
        #expect(set.count == options.count, "\(Group.self): settings no flag gave: \(set.keys.filter { key in !options.contains { spelled($0.name) == key } })")
    }

    @Test func everyTextFlagReachesItsSetting() throws {
        try Self.check(SGDOptions.self) { $0.settings }
        try Self.check(LearnerOptions.self) { $0.settings }
        try Self.check(TrainingOptions.self) { $0.settings }
        try Self.check(PreprocessingOptions.self) { $0.settings }
        try Self.check(FeatureOptions.self) { $0.settings }
        try Self.check(FineTuningOptions.self) { $0.settings }
        try Self.check(SVMOptions.self) { $0.settings }
        try Self.check(PretrainInputOptions.self) { $0.settings }
        try Self.check(FeatureFileOptions.self) { $0.settings }
        try Self.check(ImageOptions.self) { $0.settings }
        try Self.check(PixelOptions.self) { $0.settings }
    }
}
