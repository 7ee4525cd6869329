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

/// The kernel choice (``BLASKernelChoice``, ``VectorKernels``): every width
/// of the element-wise loops gives the scalar reference's bits, the chosen
/// OpenBLAS table passes its known-answer check, and the report names them.
@Suite(.serialized)
struct KernelTests {
    /// Values that reach every branch: both clamps of exp, zero, subnormals,
    /// negatives (NaN from log), and a spread of ordinary magnitudes.
    static let inputs: [Float] = {
        var random = RandomSource(seed: 31)
        var values: [Float] = [0, -0.0, 1, -1, 88.3, 88.4, -87.3, -87.4, 100, -100, 1e-30, Float.leastNonzeroMagnitude, 0.5, 2, 1e6, -1e6]
        for _ in 0 ..< 1000 { values.append((random.nextUnitFloat() - 0.5) * 60) }
        for _ in 0 ..< 200 { values.append(random.nextUnitFloat() * 1e4) }
        return values + [3, 7] // a count that is not a multiple of 8 or 16
    }()

    /// Each function's scalar reference, as the Swift kernels compute it
    /// (the square root: eight-lane formula below the last multiple of eight, `sqrtf` after).
    static func reference(_ function: VectorKernels.Function, _ values: [Float]) -> [Float] {
        let vectorEnd = values.count / 8 * 8
        return values.enumerated().map { i, x in
            switch function {
            case .exp: return fastExp(x)
            case .log: return fastLog(x)
            case .sigmoid: return fastSigmoid(x)
            case .tanh: return fastTanh(x)
            case .softplus: return fastSoftplus(x)
            case .squareRoot:
                guard x >= 0 else { return .nan }
                return i < vectorEnd ? fastSquareRoot(Float8(repeating: x))[0] : x.squareRoot()
            }
        }
    }

    static let functions: [VectorKernels.Function] = [.exp, .log, .sigmoid, .tanh, .softplus, .squareRoot]

    /// Each width gives the reference's bits for every function; a width the
    /// CPU lacks is reported as skipped (its trait), never as passed.
    static func checkWidth(_ isa: VectorISA) {
        defer { VectorKernels.use(nil) }
        VectorKernels.use(isa)
        for function in Self.functions {
            let values = function == .squareRoot ? Self.inputs.map(abs) : Self.inputs
            var out = values
            out.withUnsafeMutableBufferPointer { VectorKernels.map(function, $0.baseAddress!, count: $0.count) }
            let expected = Self.reference(function, values)
            let mismatches = zip(out, expected).enumerated().filter { $1.0.bitPattern != $1.1.bitPattern && !($1.0.isNaN && $1.1.isNaN) }
            #expect(mismatches.isEmpty, "\(isa) \(function): \(mismatches.count) of \(values.count) differ, first at \(mismatches.first.map { "\(values[$0.offset]): \($0.element)" } ?? "")")
        }
    }

    @Test func fourLanesGiveTheScalarBits() { Self.checkWidth(.baseline) }

    @Test(.enabled(if: VectorKernels.available.contains(.avx2), "this CPU has no AVX2 and FMA"))
    func eightLanesGiveTheScalarBits() { Self.checkWidth(.avx2) }

    @Test(.enabled(if: VectorKernels.available.contains(.avx512), "this CPU has no AVX-512 F/BW/DQ/VL: the 16-lane loops are not run here"))
    func sixteenLanesGiveTheScalarBits() { Self.checkWidth(.avx512) }

    /// A buffer long enough to be split over the cores gives one core's bits.
    @Test func splitMapIsOneLoop() {
        var random = RandomSource(seed: 4)
        let values = (0 ..< 3 * elementsPerCore + 13).map { _ in (random.nextUnitFloat() - 0.5) * 20 }
        var split = values
        split.withUnsafeMutableBufferPointer { $0.map(.sigmoid) }
        var one = values
        one.withUnsafeMutableBufferPointer { VectorKernels.map(.sigmoid, $0.baseAddress!, count: $0.count) }
        #expect(split == one)
        #expect(split.prefix(8).map { $0.bitPattern } == values.prefix(8).map { fastSigmoid($0).bitPattern })
    }

    /// The table in use is the CPU's widest (or the user's), it computes
    /// exact integer products, and the report says so.
    @Test func theChosenTablePassesItsCheckAndIsReported() {
        let choice = BLAS.choice
        #expect(BLASKernelChoice.knownAnswersHold())
        #expect(choice.inUse == BLAS.kernels)
        if choice.userSetting == nil, choice.switchable {
            #expect(choice.isa == CPUFeatures.current.widest, "\(choice.inUse) on a CPU with \(CPUFeatures.current.widest)")
        }
        let report = KernelReport.lines.joined(separator: "\n")
        #expect(report.contains("blas: OpenBLAS, \(choice.inUse) kernels") && report.contains("widest: \(CPUFeatures.current.widest)"), "\(report)")
        #expect(KernelReport.summary.hasPrefix("isa=\(CPUFeatures.current.widest) blas=\(choice.inUse) loops="))
    }

