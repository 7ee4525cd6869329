import Foundation

/// What runs on this machine, for `strata info`, the benchmarks' lines and
/// each run's log: the CPU's vector sets, OpenBLAS's kernels, the width of
/// Strata's own loops, and a warning when something runs narrower than the
/// CPU allows, naming the fix.
public enum KernelReport {
    /// `isa=avx512 blas=SkylakeX loops=avx512`: the CPU's widest set, OpenBLAS's kernels, the loops' width.
    public static var summary: String {
        "isa=\(CPUFeatures.current.widest) blas=\(BLAS.kernels) loops=\(VectorKernels.width)"
    }

    /// Warnings: kernels narrower than the CPU runs, refused tables, an unusable `STRATA_ISA`.
    public static var warnings: [String] {
        let cpu = CPUFeatures.current, choice = BLAS.choice
        var lines: [String] = []
        if !choice.refused.isEmpty {
            lines.append("OpenBLAS's \(choice.refused.joined(separator: ", ")) kernels failed Strata's known-answer check on this CPU; using \(choice.inUse)")
        }
        if choice.isa < cpu.widest {
            if let user = choice.userSetting {
                lines.append("OPENBLAS_CORETYPE=\(user) limits OpenBLAS to \(choice.isa) kernels on a CPU with \(cpu.widest); unset it to let Strata choose (products may run slower)")
            } else if !choice.switchable {
                lines.append("this OpenBLAS build cannot change its kernels after loading and runs \(choice.inUse) (\(choice.isa)) on a CPU with \(cpu.widest); set OPENBLAS_CORETYPE before starting, or install Debian's libopenblas0-pthread")
            }
        }
        if let notice = VectorKernels.chosen.notice { lines.append(notice) }
        if VectorKernels.width < (cpu.widest == .avx ? .baseline : cpu.widest) {
            lines.append("Strata's own loops run \(VectorKernels.width) on a CPU with \(cpu.widest) (STRATA_ISA); unset STRATA_ISA for the full width")
        }
        return lines
    }

    /// The full report, one fact a line (`strata info`).
    public static var lines: [String] {
        let cpu = CPUFeatures.current, choice = BLAS.choice
        return [
            "cpu: \(cpu.brand.isEmpty ? cpu.vendor : cpu.brand) (\(cpu.vendor), family \(cpu.family), model \(cpu.model)), \(ProcessInfo.processInfo.activeProcessorCount) cores",
            "instruction sets: \(cpu.setNames.joined(separator: " ")); widest: \(cpu.widest)",
            "blas: OpenBLAS, \(choice.inUse) kernels (\(choice.isa)): \(choice.explanation)",
            "own loops: \(VectorKernels.width), \(VectorKernels.width.lanes) lanes (exp, log, sigmoid, tanh, softplus, square root)",
        ] + warnings.map { "warning: \($0)" }
    }

    /// A run's log header: the kernels on `cores` cores (and `ranks` MPI
    /// ranks when more than one), then any warnings.
    public static func logLines(cores: Int, ranks: Int = 1) -> [String] {
        ["kernels: \(summary), \(cores) core\(cores == 1 ? "" : "s")\(ranks > 1 ? " in each of \(ranks) ranks" : "")"]
            + warnings.map { "warning: \($0)" }
    }
}
