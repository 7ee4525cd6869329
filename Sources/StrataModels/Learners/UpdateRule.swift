import StrataCore
import StrataData

/// The hyperparameters of one SGD step, set by the trainer's schedules.
public struct StepHyperparameters: Sendable {
    public var learningRate: Float
    public var momentum: Float
    /// L2 weight decay coefficient, applied to weight matrices (not biases).
    public var weightDecay: Float
    /// Cores the step may split itself over. With 2 or more, contrastive
    /// divergence and autoencoder steps with SGD (plain or with momentum)
    /// split the batch's rows and then the weight matrix's rows (update) over
    /// the cores, with single-threaded GEMMs: at training shapes this beats
    /// OpenBLAS's own two threads.
    public var cores: Int
    /// How the gradient becomes an update (SGD with momentum, Nesterov, Adam).
    public var optimizer: Optimizer
    /// When set, random numbers are drawn per example (``ExampleStreams``):
    /// row i of the batch is example `firstExample + i` of the step's global
    /// batch (data-parallel training sets it to the rank's first row). Nil:
    /// drawn per part of the batch, as a single process always has.
    public var firstExample: Int?
    /// With ``firstExample``: the examples of the epoch before this step's
    /// global batch, so that `epochPosition + firstExample + i` numbers an
    /// example within its epoch (K-means' reservoir draws by it).
    public var epochPosition = 0

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, cores: Int = 1, optimizer: Optimizer = .momentum) {
        (self.learningRate, self.momentum, self.weightDecay, self.cores, self.optimizer) = (learningRate, momentum, weightDecay, cores, optimizer)
    }

    /// These settings for a step after `epochPosition` examples of the epoch.
    package func at(epochPosition: Int) -> StepHyperparameters {
        var step = self
        step.epochPosition = epochPosition
        return step
    }
}

/// One SGD-with-momentum update (pylearn2's convention):
/// `v = momentum v - lr (g + decay theta)`, then `theta += v`.
func sgdUpdate(_ parameter: inout Tensor, gradient: Tensor, velocity: inout Tensor,
               learningRate: Float, momentum: Float, decay: Float = 0) {
    let count = parameter.count
    parameter.withUnsafeMutableBufferPointer { p in
        velocity.withUnsafeMutableBufferPointer { v in
            gradient.withUnsafeBufferPointer { g in
                guard let p = p.baseAddress, let v = v.baseAddress, let g = g.baseAddress else { return }
                forEachElementPart(count) { range in
                    momentumLoop(p: p + range.lowerBound, v: v + range.lowerBound, g: g + range.lowerBound, count: range.count,
                                 learningRate: learningRate, momentum: momentum, decay: decay)
                }
            }
        }
    }
}

/// ``sgdUpdate(_:gradient:velocity:learningRate:momentum:decay:)`` over
/// `count` values, eight at a time (the same arithmetic in the scalar tail).
private func momentumLoop(p: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, count: Int,
                          learningRate: Float, momentum: Float, decay: Float) {
    var i = 0
    while i + 8 <= count {
        let pv = UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self)
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: Float8.self)
        let step = momentum * UnsafeRawPointer(v + i).loadUnaligned(as: Float8.self) - learningRate * (gv + decay * pv)
        UnsafeMutableRawPointer(v + i).storeBytes(of: step, as: Float8.self)
        UnsafeMutableRawPointer(p + i).storeBytes(of: pv + step, as: Float8.self)
        i += 8
    }
    while i < count {
        let step = momentum * v[i] - learningRate * (g[i] + decay * p[i])
        v[i] = step
        p[i] += step
        i += 1
    }
}

/// Runs `body` on consecutive ranges covering `0..<count`, spread over the
/// active cores (``FixedParts``): an element-wise update of a large
/// parameter buffer (a fine-tuned network's 1,000 x 1,000 weights), which
/// would otherwise run on one core while the others wait. Each range but
/// the last is a multiple of 64 elements long and at least 32,768, and each
/// element's arithmetic is the same whatever the split: the result does not
/// depend on the core count.
func forEachElementPart(_ count: Int, _ body: (Range<Int>) -> Void) {
    let blocks = count / 64
    let parts = FixedParts.count(blocks, minimum: 512)
    guard parts > 1 else { return body(0 ..< count) }
    FixedParts.run(parts) { part in
        let r = FixedParts.range(part, of: parts, extent: blocks)
        body(r.lowerBound * 64 ..< (part == parts - 1 ? count : r.upperBound * 64))
    }
}

/// Ensures `tensor` has shape `[rows, columns]`, reallocating only when the
/// batch size changes (scratch buffers of the training step).
@inline(__always)
func ensureShape(_ tensor: inout Tensor, _ rows: Int, _ columns: Int) {
    if tensor.shape != [rows, columns] { tensor = Tensor(zeros: [rows, columns]) }
}

/// A learner's first weights: `(visible, hidden)` uniform in [-irange, irange],
/// drawn from a generator seeded with `seed` that the caller may draw on further
/// (an untied decoder). RBMs and autoencoders start the same way (pylearn2's `irange`).
func initialWeights(visible: Int, hidden: Int, irange: Float, seed: UInt64) -> (weights: Tensor, random: RandomSource) {
    var random = RandomSource(seed: seed)
    let weights = Tensor.uniform(shape: [visible, hidden], low: -irange, high: irange, using: &random)
    return (weights, random)
}
