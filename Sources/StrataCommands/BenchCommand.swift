import ArgumentParser
import Foundation
import Strata

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Strata's speed (build with -c release).",
        subcommands: [GEMM.self, Train.self, Scale.self, Split.self]
    )

    struct GEMM: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gemm",
            abstract: "GFLOP/s of Strata's matrix products beside a direct cblas_sgemm call.",
            discussion: """
                Shapes: squares 256..2048 and the products of a 784-500 RBM or autoencoder step at \
                batch 100 (rbm_up NN, rbm_down NT, rbm_grad TN) and of a GRBM 192-400 step (gb_*). \
                Each figure is the best of --repetitions rounds; the strata and direct rounds alternate. \
                Lines starting `peer=` use the key=value form of the peer benchmarks in shared/bench.
                """
        )

        @Option(help: "Comma-separated BLAS thread counts.")
        var threads = "1,2"

        @Option(help: "Comma-separated shape names (default: all).")
        var shapes: String?

        @Option(help: "Rounds per figure.")
        var repetitions = 7

        func run() throws {
            let threadCounts = try threads.split(separator: ",").map { text -> Int in
                guard let n = Int(text), n >= 1 else { throw ValidationError("--threads takes positive integers, not '\(text)'") }
                return n
            }
            var selected = GEMMBenchmark.standardShapes
            if let shapes {
                let names = shapes.split(separator: ",").map(String.init)
                selected = try names.map { name in
                    guard let shape = GEMMBenchmark.standardShapes.first(where: { $0.name == name }) else {
                        throw ValidationError("unknown shape '\(name)'; known: \(GEMMBenchmark.standardShapes.map(\.name).joined(separator: ", "))")
                    }
                    return shape
                }
            }
            print("shape      m x k x n        op  threads   strata GFLOP/s   cblas_sgemm GFLOP/s   strata/direct")
            var lines: [String] = []
            for t in threadCounts {
                for shape in selected {
                    let r = GEMMBenchmark.measure(shape, threads: t, repetitions: repetitions)
                    let dims = "\(shape.m)x\(shape.k)x\(shape.n)"
                    print(shape.name.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + dims.padding(toLength: 16, withPad: " ", startingAt: 0)
                          + String(format: " %@  %7d   %14.1f   %19.1f   %12.3f", shape.operation, t, r.strataGFLOPS, r.directGFLOPS, r.ratio))
                    lines.append("peer=strata shape=\(shape.name) m=\(shape.m) k=\(shape.k) n=\(shape.n) op=\(shape.operation) threads=\(t) gflops=\(String(format: "%.2f", r.strataGFLOPS)) gflops_median=\(String(format: "%.2f", r.strataMedianGFLOPS)) direct_gflops=\(String(format: "%.2f", r.directGFLOPS)) ratio=\(String(format: "%.4f", r.ratio))")
                }
            }
            print("")
            lines.forEach { print($0) }
        }
    }
}

