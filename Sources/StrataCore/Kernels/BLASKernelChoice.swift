import CBLAS
import CStrataKernels
import Foundation

/// How OpenBLAS's kernels were chosen in this process, once, before its
/// first product.
///
/// Debian's OpenBLAS picks its kernel table as it loads, from a table of CPU
/// models: a CPU newer than the build (an AVX-512 Xeon under OpenBLAS 0.3.21)
/// gets the generic SSE3 kernels, about a quarter of the machine. Strata
/// knows the CPU's vector sets from cpuid (``CPUFeatures``) and, when
/// OpenBLAS's own pick is narrower than the CPU allows, loads the widest
/// table the CPU runs. A user's `OPENBLAS_CORETYPE` is always kept. Any
/// table Strata chooses proves itself first by a known-answer check (exact
/// integer products, all four transpositions, and a matrix-vector product);
/// one that fails gives way to the next narrower one, and the log says so.
public struct BLASKernelChoice: Sendable {
    /// The kernels OpenBLAS picked as it loaded.
    public let atLoad: String
    /// The kernels in use.
    public let inUse: String
    /// `OPENBLAS_CORETYPE` as the user set it, if set.
    public let userSetting: String?
    /// Tables tried and refused by the known-answer check, in order.
    public let refused: [String]
    /// Whether this OpenBLAS can change its table after loading (a DYNAMIC_ARCH build).
    public let switchable: Bool

    /// The vector width of an OpenBLAS kernel table, by its name.
    public static func isa(ofKernels name: String) -> VectorISA {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return .avx512
        case "haswell", "zen": return .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return .avx
        default: return .baseline
        }
    }

    /// The tables Strata asks for, widest first, each run only where the CPU has its width.
    static let ladder: [(name: String, isa: VectorISA)] = [("SkylakeX", .avx512), ("Haswell", .avx2), ("Sandybridge", .avx), ("Prescott", .baseline)]

    /// The kernels' width.
    public var isa: VectorISA { Self.isa(ofKernels: inUse) }

    /// Chooses, applying the choice to OpenBLAS. Call once, before any product.
    static func make(cpu: CPUFeatures, environment: [String: String] = ProcessInfo.processInfo.environment) -> BLASKernelChoice {
        let user = environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        // A testing seam for a CPU the OpenBLAS build does not know (the AVX-512
        // Xeon, which gets the generic table): start from this table as if OpenBLAS had picked it.
        if user == nil, let start = environment["STRATA_BLAS_AT_LOAD"], !start.isEmpty { _ = strata_blas_switch(start) }
        let atLoad = currentKernels()
        // A testing seam for the fallback: tables to treat as failing the check.
        let distrusted = Set((environment["STRATA_BLAS_DISTRUST"] ?? "").lowercased().split(separator: ",").map(String.init))
        func passes(_ name: String) -> Bool { !distrusted.contains(name.lowercased()) && knownAnswersHold() }
        let switchable = strata_blas_can_switch() != 0
        let atLoadPasses = passes(atLoad)
        var refused = atLoadPasses ? [] : [atLoad]
        // Kept: the user's table, a build that cannot switch, or OpenBLAS's own pick at the CPU's width.
        if user != nil || !switchable || (atLoadPasses && isa(ofKernels: atLoad) == cpu.widest) {
            return BLASKernelChoice(atLoad: atLoad, inUse: atLoad, userSetting: user, refused: refused, switchable: switchable)
        }
        for rung in ladder where rung.isa <= cpu.widest {
            if strata_blas_switch(rung.name) == 0, currentKernels().lowercased() == rung.name.lowercased(), passes(rung.name) {
                return BLASKernelChoice(atLoad: atLoad, inUse: rung.name, userSetting: nil, refused: refused, switchable: true)
            }
            refused.append(rung.name)
        }
        // Nothing passed: keep the generic table, and say so.
        _ = strata_blas_switch("Prescott")
        return BLASKernelChoice(atLoad: atLoad, inUse: currentKernels(), userSetting: nil, refused: refused, switchable: true)
    }

    /// OpenBLAS's name for the table in use.
    static func currentKernels() -> String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// Whether products of small integers (exact in Float32 whatever the
    /// summation order) come out exact, in the four transpositions, at
    /// shapes that reach the kernels' edge cases, and in `sgemv`.
    static func knownAnswersHold() -> Bool {
        for (m, n, k) in [(7, 5, 3), (67, 45, 97), (130, 70, 260)] {
            let a = (0 ..< m * k).map { Float(($0 * 7 + 3) % 7 - 3) }
            let b = (0 ..< k * n).map { Float(($0 * 5 + 1) % 5 - 2) }
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                // Stored (m, k) or (k, m), (k, n) or (n, k): the element (i, l) of op(A) and (l, j) of op(B).
                func elementA(_ i: Int, _ l: Int) -> Float { ta ? a[l * m + i] : a[i * k + l] }
                func elementB(_ l: Int, _ j: Int) -> Float { tb ? b[j * k + l] : b[l * n + j] }
                var c = [Float](repeating: 1, count: m * n)
                cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                            2, a, Int32(ta ? m : k), b, Int32(tb ? k : n), -1, &c, Int32(n))
                for i in 0 ..< m {
                    for j in 0 ..< n {
                        var sum: Float = 0
                        for l in 0 ..< k { sum += elementA(i, l) * elementB(l, j) }
                        if c[i * n + j] != 2 * sum - 1 { return false }
                    }
                }
            }
            var y = [Float](repeating: 0, count: m)
            let x = Array(b.prefix(k))
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), 1, a, Int32(k), x, 1, 0, &y, 1)
            for i in 0 ..< m where y[i] != (0 ..< k).reduce(Float(0), { $0 + a[i * k + $1] * x[$1] }) { return false }
        }
        return true
    }

    /// What the choice was, in a sentence for `strata info`.
    public var explanation: String {
        if let userSetting { return "OPENBLAS_CORETYPE=\(userSetting) (set in the environment; Strata keeps it)" }
        if inUse == atLoad { return refused.isEmpty ? "OpenBLAS's own pick for this CPU, checked" : "OpenBLAS's own pick (it cannot change its kernels after loading)" }
        return "chosen by Strata from the CPU's features (OpenBLAS picked \(atLoad) as it loaded)"
    }
}
