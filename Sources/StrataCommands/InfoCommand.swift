import ArgumentParser
import Strata

/// `strata info`: what runs on this machine.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the CPU's vector instruction sets and the kernels Strata runs on them.",
        discussion: """
            Strata reads the CPU's features (cpuid) and makes OpenBLAS run the widest kernels this CPU \
            executes, even where the installed OpenBLAS does not know the CPU; each table it chooses must \
            pass a known-answer check first. OPENBLAS_CORETYPE, when set, is kept as the user's choice. \
            Strata's own element-wise loops run 16 lanes with AVX-512, 8 with AVX2, 4 otherwise; \
            STRATA_ISA=avx2 or sse2 limits them. A warning names anything narrower than the CPU allows.
            """
    )

    func run() throws {
        print("strata \(StrataVersion.current)")
        KernelReport.lines.forEach { print($0) }
    }
}
