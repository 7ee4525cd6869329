import StrataCore
import StrataData

/// How a ``SoftmaxNetwork`` is split across processes by hidden units
/// (model parallelism for fully connected layers, as DistBelief splits them):
/// part `r` of `P` holds a band of every hidden layer's units (their weight
/// columns, biases, batch normalization and momentum, a maxout unit's pieces
/// together) and the rows of the softmax layer's weights that read its band
/// of the top hidden layer; the softmax bias is alike on every part.
///
/// A step: each part computes its band of a hidden layer from the whole
/// layer below, and the parts gather the bands (`(n, units)` values) for the
/// next layer; the top layer's band goes straight into its share of the
/// logits, which one sum (`(n, classes)` values) makes whole on every part,
/// so every part holds the loss and its delta. Backward, a band's gradients
/// are its own; the delta of the layer below is a sum over the parts of each
/// band's share (`(n, units below)` values), of which each keeps its band.
/// Dropout masks are drawn at each layer's whole width, so every unit gets the
/// number it gets in one process. The sums are associated differently from
/// one process's products: a split network matches one process to rounding.
public struct NetworkSplit: Sendable {
    /// Each hidden layer's units over the parts.
    public let units: [HiddenUnitBands]
    /// Each hidden layer's weight columns over the parts (its units' pieces).
    public let columns: [HiddenUnitBands]
    public var exchange: any ModelPartExchange { units[0].exchange }
}

extension SoftmaxNetwork {
    /// This whole network cut to `exchange`'s part (``NetworkSplit``). A
    /// network over local stages (``LocalFront``) splits its stages by image
    /// rows instead, the layers above them whole on every part.
    /// - Throws: for a network with no hidden layer, or more parts than a layer has units.
    public func splitting(_ exchange: any ModelPartExchange) throws -> SoftmaxNetwork {
        precondition(split == nil && front?.isSplit != true, "a network is split once, from its whole")
        if let front { // Le et al.'s stages split by image rows; the dense layers above them whole on every part
            var part = self
            part.front = try front.partitioned(exchange, moments: &part.optimizerState.second)
            return part
        }
        guard !hidden.isEmpty else {
            throw StrataError.invalidArgument(name: "model_parallel", reason: "a network with no hidden layer (logistic regression) has no hidden units to split; train it whole")
        }
        let units = try hidden.map { try HiddenUnitBands(hiddenCount: $0.outputCount, exchange: exchange) }
        let split = NetworkSplit(units: units, columns: zip(units, hidden).map { $0.scaled(by: $1.pieces) })
        var part = self
        part.forEachSplitTensor(split) { t, bands, axis in t = HiddenUnitBands.keeping(bands.mine, of: t, hiddenAxis: axis) }
        part.split = split
        return part
    }

    /// The whole network from every part's bands (or every part's rows of
    /// its local stages, which are gathered on every part either way): on
    /// every part, or on the first only (nil on the others). Itself when whole. Collective.
    public func gathered(onEveryPart: Bool) -> SoftmaxNetwork? {
        if let front, front.isSplit {
            var whole = self
            whole.front = front.gatheredOnEveryPart(moments: &whole.optimizerState.second)
            return onEveryPart || front.stages[0].exchange?.part == 0 ? whole : nil
        }
        guard let split else { return self }
        var whole = self
        whole.forEachSplitTensor(split) { t, bands, axis in t = bands.gather(t, hiddenAxis: axis, everyPart: onEveryPart) }
        whole.split = nil
        return onEveryPart || split.exchange.part == 0 ? whole : nil
    }

