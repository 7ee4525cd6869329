import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataTraining
import StrataFeatures

/// An ``InferencePlan`` for PyTorch: a safetensors file whose tensor names are
/// the state dict of an `nn.Sequential` (`0.weight`, `3.mean`, ...) and a
/// short generated Python module that builds that `nn.Sequential` and loads
/// the file. A layer is an `nn.Linear` (its weight transposed to PyTorch's
/// `(out, in)`) followed by `nn.Sigmoid`/`nn.Tanh`/`nn.ReLU`; preprocessing,
/// windows, the soft threshold and pooling are small modules defined in the
/// generated file, their fitted tensors registered as buffers.
public enum TorchExport {
    /// The state dict and the Python source of the module that loads it from
    /// `weightsFile` (a name beside the module).
    public static func files(_ plan: InferencePlan, weightsFile: String) -> (stateDict: SafeTensors, module: String) {
        var writer = SequentialWriter()
        let sequence = writer.entries(plan.steps, prefix: "")
        var file = SafeTensors(tensors: writer.tensors, metadata: ["format": "pt", "class_names": encodeJSON(plan.classNames)])
        file.metadata["strata"] = plan.summary
        let definitions = (moduleDefinitions + localStageDefinitions).filter { writer.kinds.contains($0.name) }.map(\.source).joined(separator: "\n\n")
        return (file, module(plan, weightsFile: weightsFile, definitions: definitions, sequence: sequence))
    }

    /// The `nn.Sequential` entries of a plan's steps, with the tensors they
    /// hold (named under their entry's index) and the module classes they use.
    struct SequentialWriter {
        var tensors: [String: Tensor] = [:]
        var kinds = Set<String>()

        /// The entries of `steps`, their tensors named under `prefix` (the entry's index follows it).
        mutating func entries(_ steps: [InferencePlan.Step], prefix: String) -> [String] {
            var lines: [String] = []
            func add(_ line: String, kind: String? = nil, buffers: [String: Tensor] = [:]) {
                for (name, tensor) in buffers { tensors["\(prefix)\(lines.count).\(name)"] = tensor }
                if let kind { kinds.insert(kind) }
                lines.append(line)
            }
            for step in steps {
                if case .branches(let chains) = step {
                    let index = lines.count
                    let inner = chains.enumerated().map { c, chain in
                        "nn.Sequential(" + entries(chain, prefix: "\(prefix)\(index).chains.\(c).").joined(separator: ", ") + ")"
                    }
                    add("Branches(" + inner.joined(separator: ", ") + ")", kind: "Branches")
                } else {
                    Self.entry(step) { add($0, kind: $1, buffers: $2) }
                }
            }
            return lines
        }

        /// The entries of one step (not `branches`), handed to `add`.
        static func entry(_ step: InferencePlan.Step, _ emit: (String, String?, [String: Tensor]) -> Void) {
            func add(_ line: String, kind: String? = nil, buffers: [String: Tensor] = [:]) { emit(line, kind, buffers) }
            switch step {
        case .scale(let factor):
            add("Scale(\(python(factor)))", kind: "Scale")
        case .binarize:
            add("Binarize()", kind: "Binarize")
        case .contrastNormalize(let g):
            add("ContrastNormalize(\(python(g.scale)), \(python(g.subtractMean)), \(python(g.useStd)), \(python(g.sqrtBias)), \(python(g.minDivisor)))",
                kind: "ContrastNormalize")
        case .removeRowMean:
            add("RemoveRowMean()", kind: "RemoveRowMean")
        case .subtract(let v): // x * 1 + (-mean) is x - mean to the bit
            add("ColumnAffine(\(v.count))", kind: "ColumnAffine",
                buffers: ["scale": Tensor(shape: [v.count], scalars: [Float](repeating: 1, count: v.count)), "shift": v.reshaped([v.count]) * -1])
        case .multiplyColumns(let v):
            add("ColumnAffine(\(v.count))", kind: "ColumnAffine", buffers: ["scale": v.reshaped([v.count]), "shift": Tensor(zeros: [v.count])])
        case .project(let p):
            add("Project(\(p.rows), \(p.columns))", kind: "Project", buffers: ["matrix": p])
        case .dense(let layer):
            add("nn.Linear(\(layer.inputCount), \(layer.weights.columns))", buffers: ["weight": layer.weights.transposed(), "bias": layer.bias])
            switch layer.activation {
            case .maxout: add("Maxout(\(layer.pieces))", kind: "Maxout")
            case .sigmoid: add("nn.Sigmoid()")
            case .tanh: add("nn.Tanh()")
            case .relu: add("nn.ReLU()")
            case .leakyRelu: add("nn.LeakyReLU(\(python(Activation.leakySlope)))")
            case .linear: break
            }
        case .centroids(let c, let hard):
            add("Centroids(\(c.rows), \(c.columns), \(python(hard)))", kind: "Centroids", buffers: ["centroids": c])
        case .softThreshold(let dictionary, let alpha):
            add("SoftThreshold(\(dictionary.rows), \(dictionary.columns), \(python(alpha)))", kind: "SoftThreshold", buffers: ["dictionary": dictionary])
        case .patches(let indices, let positions, let size):
            add("Windows(\(positions), \(size))", kind: "Windows",
                buffers: ["indices": Tensor(shape: [positions, size], scalars: indices.map(Float.init))])
        case .pool(let regionOf, let regions, let operation):
            add("Pool(\(regionOf.count), \(regions), \"\(operation.rawValue)\")", kind: "Pool",
                buffers: ["region_of": Tensor(shape: [regionOf.count], scalars: regionOf.map(Float.init))])
        case .localStage(let stage):
            let (name, arguments, buffers) = localStage(stage)
            add("\(name)(\(arguments))", kind: name, buffers: buffers)
        case .softmax:
            add("nn.Softmax(dim=1)")
            case .branches: break
            }
        }
    }

