import Foundation
import StrataCore
import StrataModels
import StrataDistributed

extension FineTuningConfiguration {
    /// Every technique in force, in words, for the run's header: the update
    /// rule and its learning rate (L-BFGS: its line search, and the chunks its
    /// full-batch gradient is summed in), then batch norm, dropout, weight decay, the
    /// column-norm limit, augmentation and distillation when they are on.
    public var techniques: [String] {
        var list = [optimizerWords]
        if case .lbfgs = sgd.optimizer {
            list += ["a line search instead of a learning rate", "the gradient summed in chunks of \(sgd.batchSize)"]
        } else {
            list += ["learning rate \(sgd.learningRate) (\(scheduleWords))", "batch \(sgd.batchSize)"]
        }
        if batchNorm { list.append("batch norm") }
        if inputDropout > 0 || hiddenDropout > 0 {
            list.append("dropout " + [inputDropout > 0 ? "input \(inputDropout)" : nil, hiddenDropout > 0 ? "hidden \(hiddenDropout)" : nil].compactMap { $0 }.joined(separator: ", "))
        }
        if sgd.weightDecay > 0 { list.append("weight decay \(sgd.weightDecay)") }
        if let maxColumnNorm { list.append("max column norm \(maxColumnNorm)") }
        if augmentation.isActive {
            let parts = [augmentation.flip ? "flips" : nil, augmentation.shift > 0 ? "shifts of up to \(augmentation.shift) px (\(augmentation.padding.rawValue) padding)" : nil]
            list.append("augmentation: " + parts.compactMap { $0 }.joined(separator: " and "))
        }
        if let teacher { list.append("distillation from \(teacher) (T \(temperature), soft weight \(softWeight))") }
        return list
    }

    var optimizerWords: String {
        switch sgd.optimizer {
        case .momentum: "SGD with momentum \(sgd.initialMomentum) to \(sgd.finalMomentum) by epoch \(sgd.momentumSaturateEpoch)"
        case .nesterov: "SGD with Nesterov momentum \(sgd.initialMomentum) to \(sgd.finalMomentum) by epoch \(sgd.momentumSaturateEpoch)"
        case .adam(let b1, let b2, let eps): "Adam (beta1 \(b1), beta2 \(b2), epsilon \(eps))"
        case .lbfgs(let memory): "L-BFGS (full batch, \(memory) pairs)"
        }
    }

    var scheduleWords: String {
        switch schedule {
        case .constant: "constant"
        case .exponentialDecay(let factor, _) where factor == 1: "constant"
        case .exponentialDecay(let factor, let minimum): "times \(factor) each epoch" + (minimum > 0 ? ", at least \(minimum)" : "")
        case .linearDecay(let fraction, let epoch): "linear to \(fraction) of itself by epoch \(epoch)"
        case .monitorBased: "adjusted by the monitor"
        }
    }
}

extension DistributedMode {
    /// How `ranks` processes share a run, for the header under `mpirun`;
    /// Downpour's server on `shards` ranks, pushes older than `maxStaleness` updates dropped (0: kept).
    public func describe(ranks: Int, shards: Int = 1, maxStaleness: Int = 0) -> String {
        switch self {
        case .synchronous: return "synchronous data parallelism over \(ranks) ranks (each step's gradients averaged across them)"
        case .downpour(let fetch, let push):
            let server = shards == 1 ? "rank 0 also serves the parameters" : "the parameters served in \(shards) shards by ranks 0-\(min(shards, ranks) - 1)"
            let staleness = maxStaleness > 0 ? "; pushes more than \(maxStaleness) server updates old dropped" : ""
            return "Downpour SGD over \(ranks) rank\(ranks == 1 ? "" : "s") (\(server); each replica fetches every \(fetch) and pushes every \(push) steps\(staleness))"
        }
    }
}