    /// Every tensor the split cuts, in one order on every part, with the
    /// bands it is cut by and the axis its units lie along (1: columns, 0: rows).
    mutating func forEachSplitTensor(_ split: NetworkSplit, _ body: (inout Tensor, HiddenUnitBands, Int) -> Void) {
        for l in hidden.indices {
            let bands = split.columns[l]
            body(&hidden[l].weights, bands, 1)
            body(&velocities[l].weights, bands, 1)
            body(&hidden[l].bias, bands, 0)
            body(&velocities[l].bias, bands, 0)
            guard normalizations[l] != nil else { continue }
            for path in [\BatchNormalization.gamma, \.beta, \.runningMean, \.runningVariance] { body(&normalizations[l]![keyPath: path], bands, 0) }
            body(&normalizationVelocities[l].gamma, bands, 0)
            body(&normalizationVelocities[l].beta, bands, 0)
        }
        // The softmax layer reads the top hidden layer: its weights' rows are that layer's units.
        body(&output.weights, split.units[hidden.count - 1], 0)
        body(&velocities[hidden.count].weights, split.units[hidden.count - 1], 0)
        for name in optimizerState.second.keys.sorted() {
            guard let (bands, axis) = Self.cut(ofMoment: name, split, layers: hidden.count) else { continue }
            body(&optimizerState.second[name]!, bands, axis)
        }
    }

    /// How Adam's moment `name` (`layer<i>.weights`, `layer<i>.bias`, `bn<i>.gamma`, `bn<i>.beta`) is cut; nil: the softmax bias's, whole.
    static func cut(ofMoment name: String, _ split: NetworkSplit, layers: Int) -> (HiddenUnitBands, Int)? {
        let parts = name.split(separator: ".")
        guard parts.count == 2, let l = Int(parts[0].drop { !$0.isNumber }) else { return nil }
        if l == layers { return parts[1] == "weights" ? (split.units[layers - 1], 0) : nil }
        return (split.columns[l], parts[0].hasPrefix("layer") && parts[1] == "weights" ? 1 : 0)
    }

    /// The logits of the top layer's output `a` into `z`: when split, each
    /// part's share summed over the parts, then the bias.
    func outputLogits(_ a: Tensor, into z: inout Tensor) {
        guard let split else { return output.forward(a, into: &z) }
        ensureShape(&z, a.rows, output.outputCount)
        z.formProduct(a, output.weights)
        z.withUnsafeMutableBufferPointer { split.exchange.sum($0) }
        z.addToEachRow(output.bias)
    }

    /// A hidden layer's output as the next layer reads it: every part's band, when split (collective).
    func nextInput(_ a: Tensor, layer l: Int) -> Tensor {
        guard let split, l + 1 < hidden.count else { return a }
        return split.units[l].allHidden(a)
    }

    /// The softmax weights' columns kept to norm `limit`, each column's norm summed over the parts that hold its rows.
    mutating func limitOutputColumnNorms(to limit: Float, over exchange: any ModelPartExchange) {
        var squares = output.weights.columnSquaredNorms()
        squares.withUnsafeMutableBufferPointer { exchange.sum($0) }
        output.weights.scaleColumns(by: squares.map { $0 > limit * limit ? limit / $0.squareRoot() : 1 })
    }
}

extension NetworkSplit {
    /// How the checkpoint tensor `name` of a network of `layers` hidden layers
    /// is cut (`layer<i>.*`, `bn<i>.*`, with `velocity.`, `best.` or `adam.`
    /// before them); nil: whole on every part (the softmax bias, L-BFGS's and
    /// Downpour's state, Adam's count).
    public func cut(ofTensorNamed name: String, layers: Int) -> (HiddenUnitBands, Int)? {
        var base = Substring(name)
        for prefix in ["velocity.", "best.", "adam."] where base.hasPrefix(prefix) { base = base.dropFirst(prefix.count) }
        return SoftmaxNetwork.cut(ofMoment: String(base), self, layers: layers)
    }

    /// Writes `file` (this part's tensors, under a checkpoint's names) as the
    /// whole network's file: on the first part to `path`, each split tensor
    /// made from the parts' bands while it is written
    /// (``HiddenUnitBands/streamed(_:hiddenAxis:index:)``), so the first part
    /// holds a piece of another's band at a time, never a whole tensor; the
    /// other parts serve theirs and write nothing. Collective.
    public func writeWhole(_ file: SafeTensors, layers: Int, to path: String) throws {
        let names = file.tensors.keys.sorted().filter { cut(ofTensorNamed: $0, layers: layers) != nil }
        try exchange.writeWhole(file, streaming: names, to: path) { index, name in
            let (bands, axis) = cut(ofTensorNamed: name, layers: layers)!
            return bands.streamed(file.tensors[name]!, hiddenAxis: axis, index: index)
        }
    }
}