    @Test func kernelNamesMapToTheirWidths() {
        #expect(BLASKernelChoice.isa(ofKernels: "SkylakeX") == .avx512)
        #expect(BLASKernelChoice.isa(ofKernels: "Cooperlake") == .avx512)
        #expect(BLASKernelChoice.isa(ofKernels: "Zen") == .avx2)
        #expect(BLASKernelChoice.isa(ofKernels: "HASWELL") == .avx2)
        #expect(BLASKernelChoice.isa(ofKernels: "Prescott") == .baseline)
        #expect(VectorISA(name: "AVX512") == .avx512 && VectorISA(name: "neon") == nil)
    }
}

/// `strata info` run as a user would: the CPU's sets and the kernels, a
/// warning naming the fix when a narrower table is forced, and the fallback
/// when a table fails the known-answer check.
@Suite(.needsBuiltTool)
struct KernelReportTests {
    static func info(_ environment: [String: String]) throws -> String {
        let folder = TemporaryFolder()
        #expect(try BuiltTool.run(["info"], in: folder.path, environment: environment) == 0)
        return try String(contentsOfFile: folder.file("log.txt"), encoding: .utf8)
    }

    @Test func infoNamesTheSetsAndKernels() throws {
        let text = try Self.info([:])
        #expect(text.contains("instruction sets: ") && text.contains("widest: \(CPUFeatures.current.widest)"), "\(text)")
        #expect(text.contains("blas: OpenBLAS, ") && text.contains("own loops: "), "\(text)")
    }

    @Test(.enabled(if: CPUFeatures.current.widest >= .avx2, "the CPU's widest kernels are the generic ones: nothing narrower to force"))
    func aNarrowerTableForcedByTheUserIsKeptWithAWarning() throws {
        let text = try Self.info(["OPENBLAS_CORETYPE": "Prescott", "STRATA_ISA": "sse2"])
        #expect(text.contains("Prescott kernels (sse2): OPENBLAS_CORETYPE=Prescott"), "\(text)")
        #expect(text.contains("warning: OPENBLAS_CORETYPE=Prescott limits OpenBLAS") && text.contains("unset it"), "\(text)")
        #expect(text.contains("own loops: sse2, 4 lanes") && text.contains("unset STRATA_ISA"), "\(text)")
    }

    /// The AVX-512 Xeon's case on any machine: OpenBLAS starts from its
    /// generic table (as a CPU newer than the build gets) and Strata loads
    /// the widest one the CPU runs, checked, with no warning.
    @Test(.enabled(if: CPUFeatures.current.widest >= .avx, "the generic table is already the CPU's widest"),
          .enabled(if: BLAS.choice.switchable, "this OpenBLAS build cannot change its kernels after loading"),
          .enabled(if: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, "OPENBLAS_CORETYPE is set here: the user's table is kept, no choice is made"))
    func aTableNarrowerThanTheCPUGivesWayToTheWidest() throws {
        let text = try Self.info(["STRATA_BLAS_AT_LOAD": "Prescott"])
        let widest: String
        switch CPUFeatures.current.widest {
        case .avx512: widest = "SkylakeX"
        case .avx2: widest = "Haswell"
        default: widest = "Sandybridge"
        }
        #expect(text.contains("blas: OpenBLAS, \(widest) kernels") && text.contains("OpenBLAS picked Prescott as it loaded"), "\(text)")
        #expect(!text.contains("limits OpenBLAS") && !text.contains("known-answer check"), "\(text)")
    }

    @Test(.enabled(if: CPUFeatures.current.widest >= .avx2, "no narrower table to fall back to"),
          .enabled(if: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, "OPENBLAS_CORETYPE is set here: the user's table is kept, no choice is made"))
    func aTableThatFailsTheCheckGivesWayToANarrowerOne() throws {
        let widest = try Self.info([:]).components(separatedBy: "blas: OpenBLAS, ").last!.components(separatedBy: " kernels").first!
        let text = try Self.info(["STRATA_BLAS_DISTRUST": "\(widest),skylakex,haswell"])
        #expect(text.contains("failed Strata's known-answer check") && text.contains("blas: OpenBLAS, Sandybridge kernels"), "\(text)")
    }
}