extension BenchCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Training throughput (examples/s and GFLOP/s) of an RBM, a denoising autoencoder, a GRBM and a fine-tuning network.",
            discussion: """
                rbm784x500: binary RBM, CD-1 with visible probabilities, lr 0.01, on Fashion-MNIST (60000 x 784).
                dae784x500: tied sigmoid denoising autoencoder, masking 0.3, cross-entropy, lr 0.1, on Fashion-MNIST.
                gbrbm192x400: Gaussian-Bernoulli RBM, CD-1, lr 0.001, on 60000 N(0, 1) vectors of 192 values.
                sdae1000x1000: the stacked autoencoder's second layer, a tied sigmoid DAE 1000-1000, masking 0.3, \
                cross-entropy, lr 0.1, momentum 0.5, on 60000 uniform [0, 1) vectors of 1000 values (not in the default list).
                mlp784x1000x1000: the stacked autoencoder's fine-tuning network 784-1000-1000-10 from a random start, \
                sigmoid units, hidden dropout 0.2, lr 0.5, momentum 0.5, on labelled Fashion-MNIST (not in the default list).
                Batch 100, one epoch in order, float32; FLOPs per example: 5 GEMMs x 2 V H \
                (3.92 MFLOP for 784x500, 0.77 MFLOP for 192x400); for the network 2 V H per layer forward, again for \
                each weight gradient and again for each gradient passed down below the first layer (9.20 MFLOP). \
                Quality is measured on the test set, untimed. \
                Lines starting `peer=` match the peer benchmarks' key=value form. \
                Under mpirun (`mpirun -np 2 strata bench train --threads 1`) the ranks train data-parallel: \
                each steps on 100 examples of every global batch of 100 x ranks, the steps combined by an allreduce; \
                the line adds ranks= and comm_seconds= (time spent combining, on rank 0).
                """
        )

        @Option(help: "Comma-separated models: rbm784x500, dae784x500, gbrbm192x400, sdae1000x1000, mlp784x1000x1000.")
        var models = "rbm784x500,dae784x500,gbrbm192x400"
        @Option(help: "Comma-separated BLAS thread counts.")
        var threads = "1,2"
        @Option(help: "Training examples (at most 60000).")
        var examples = 60000
        @Option(help: "Seed of initialization and sampling.")
        var seed: UInt64 = 1

        func run() throws {
            let kinds = try models.split(separator: ",").map { name -> TrainingBenchmark.Model in
                guard let kind = TrainingBenchmark.Model(rawValue: String(name)) else { throw ValidationError("unknown model '\(name)'") }
                return kind
            }
            let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
            let data = try TrainingBenchmark.data(for: kinds, examples: examples)
            for t in threadCounts {
                for kind in kinds {
                    let result = try TrainingBenchmark.run(kind, data[kind]!, threads: t, seed: seed, world: MPIWorld.current)
                    print(result.line)
                }
            }
        }
    }
}

extension BenchCommand {
    struct Scale: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scale",
            abstract: "A data-parallel step's computation and communication, and how it would scale to 4-64 machines.",
            discussion: """
                For the RBM 784-500 (plain SGD: 1.57 MB of parameters combined per step) and a stacked autoencoder's \
                1000-1000 layer (momentum: parameters and velocities, 8 MB): one step of 100 examples timed on this \
                machine, and under mpirun (`mpirun -np 2 strata bench scale --threads 1`) the ranks' combining timed \
                too. Then a model of M machines, each computing its own step of 100 and combining by ring allreduce \
                over 10 and 25 Gbit/s links (25 µs per message): efficiency = compute / (compute + allreduce), and in \
                parentheses the bound with the allreduce hidden behind the computation.
                """
        )

        @Option(help: "Cores per rank for the step.")
        var threads = 2
        @OptionGroup var link: LinkOptions

        func run() throws {
            let latency = link.latency
            for layer in ScalingBenchmark.Layer.allCases {
                let m = try settingsFailure { try ScalingBenchmark.measure(layer, threads: threads, world: MPIWorld.current) }
                print(m.line)
                let model = ScalingModel(computeSeconds: m.computeSeconds, bytes: Double(m.bytes), latencySeconds: latency * 1e-6)
                print("\(layer.rawValue), \(threads) thread(s) per machine, 100 examples per machine and step:")
                print(model.table())
            }
        }
    }

    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "split",
            abstract: "A locally connected stage's training step here, and how splitting it over 1-64 machines would scale.",
            discussion: """
                Times steps of 100 examples of the high_level_features tutorial's first stage (28x28 images, 8x8 fields \
                at stride 2, 16 maps, L2 pools of 3, LCN of 5) in this process, and the multiply-adds per second that gives. \
                Then the cost model of a split by image rows (ModelParallelCostModel): compute / P + the border values a \
                part sends / bandwidth + 4 latencies, over 1 and 10 Gbit/s links, for that stage and for the first stage \
                of Le et al. (2012) (200x200x3 images, 18x18 fields, 8 maps).
                """
        )

        @Option(help: "Steps to time.")
        var steps = 50
        @OptionGroup var link: LinkOptions

        func run() throws {
            let compute = try ComputeOptions.compute(threads: nil)
            compute.apply()
            try settingsFailure {
                try LocalStageBenchmark.report(steps: steps, cores: compute.cores, latencySeconds: link.latency * 1e-6).forEach { print($0) }
            }
        }
    }
}

/// The network the scaling models assume.
struct LinkOptions: ParsableArguments {
    @Option(help: "Link latency for the model, microseconds.")
    var latency = 25.0

    func validate() throws {
        guard latency >= 0, latency.isFinite else { throw ValidationError("--latency takes a non-negative number of microseconds") }
    }
}
