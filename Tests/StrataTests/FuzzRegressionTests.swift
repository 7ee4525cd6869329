import Foundation
import Strata
@testable import StrataPipeline
import Testing

/// The repository's folder of fuzzing material (seed corpora, bases).
private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Files in `folder` (none when it does not exist), sorted.
private func files(in folder: URL) -> [URL] {
    ((try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? [])
        .filter { !$0.lastPathComponent.hasPrefix(".") && $0.lastPathComponent != "README.md" }
        .sorted { $0.path < $1.path }
}

/// A seeded, in-process cousin of the libFuzzer targets: a few thousand
/// damaged versions of each seed file (bits flipped, bytes set to extreme
/// values, cut short, spliced, extended) go through every reader in seconds,
/// and every crash input the fuzzer ever found is replayed. A reader may
/// refuse an input; a trap would end the test process.
@Suite struct FuzzRegressionTests {
    static let bases = ReaderSurface.bases(in: repository.appendingPathComponent("Fuzz/bases").path)

    @Test(arguments: ReaderSurface.formats)
    func damagedInputsAreRefusedNotFatal(format: String) throws {
        let reader = try #require(ReaderSurface.reader(format, bases: Self.bases))
        let seeds = files(in: repository.appendingPathComponent("Fuzz/corpus/" + format)).compactMap { try? Data(contentsOf: $0) }
        try #require(!seeds.isEmpty, "no seed files in Fuzz/corpus/\(format)")
        var random = RandomSource(seed: 0x5eed)
        var refused = 0
        let count = ["yaml": 600, "resume": 400][format] ?? 2000
        for i in 0 ..< count {
            let input = Self.mutate(seeds[i % seeds.count], other: seeds[(i * 7 + 3) % seeds.count], random: &random)
            do { try reader(input) } catch { refused += 1 }
        }
        #expect(refused > 0, "no damaged \(format) input was refused: the mutations do not reach the reader")
    }

    /// The seeds of the formats that start from a valid file: each picks its
    /// namesake base (its first byte, modulo the bases, sorted by name) and,
    /// undamaged, goes through its reader. A base added without rewriting the
    /// seeds (`scripts/fuzz-seeds.py`) shifts the indices after it, and the
    /// seeds would then pair one file's metadata with another's tensors and
    /// stop at the first check, far from the code they were written to reach.
    @Test(arguments: ["metadata", "resume", "export"])
    func seedsPickTheirNamesakeBaseAndAreRead(format: String) throws {
        let folder = repository.appendingPathComponent("Fuzz/bases")
        let names = files(in: folder).map(\.lastPathComponent).filter { $0.hasSuffix(".safetensors") }
        try #require(names.count == Self.bases.count && !names.isEmpty, "every file in Fuzz/bases reads: \(names.count) files, \(Self.bases.count) read")
        let reader = try #require(ReaderSurface.reader(format, bases: Self.bases))
        let seeds = files(in: repository.appendingPathComponent("Fuzz/corpus/" + format))
        for seed in seeds {
            let data = try Data(contentsOf: seed), name = seed.deletingPathExtension().lastPathComponent
            let picked = names[Int(try #require(data.first)) % names.count]
            #expect(picked == name + ".safetensors", "Fuzz/corpus/\(format)/\(seed.lastPathComponent) picks \(picked): run scripts/fuzz-seeds.py")
            if format == "metadata" { // the metadata reader keeps going past a refusal: read the file as what it is
                let metadata = try #require(try JSONSerialization.jsonObject(with: data.dropFirst()) as? [String: String])
                let file = SafeTensors(tensors: Self.bases[names.firstIndex(of: picked)!].tensors, metadata: metadata)
                switch metadata["format"] {
                case "strata-stack-1": _ = try LayerStack.read(safeTensors: file, path: picked)
                case "strata-checkpoint-1": _ = try LearnerCheckpoint.read(safeTensors: file, path: picked)
                case "strata-classifier-1": _ = try Classifier.read(safeTensors: file, path: picked)
                default: break
                }
            } else if format == "resume" { // an undamaged checkpoint resumes and trains on
                let metadata = try #require(try JSONSerialization.jsonObject(with: data.dropFirst()) as? [String: String])
                let folder = NSTemporaryDirectory() + "strata-seed-\(UUID().uuidString)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: folder) }
                try ResumeSurface.resume(SafeTensors(tensors: Self.bases[names.firstIndex(of: picked)!].tensors, metadata: metadata), in: folder, fronts: ResumeSurface.localFronts(in: Self.bases))
                #expect(FileManager.default.fileExists(atPath: folder + "/monitor.jsonl"), "\(seed.lastPathComponent): the resume trained nothing")
            } else {
                try reader(data) // an undamaged classifier exports
            }
        }
        print("fuzz seeds: \(seeds.count) \(format) seeds, each read with its namesake of \(names.count) bases")
    }

    static let regressions = repository.appendingPathComponent("Tests/StrataTests/FuzzRegressions")

    /// The crash inputs saved so far, by format (`FuzzRegressions/FORMAT/NAME`).
    static var crashInputs: [(format: String, file: URL)] {
        ReaderSurface.formats.flatMap { format in files(in: regressions.appendingPathComponent(format)).map { (format, $0) } }
    }

    /// The folder exists and holds only format folders the surface knows: a
    /// crash input saved under a misspelt folder would never be replayed.
    @Test func crashInputsLieWhereTheReplayFindsThem() throws {
        let entries = files(in: Self.regressions)
        try #require(FileManager.default.fileExists(atPath: Self.regressions.path), "Tests/StrataTests/FuzzRegressions is missing")
        for entry in entries {
            #expect(ReaderSurface.formats.contains(entry.lastPathComponent),
                    "FuzzRegressions/\(entry.lastPathComponent) is not a format folder (\(ReaderSurface.formats.joined(separator: ", "))): its files are never replayed")
        }
    }

    /// Every crash input the fuzzer ever found goes through its reader without
    /// a trap (refused or read). Skipped, and reported so, while none is saved.
    @Test(.enabled(if: !crashInputs.isEmpty, "no crash input saved yet in Tests/StrataTests/FuzzRegressions/FORMAT"))
    func everyCrashTheFuzzerFoundStaysFixed() throws {
        for (format, file) in Self.crashInputs {
            let reader = try #require(ReaderSurface.reader(format, bases: Self.bases))
            _ = try? reader(Data(contentsOf: file))
        }
        print("fuzz regressions: \(Self.crashInputs.count) crash inputs replayed")
    }

    /// One to four random edits of `data` (bytes `other` may be spliced in).
    static func mutate(_ data: Data, other: Data, random: inout RandomSource) -> Data {
        var bytes = [UInt8](data)
        for _ in 0 ... Int(random.next() % 4) {
            let at = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            switch random.next() % 6 {
            case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1) << UInt8(random.next() % 8)
            case 1 where !bytes.isEmpty: bytes[at] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe][Int(random.next() % 6)]
            case 2: bytes = Array(bytes.prefix(at))
            case 3 where !other.isEmpty:
                let start = Int(random.next() % UInt64(other.count))
                bytes.insert(contentsOf: other[other.startIndex + start ..< other.startIndex + min(other.count, start + 16)], at: at)
            case 4 where bytes.count >= 4 && at + 4 <= bytes.count:
                for j in at ..< at + 4 { bytes[j] = 0xff } // a length or an extent at its maximum
            default: bytes.append(contentsOf: Array(repeating: UInt8(truncatingIfNeeded: random.next()), count: Int(random.next() % 32)))
            }
        }
        return Data(bytes)
    }
}
