import Foundation
import Strata

// libFuzzer entry point for Strata's readers (ReaderSurface). Built only by
// scripts/fuzz.sh (STRATA_FUZZ=1 swift build --sanitize=fuzzer
// --sanitize=address), never by the normal build. STRATA_FUZZ_TARGET picks
// the format, STRATA_FUZZ_BASES the folder of valid files the `metadata`
// format varies. An error thrown by a reader is the expected outcome for a
// bad input; a trap, a sanitizer report, a leak or a timeout is a bug.

let selected: (Data) throws -> Void = {
    let environment = ProcessInfo.processInfo.environment
    let name = environment["STRATA_FUZZ_TARGET"] ?? ""
    let bases = ReaderSurface.bases(in: environment["STRATA_FUZZ_BASES"] ?? "Fuzz/bases")
    guard let reader = ReaderSurface.reader(name, bases: bases) else {
        FileHandle.standardError.write(Data("set STRATA_FUZZ_TARGET to one of: \(ReaderSurface.formats.joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return reader
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    _ = try? selected(data)
    return 0
}
