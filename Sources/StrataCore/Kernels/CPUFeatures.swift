import Foundation
import CStrataKernels

/// The widths of vector code Strata runs, narrowest first.
public enum VectorISA: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    /// SSE2, which every x86-64 CPU executes: 4 Float32 lanes.
    case baseline
    /// AVX without AVX2 and FMA (OpenBLAS's "Sandybridge" kernels); Strata's own loops run the baseline there.
    case avx
    /// AVX2 with FMA: 8 lanes.
    case avx2
    /// AVX-512 F, BW, DQ and VL: 16 lanes.
    case avx512

    public static func < (a: VectorISA, b: VectorISA) -> Bool { a.rawValue < b.rawValue }

    /// The name used in logs, `strata info` and `STRATA_ISA`: sse2, avx, avx2, avx512.
    public var description: String {
        switch self {
        case .baseline: return "sse2"
        case .avx: return "avx"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }

    /// The ISA a name (as ``description`` writes it, case-insensitive) stands for.
    public init?(name: String) {
        guard let isa = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = isa
    }

    /// Float32 lanes of Strata's own element-wise loops at this width.
    public var lanes: Int {
        switch self {
        case .baseline, .avx: return 4
        case .avx2: return 8
        case .avx512: return 16
        }
    }
}

/// The vector instruction sets of the CPU this process runs on, read from
/// `cpuid` (leaves 1 and 7) and XGETBV, not from a table of models: a set
/// counts only when the CPU has it and the operating system saves its
/// registers. So a CPU newer than any table is still known for what it does.
public struct CPUFeatures: Sendable {
    /// "GenuineIntel", "AuthenticAMD", ...
    public let vendor: String
    /// The processor's own name (cpuid's brand string).
    public let brand: String
    /// Family and model as cpuid reports them (extended fields folded in).
    public let family: Int, model: Int
    public let sse3: Bool, ssse3: Bool, sse41: Bool, sse42: Bool
    public let avx: Bool, avx2: Bool, fma: Bool
    public let avx512f: Bool, avx512bw: Bool, avx512dq: Bool, avx512vl: Bool

    /// The features of this machine's CPU.
    public static let current = CPUFeatures()

    init() {
        var f = strata_cpu_features()
        strata_cpu_read(&f)
        vendor = withUnsafeBytes(of: f.vendor) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        brand = withUnsafeBytes(of: f.brand) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            .trimmingCharacters(in: .whitespaces)
        (family, model) = (Int(f.family), Int(f.model))
        (sse3, ssse3, sse41, sse42) = (f.sse3 != 0, f.ssse3 != 0, f.sse41 != 0, f.sse42 != 0)
        (avx, avx2, fma) = (f.avx != 0, f.avx2 != 0, f.fma != 0)
        (avx512f, avx512bw, avx512dq, avx512vl) = (f.avx512f != 0, f.avx512bw != 0, f.avx512dq != 0, f.avx512vl != 0)
    }

    /// The widest vector code this CPU runs: AVX-512 needs F, BW, DQ and VL
    /// (the set OpenBLAS's SkylakeX kernels use); AVX2 needs FMA beside it.
    public var widest: VectorISA {
        if avx512f && avx512bw && avx512dq && avx512vl && avx2 && fma { return .avx512 }
        if avx2 && fma { return .avx2 }
        return avx ? .avx : .baseline
    }

    /// The sets found, by their usual names ("SSE3 ... AVX2 FMA AVX512F ...").
    public var setNames: [String] {
        let sets: [(String, Bool)] = [("SSE3", sse3), ("SSSE3", ssse3), ("SSE4.1", sse41), ("SSE4.2", sse42), ("AVX", avx),
                                      ("AVX2", avx2), ("FMA", fma), ("AVX512F", avx512f), ("AVX512BW", avx512bw),
                                      ("AVX512DQ", avx512dq), ("AVX512VL", avx512vl)]
        return sets.filter(\.1).map(\.0)
    }
}
