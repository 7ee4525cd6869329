import StrataCore
import StrataData

/// Local stages (``LocalFeatureStage``: locally connected filters, L2
/// pooling, local contrast normalization) at the bottom of a
/// ``SoftmaxNetwork``, fine-tuned by backpropagation with the layers above
/// them, as Le et al. (2012) fine-tune their unsupervised network for
/// ImageNet: only the encoders train (the decoders served the unsupervised
/// objective); pooling and normalization are fixed functions.
///
/// Shapes: `(n, stages[0].visibleCount)` in, `(n, stages.last.hiddenCount)`
/// out. Made from whole stages; split across processes by image rows
/// (``SoftmaxNetwork/splitting(_:)``), each part fine-tunes its rows of every
/// stage and the layers above stay whole on every part: one process's bits.
public struct LocalFront: Sendable {
    /// The stages, bottom first.
    public package(set) var stages: [LocalFeatureStage]
    /// Each stage's encoder momentum (Adam's first moment), shaped as its encoder.
    package var velocities: [Tensor]
    /// Each stage's encoder gradient and, above the bottom stage, its
    /// input's, kept between steps (``backward(_:)`` writes them in place).
    var encoderGradients: [Tensor] = [], inputGradients: [Tensor?] = []

    /// The front of `stages`, which must be whole and feed each other.
    public init(stages: [LocalFeatureStage]) throws {
        guard !stages.isEmpty else { throw StrataError.invalidArgument(name: "local stages", reason: "a front needs at least one stage") }
        for (i, stage) in stages.enumerated() {
            guard !stage.isPartial else {
                throw StrataError.invalidArgument(name: "local stages", reason: "stage \(i + 1) is one part of a split stage; fine-tuning takes whole stages")
            }
            if i > 0, stage.visibleCount != stages[i - 1].hiddenCount {
                throw StrataError.shapeMismatch(context: "local stage \(i + 1) reading stage \(i)", expected: [stages[i - 1].hiddenCount], found: [stage.visibleCount])
            }
        }
        self.stages = stages
        velocities = stages.map { Tensor(zeros: $0.encoder.shape) }
    }

    public var inputCount: Int { stages[0].visibleCount }
    public var outputCount: Int { stages[stages.count - 1].hiddenCount }
    /// `local(FIELD/STRIDE x MAPS)` per stage, for a network's sizes line.
    public var description: String {
        stages.map { "local(\($0.geometry.field)/\($0.geometry.stride)x\($0.geometry.maps))" }.joined(separator: "-")
    }

    /// The checkpoint and optimizer name of stage `i`'s encoder.
    public static func parameterName(_ i: Int) -> String { "stage\(i).encoder" }

    /// The front's output for `x`.
    public func forward(_ x: Tensor) -> Tensor {
        stages.reduce(x) { $1.transform($0) }
    }

    /// ``forward(_:)``, each stage keeping in its scratch what ``backward(_:)`` reads.
    mutating func forwardTraining(_ x: Tensor) -> Tensor {
        var a = x
        for i in stages.indices { a = stages[i].output(a) }
        return a
    }

    /// The gradient of each stage's encoder (bottom first) for `gradient` at
    /// the front's output, after ``forwardTraining(_:)``; no gradient is
    /// taken for the bottom stage's input.
    mutating func backward(_ gradient: Tensor) -> [Tensor] {
        let n = gradient.rows
        if encoderGradients.count != stages.count { encoderGradients = zeroGradients }
        if inputGradients.count != stages.count { inputGradients = Array(repeating: nil, count: stages.count) }
        for i in stages.indices.dropFirst() where inputGradients[i]?.rows != n { inputGradients[i] = Tensor(zeros: [n, stages[i].visibleCount]) }
        for i in stages.indices.reversed() {
            let upstream = i == stages.count - 1 ? gradient : inputGradients[i + 1]!
            stages[i].backwardAfterOutput(upstream, encoderGradient: &encoderGradients[i], inputGradient: &inputGradients[i])
        }
        return encoderGradients
    }

