import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// How synchronous data parallelism (``DataParallel``) would scale past this
/// machine: each of `machines` computes its step of `computeSeconds` on its
/// own minibatch (weak scaling, as Horovod's figures are), then the ranks
/// combine `bytes` of parameters with a ring allreduce (Patarasuk and Yuan
/// 2009; what Horovod and NCCL use between machines), which sends and
/// receives `2 (M - 1) / M · bytes` per machine in `2 (M - 1)` steps of one
/// link latency each. Strata does not overlap the allreduce with computation,
/// so the step costs their sum; `overlappedEfficiency` is the bound with
/// perfect overlap (PyTorch DDP's bucketed allreduce during the backward pass).
public struct ScalingModel: Sendable {
    /// One step's computation on one machine, in seconds.
    public var computeSeconds: Double
    /// Bytes each machine contributes to the allreduce per step.
    public var bytes: Double
    /// One message's latency, in seconds (about 25 µs on Ethernet with TCP).
    public var latencySeconds: Double

    public init(computeSeconds: Double, bytes: Double, latencySeconds: Double = 25e-6) {
        (self.computeSeconds, self.bytes, self.latencySeconds) = (computeSeconds, bytes, latencySeconds)
    }

    /// The ring allreduce's time among `machines` on links of `gigabitsPerSecond`.
    public func allreduceSeconds(machines: Int, gigabitsPerSecond: Double) -> Double {
        guard machines > 1 else { return 0 }
        let m = Double(machines)
        return 2 * (m - 1) / m * bytes * 8 / (gigabitsPerSecond * 1e9) + 2 * (m - 1) * latencySeconds
    }

    /// Throughput of `machines` over `machines` times one machine's alone, the allreduce after the step.
    public func efficiency(machines: Int, gigabitsPerSecond: Double) -> Double {
        computeSeconds / (computeSeconds + allreduceSeconds(machines: machines, gigabitsPerSecond: gigabitsPerSecond))
    }

    /// The same with the allreduce wholly hidden behind the computation where it is shorter.
    public func overlappedEfficiency(machines: Int, gigabitsPerSecond: Double) -> Double {
        computeSeconds / max(computeSeconds, allreduceSeconds(machines: machines, gigabitsPerSecond: gigabitsPerSecond))
    }

    /// A Markdown table of both efficiencies for each machine count and link speed.
    public func table(machines: [Int] = [4, 8, 16, 32, 64], links: [Double] = [10, 25]) -> String {
        var lines = ["| machines | " + links.map { "\(Int($0)) Gbit/s: allreduce ms, efficiency (overlapped)" }.joined(separator: " | ") + " |",
                     "|---|" + links.map { _ in "---|" }.joined()]
        for m in machines {
            let cells = links.map { link in
                String(format: "%.2f ms, %.0f%% (%.0f%%)", 1e3 * allreduceSeconds(machines: m, gigabitsPerSecond: link),
                       100 * efficiency(machines: m, gigabitsPerSecond: link), 100 * overlappedEfficiency(machines: m, gigabitsPerSecond: link))
            }
            lines.append("| \(m) | " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }
}
