import CStrataKernels
import Foundation
import Synchronization

/// Strata's own element-wise loops (exp, log, sigmoid, tanh, softplus,
/// square root) at the CPU's width, chosen at run time in one binary: 16
/// lanes with AVX-512, 8 with AVX2, 4 (SSE2) otherwise. Every width gives
/// the same bits (the formulas of Kernels.swift lane by lane, no fused
/// multiply-adds), so the width changes the speed only.
///
/// `STRATA_ISA=avx2` (or `sse2`) limits the width, for comparison or a
/// suspect CPU; a width the CPU lacks is refused with a notice.
public enum VectorKernels {
    /// The element-wise functions the kernels compute.
    public enum Function: Sendable {
        case exp, log, sigmoid, tanh, softplus, squareRoot

        var code: strata_map_function {
            switch self {
            case .exp: return STRATA_MAP_EXP
            case .log: return STRATA_MAP_LOG
            case .sigmoid: return STRATA_MAP_SIGMOID
            case .tanh: return STRATA_MAP_TANH
            case .softplus: return STRATA_MAP_SOFTPLUS
            case .squareRoot: return STRATA_MAP_SQRT
            }
        }
    }

    /// The widths this CPU can run, narrowest first (``VectorISA/avx`` runs the baseline loops).
    public static var available: [VectorISA] {
        [VectorISA.baseline, .avx2, .avx512].filter { $0 <= CPUFeatures.current.widest }
    }

    /// The width chosen at start: the CPU's widest, or `STRATA_ISA`'s narrower one.
    public static let chosen: (isa: VectorISA, notice: String?) = {
        let widest = CPUFeatures.current.widest == .avx ? VectorISA.baseline : CPUFeatures.current.widest
        guard let name = ProcessInfo.processInfo.environment["STRATA_ISA"], !name.isEmpty else { return (widest, nil) }
        guard let asked = VectorISA(name: name), asked != .avx else {
            return (widest, "STRATA_ISA=\(name) is not one of sse2, avx2, avx512; Strata's loops run \(widest)")
        }
        guard asked <= widest else { return (widest, "STRATA_ISA=\(name): this CPU lacks \(asked); Strata's loops run \(widest)") }
        return (asked, nil)
    }()

    private static let override = Atomic<Int>(-1)

    /// The width in use: ``chosen``, unless a test set another with ``use(_:)``.
    public static var width: VectorISA {
        let value = override.load(ordering: .relaxed)
        return value < 0 ? chosen.isa : VectorISA(rawValue: value)!
    }

    /// Runs later loops at `isa` (one the CPU has; nil goes back to ``chosen``): for tests that compare widths.
    public static func use(_ isa: VectorISA?) {
        precondition(isa.map { available.contains($0) } ?? true, "this CPU cannot run \(isa!) loops")
        override.store(isa?.rawValue ?? -1, ordering: .relaxed)
    }

    static var code: strata_vector_width {
        switch width {
        case .avx512: return STRATA_WIDTH_AVX512
        case .avx2: return STRATA_WIDTH_AVX2
        case .baseline, .avx: return STRATA_WIDTH_BASELINE
        }
    }

    /// `values[i] = f(values[i])` in place, at ``width``: the scalar
    /// function's bits (for the square root: Newton steps up to the last
    /// multiple of eight, `sqrtf` after, as `mapEight` with `fastSquareRoot` gives).
    @inline(__always)
    public static func map(_ function: Function, _ values: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        strata_map(code, function.code, values, count)
    }
}

extension UnsafeMutableBufferPointer where Element == Float {
    /// Applies `function` to every value in place at the CPU's width; large
    /// buffers (a whole batch of hidden units) are split over the cores in
    /// parts that start at multiples of eight (``forEachEightAlignedPart(_:)``).
    public func map(_ function: VectorKernels.Function) {
        forEachEightAlignedPart { part, count in VectorKernels.map(function, part, count: count) }
    }
}