    /// The Python module that builds the network and loads its tensors from `weightsFile`.
    static func module(_ plan: InferencePlan, weightsFile: String, definitions: String, sequence: [String]) -> String {
        """
            \"\"\"A Strata classifier for PyTorch: \(plan.summary).

            Generated by `strata export --format torch`. The weights are in \(weightsFile)
            beside this file, under nn.Sequential's state-dict names.

                import torch
                model = load()                                  # this module's load()
                scores = model(torch.from_numpy(pixels))        # pixels: (n, \(plan.inputCount)) float32
                labels = scores.argmax(dim=1)

            `pixels` are the raw values as Strata loads them (before its pixel scale),
            row-major, one example per row. Scores are \(plan.scoresAreProbabilities ? "class probabilities" : "the SVM's decision values").
            \"\"\"
            import os

            import torch
            from torch import nn
            from safetensors.torch import load_file

            CLASS_NAMES = \(encodeJSON(plan.classNames))
            INPUT_VALUES = \(plan.inputCount)


            \(definitions)


            def build():
                \"\"\"The network, with placeholder tensors.\"\"\"
                return nn.Sequential(
            \(sequence.map { "        " + $0 + "," }.joined(separator: "\n"))
                )


            def load(path=None):
                \"\"\"The network with its trained tensors, in evaluation mode.\"\"\"
                path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), \(encodeJSON(weightsFile)))
                model = build()
                model.load_state_dict(load_file(path), strict=True)
                return model.eval()

            """
    }

    /// A Swift number as Python reads it back: Float's shortest round-trip form.
    private static func python(_ value: Float) -> String { "\(value)" }
    private static func python(_ value: Bool) -> String { value ? "True" : "False" }

