// swift-tools-version:6.2
import Foundation
import PackageDescription

/// The library is built for the building machine's AVX2 and FMA when it has
/// them, as `-march=native` would: Swift cannot choose an instruction set per
/// function, and the eight-wide loops (exp, log, sigmoid, losses) fill a
/// 256-bit register only when the whole module targets one. Set
/// STRATA_PORTABLE=1 to build for any x86-64 (a binary to copy elsewhere).
let hostCPUSettings: [SwiftSetting] = {
    #if os(Linux) && arch(x86_64)
    guard Context.environment["STRATA_PORTABLE"] == nil,
          let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return [] }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    let haswell: Set = ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "popcnt", "abm"]
    return haswell.isSubset(of: flags) ? [.unsafeFlags(["-target-cpu", "haswell"])] : []
    #else
    return []
    #endif
}()

/// The libFuzzer target (Fuzz/StrataFuzz), declared only when scripts/fuzz.sh
/// sets STRATA_FUZZ: it has no main of its own (libFuzzer supplies it), so the
/// normal build and the tests never see it.
let fuzzTargets: [Target] = Context.environment["STRATA_FUZZ"] == nil ? [] : [
    .executableTarget(name: "StrataFuzz", dependencies: ["Strata"], path: "Fuzz/StrataFuzz",
                      swiftSettings: [.swiftLanguageMode(.v5), .unsafeFlags(["-parse-as-library"])]),
]

/// The library's modules, lowest floor first: a module may import only those before it.
let floors = ["StrataCore", "StrataData", "StrataModels", "StrataDistributed", "StrataTraining",
              "StrataFeatures", "StrataPictures", "StrataExport", "StrataPipeline"]
let protobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")

/// One library module (Swift 5 language mode, the host CPU's vector width).
func library(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .target(name: name, dependencies: dependencies, swiftSettings: [.swiftLanguageMode(.v5)] + hostCPUSettings)
}

let package = Package(
    name: "Strata",
    products: [
        .library(name: "Strata", targets: ["Strata"]),
        // The command-line tool: a thin shell over the library (StrataCommands), installed as `strata`.
        .executable(name: "strata", targets: ["StrataTool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Protocol Buffers runtime: ONNX export writes ModelProto messages (code generated once from Proto/, committed).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface (and the LAPACK routines it ships).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // libpng 1.6 (simplified read/write API).
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // zlib, for gzip-compressed IDX files.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Cairo, for charts (text, antialiased lines) written as PNG.
        .systemLibrary(
            name: "CCairo",
            pkgConfig: "cairo",
            providers: [.apt(["libcairo2-dev"])]
        ),
        // Open MPI (its C shim: the handles mpi.h names by macro), for training across processes and machines.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        // The CPU's features (cpuid), OpenBLAS's kernel choice after it loads, and the
        // element-wise kernels built at three widths (SSE2, AVX2, AVX-512) in one binary.
        .target(
            name: "CStrataKernels",
            dependencies: ["CBLAS"]
        ),
        // The library, one module per floor; each imports only the floors below it
        // (ARCHITECTURE.md draws them; Tests/StrataTests/LayeringTests.swift fails
        // on an upward dependency). `Strata` re-exports them all.
        //
        // Numbers: Tensor, random streams, BLAS and the element-wise kernels, compute, errors, limits, the settings vocabulary.
        library("StrataCore", ["CBLAS", "CStrataKernels"]),
        // Formats and data: IDX, CIFAR-10, NPY, PNG, safetensors, patches, preprocessing, the input contract.
        library("StrataData", ["StrataCore", "CPNG", "CZlib"]),
        // Models: the learners, layers and networks, their update rules and optimizers, the encodings.
        library("StrataModels", ["StrataCore", "StrataData"]),
        // Across processes: MPI, data-parallel and Downpour steps, the learners' rank state.
        library("StrataDistributed", ["StrataCore", "StrataData", "StrataModels", "CMPI"]),
        // Training: the epoch loops, checkpoints and stacks, monitors, TensorBoard, L-BFGS, fine-tuning.
        library("StrataTraining", ["StrataCore", "StrataData", "StrataModels", "StrataDistributed", protobuf]),
        // Features and classifiers: extraction, pooling, the linear SVM, evaluation.
        library("StrataFeatures", ["StrataCore", "StrataData", "StrataModels", "StrataDistributed", "StrataTraining"]),
        // Pictures: filter tiles, charts, confusion matrices.
        library("StrataPictures", ["StrataCore", "StrataData", "StrataModels", "StrataTraining", "StrataFeatures", "CCairo"]),
        // Export: ONNX and PyTorch.
        library("StrataExport", ["StrataCore", "StrataData", "StrataModels", "StrataTraining", "StrataFeatures", protobuf]),
        // Pipeline and experiments: the stages as library calls, YAML experiments, tutorials, benchmarks.
        library("StrataPipeline", floors.dropLast().map { .target(name: $0) } + [.product(name: "Yams", package: "Yams")]),
        // The whole library as one import (and its DocC catalog).
        library("Strata", floors.map { .target(name: $0) }),
        // The commands: flags parsed into the library's typed settings, then one library call each.
        .target(
            name: "StrataCommands",
            dependencies: [
                "Strata",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "StrataTool",
            dependencies: ["StrataCommands"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(
            name: "StrataTests",
            dependencies: ["Strata", "StrataCommands", protobuf],
            exclude: ["FuzzRegressions"], // inputs the tests read from the checkout, not resources
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ] + fuzzTargets
)
