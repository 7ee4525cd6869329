import Foundation
import Testing

/// The library's floors (Package.swift's `floors`, lowest first) are held by
/// the package: a module's declared dependencies and every file's imports name
/// only floors below it. SwiftPM refuses cycles; this refuses an upward edge
/// that would make one (or that a later cycle would hide), before it lands.
@Suite struct LayeringTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `floors` as Package.swift lists them.
    static func floors(in manifest: String) throws -> [String] {
        let declaration = try #require(manifest.firstMatch(of: #/let floors = \[([^\]]*)\]/#), "Package.swift declares `let floors = [...]`")
        return declaration.1.matches(of: #/"(\w+)"/#).map { String($0.1) }
    }

    @Test func noModuleDependsOnAFloorAboveIt() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let floors = try Self.floors(in: manifest)
        #expect(floors.count >= 8, "the floors: \(floors)")
        var checked = 0
        for target in manifest.matches(of: #/library\("(\w+)",\s*\[([^\]]*)\]/#) {
            let name = String(target.1)
            let level = try #require(floors.firstIndex(of: name), "\(name) is a library module missing from `floors`")
            for dependency in target.2.matches(of: #/"(Strata\w+)"/#).map({ String($0.1) }) {
                let below = try #require(floors.firstIndex(of: dependency), "\(name) depends on \(dependency), which is not a floor")
                #expect(below < level, "Package.swift: \(name) (floor \(level)) depends on \(dependency) (floor \(below)), which is not below it")
            }
            checked += 1
        }
        #expect(checked >= floors.count - 1, "the library(...) declarations found: \(checked)")
    }

    @Test func noFileImportsAFloorAboveItsModule() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let floors = try Self.floors(in: manifest)
        var files = 0
        for (level, module) in floors.enumerated() {
            let folder = Self.root.appendingPathComponent("Sources/\(module)")
            let paths = try #require(FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") } as [String]?)
            #expect(!paths.isEmpty, "Sources/\(module) holds no Swift file")
            for path in paths {
                let text = try String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8)
                for imported in text.matches(of: #/(?m)^(?:@_exported |@testable |internal |public |package )?import (Strata\w*)$/#).map({ String($0.1) }) {
                    let below = floors.firstIndex(of: imported)
                    #expect(below.map { $0 < level } == true, "Sources/\(module)/\(path) imports \(imported), not a floor below \(module)")
                }
                files += 1
            }
        }
        print("layering: \(floors.count) modules, \(files) files, every import below its module")
    }

    /// Every function in Sources is readable on a screen: none over 80 lines (scripts/long-functions.py lists any).
    @Test(.enabled(if: Python.has("re"), "needs python3 for scripts/long-functions.py"))
    func noFunctionIsLongerThanEightyLines() {
        let (status, output) = Python.run([Self.root.appendingPathComponent("scripts/long-functions.py").path, "80"])
        #expect(status == 0, "functions over 80 lines:\n\(output)")
    }
}