    /// The small modules the generated file may need, each only when used.
    private static let moduleDefinitions: [(name: String, source: String)] = [
        ("Branches", """
            class Branches(nn.Module):
                \"\"\"Every chain on the same input, their outputs side by side.\"\"\"
                def __init__(self, *chains):
                    super().__init__()
                    self.chains = nn.ModuleList(chains)

                def forward(self, x):
                    return torch.cat([chain(x) for chain in self.chains], dim=1)
            """),
        ("Scale", """
            class Scale(nn.Module):
                def __init__(self, factor):
                    super().__init__()
                    self.factor = factor

                def forward(self, x):
                    return x * self.factor
            """),
        ("Binarize", """
            class Binarize(nn.Module):
                \"\"\"1 above the midpoint of the batch's smallest and largest value, else 0.\"\"\"
                def forward(self, x):
                    return (x > (x.min() + x.max()) / 2).to(x.dtype)
            """),
        ("ContrastNormalize", """
            class ContrastNormalize(nn.Module):
                \"\"\"Global contrast normalization of each row (pylearn2's GlobalContrastNormalization).\"\"\"
                def __init__(self, scale, subtract_mean, use_std, sqrt_bias, min_divisor):
                    super().__init__()
                    self.scale, self.subtract_mean, self.use_std = scale, subtract_mean, use_std
                    self.sqrt_bias, self.min_divisor = sqrt_bias, min_divisor

                def forward(self, x):
                    centered = x - x.mean(dim=1, keepdim=True)
                    base = centered if (self.use_std or self.subtract_mean) else x
                    spread = (base * base).sum(dim=1, keepdim=True)
                    if self.use_std:
                        spread = spread / (x.shape[1] - 1)
                    divisor = torch.sqrt(spread + self.sqrt_bias) / self.scale
                    divisor = torch.where(divisor < self.min_divisor, torch.ones_like(divisor), divisor)
                    return (centered if self.subtract_mean else x) / divisor
            """),
        ("Centroids", """
            class Centroids(nn.Module):
                \"\"\"Distances to K-means centroids: the triangle encoding max(0, mean(z) - z), or one-hot nearest.\"\"\"

                def __init__(self, rows, columns, hard):
                    super().__init__()
                    self.register_buffer("centroids", torch.zeros(rows, columns))
                    self.hard = hard

                def forward(self, x):
                    squared = (x * x).sum(dim=1, keepdim=True) - 2 * (x @ self.centroids) + (self.centroids * self.centroids).sum(dim=0)
                    squared = squared.clamp(min=0)
                    if self.hard:
                        return nn.functional.one_hot(squared.argmin(dim=1), self.centroids.shape[1]).to(x.dtype)
                    z = squared.sqrt()
                    return (z.mean(dim=1, keepdim=True) - z).clamp(min=0)
            """),
        ("Maxout", """
            class Maxout(nn.Module):
                \"\"\"Each unit the largest of its `pieces` adjacent linear pieces (Goodfellow et al. 2013).\"\"\"

                def __init__(self, pieces):
                    super().__init__()
                    self.pieces = pieces

                def forward(self, x):
                    return x.view(x.shape[0], -1, self.pieces).amax(dim=2)
            """),
        ("RemoveRowMean", """
            class RemoveRowMean(nn.Module):
                def forward(self, x):
                    return x - x.mean(dim=1, keepdim=True)
            """),
        ("ColumnAffine", """
            class ColumnAffine(nn.Module):
                \"\"\"x * scale + shift, column by column: a mean subtracted (scale 1) or columns multiplied (shift 0).\"\"\"
                def __init__(self, width):
                    super().__init__()
                    self.register_buffer("scale", torch.zeros(width))
                    self.register_buffer("shift", torch.zeros(width))

                def forward(self, x):
                    return x * self.scale + self.shift
            """),
        ("Project", """
            class Project(nn.Module):
                \"\"\"x @ matrix: a ZCA whitening or a PCA projection.\"\"\"
                def __init__(self, rows, columns):
                    super().__init__()
                    self.register_buffer("matrix", torch.zeros(rows, columns))

                def forward(self, x):
                    return x @ self.matrix
            """),
        ("SoftThreshold", """
            class SoftThreshold(nn.Module):
                \"\"\"Coates and Ng's encoder: both polarities of x D, shrunk by alpha.\"\"\"
                def __init__(self, rows, columns, alpha):
                    super().__init__()
                    self.alpha = alpha
                    self.register_buffer("dictionary", torch.zeros(rows, columns))

                def forward(self, x):
                    z = x @ self.dictionary
                    return torch.cat([torch.relu(z - self.alpha), torch.relu(-z - self.alpha)], dim=1)
            """),
        ("Windows", """
            class Windows(nn.Module):
                \"\"\"(n, pixels) -> (n * positions, size): every window, read by pixel index.\"\"\"
                def __init__(self, positions, size):
                    super().__init__()
                    self.size = size
                    self.register_buffer("indices", torch.zeros(positions, size))

                def forward(self, x):
                    return x[:, self.indices.long()].reshape(-1, self.size)
            """),
        ("Pool", """
            class Pool(nn.Module):
                \"\"\"(n * positions, h) -> (n, regions * h), region-major: sum, mean, max or L2 per region.\"\"\"
                def __init__(self, positions, regions, operation):
                    super().__init__()
                    self.positions, self.regions, self.operation = positions, regions, operation
                    self.register_buffer("region_of", torch.zeros(positions))

                def forward(self, x):
                    maps = x.reshape(-1, self.positions, x.shape[1])
                    cells = []
                    for r in range(self.regions):
                        members = maps[:, self.region_of == r]
                        if self.operation == "max":
                            cells.append(members.amax(dim=1))
                        elif self.operation == "l2":
                            cells.append((members * members).sum(dim=1).sqrt())
                        elif self.operation == "mean":
                            cells.append(members.sum(dim=1) * (1.0 / members.shape[1]))
                        else:
                            cells.append(members.sum(dim=1))
                    return torch.cat(cells, dim=1)
            """),
    ]
}