    /// Zero gradients of the encoders' shapes.
    package var zeroGradients: [Tensor] { stages.map { Tensor(zeros: $0.encoder.shape) } }

    /// Each encoder in place, bottom first: parameters a Downpour server holds.
    package mutating func forEachEncoder(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        for i in stages.indices { stages[i].encoder.withUnsafeMutableBufferPointer { body($0) } }
    }

    /// One update of every encoder from its gradient by `hyper`'s rule, weight decay included.
    mutating func update(_ gradients: ArraySlice<(weights: Tensor, bias: Tensor)>, _ hyper: StepHyperparameters, state: inout OptimizerState) {
        for (i, gradient) in zip(stages.indices, gradients) {
            hyper.update(&stages[i].encoder, gradient: gradient.weights, velocity: &velocities[i], name: Self.parameterName(i), state: &state, decay: hyper.weightDecay)
        }
    }

    /// Whether the stages are split across processes (by image rows, each part its own rows).
    public var isSplit: Bool { stages.contains(where: \.isPartial) }

    /// This whole front with each stage cut to `exchange`'s part by image
    /// rows (``LocalStagePartition``): its positions' encoder, momentum and
    /// Adam moments (`moments`, by ``parameterName(_:)``). The layers above
    /// stay whole on every part. Throws when a stage cannot be split so.
    package func partitioned(_ exchange: any ModelPartExchange, moments: inout [String: Tensor]) throws -> LocalFront {
        var front = self
        for i in stages.indices {
            front.stages[i] = try stages[i].partitioned(exchange)
            front.velocities[i] = front.stages[i].cutToPart(velocities[i])
            if let moment = moments[Self.parameterName(i)] { moments[Self.parameterName(i)] = front.stages[i].cutToPart(moment) }
        }
        (front.encoderGradients, front.inputGradients) = ([], [])
        return front
    }

    /// This split front whole on every part, with its momentum and Adam
    /// moments (`moments`). Collective.
    package func gatheredOnEveryPart(moments: inout [String: Tensor]) -> LocalFront {
        var front = self
        for i in stages.indices {
            front.velocities[i] = stages[i].gatheredOnEveryPart(velocities[i])
            if let moment = moments[Self.parameterName(i)] { moments[Self.parameterName(i)] = stages[i].gatheredOnEveryPart(moment) }
            front.stages[i] = stages[i].wholeOnEveryPart()
        }
        (front.encoderGradients, front.inputGradients) = ([], [])
        return front
    }

    /// Writes `file` (a checkpoint of a network over this split front,
    /// under its names) as the whole network's file: on the first part to
    /// `path`, each stage's tensors held by position (encoder, momentum, best
    /// encoder, Adam's moment) made from the parts' rows while the file is
    /// written, a piece at a time, so no part holds a whole one; the other
    /// parts serve theirs and write nothing. Collective.
    package func writeWhole(_ file: SafeTensors, to path: String) throws {
        guard let exchange = stages.first?.exchange else { return try file.write(to: path) }
        var stageOf: [String: Int] = [:] // a tied stage's tensors are alike on every part: the first part's own
        for i in stages.indices where !stages[i].configuration.tied {
            for prefix in ["", "velocity.", "best.", "adam."] where file.tensors[prefix + Self.parameterName(i)] != nil { stageOf[prefix + Self.parameterName(i)] = i }
        }
        try exchange.writeWhole(file, streaming: stageOf.keys.sorted(), to: path) { index, name in
            try stages[stageOf[name]!].streamedWhole(file.tensors[name]!, index: index)
        }
    }

    /// Stage `i`'s encoder replaced by `encoder` (a checkpoint's, `what` in errors), of the same shape.
    package mutating func setEncoder(_ i: Int, _ encoder: Tensor, what: String) throws {
        guard encoder.shape == stages[i].encoder.shape else {
            throw StrataError.shapeMismatch(context: "\(what): local stage \(i + 1)'s encoder", expected: stages[i].encoder.shape, found: encoder.shape)
        }
        stages[i].encoder = encoder
    }
}
