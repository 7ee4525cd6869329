import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed

/// L-BFGS's memory in a fine-tuning checkpoint: the current gradient
/// (`lbfgs.gradient`) and the pairs (`lbfgs.s<i>`, `lbfgs.y<i>`, oldest
/// first) as tensors, the objective (exactly, as a Double), the pair count,
/// the memory and the evaluations made in the metadata (`lbfgs`), so a
/// resumed run takes the very steps the uninterrupted run would.
extension LBFGS {
    private struct Record: Codable {
        var memory: Int
        var objective: Double
        var pairs: Int
        var evaluations: Int
    }

    /// Writes this solver's state into `file` (nothing before its first evaluation).
    func store(in file: inout SafeTensors) {
        guard let objective else { return }
        file.metadata["lbfgs"] = encodeJSON(Record(memory: memory, objective: objective, pairs: steps.count, evaluations: evaluations))
        file.tensors["lbfgs.gradient"] = Tensor(shape: [gradient.count], scalars: gradient)
        for (i, (s, y)) in zip(steps, changes).enumerated() {
            file.tensors["lbfgs.s\(i)"] = Tensor(shape: [s.count], scalars: s)
            file.tensors["lbfgs.y\(i)"] = Tensor(shape: [y.count], scalars: y)
        }
    }

    /// The solver `file` (at `path`) holds, checked against a network of
    /// `parameters` values; nil when the checkpoint has none.
    init?(stored file: SafeTensors, path: String, parameters: Int) throws {
        guard let text = file.metadata["lbfgs"] else { return nil }
        let record: Record
        do { record = try decodeJSON(Record.self, text, what: "lbfgs") } catch StrataError.badKey(_, let key, let reason) {
            throw StrataError.badKey(path: path, key: "__metadata__." + key, reason: reason)
        }
        guard (1 ... 100).contains(record.memory), (0 ... record.memory).contains(record.pairs), record.evaluations >= 1, record.objective.isFinite else {
            throw StrataError.badKey(path: path, key: "__metadata__.lbfgs", reason: "needs a memory of 1 to 100 pairs, at most that many pairs, at least one evaluation and a finite objective")
        }
        func vector(_ name: String) throws -> [Float] {
            let t = try file.tensor(name, in: path)
            guard t.count == parameters else {
                throw StrataError.shapeMismatch(context: "\(path): \(name) (one value per parameter of the network)", expected: [parameters], found: t.shape)
            }
            return t.scalars
        }
        self.init(memory: record.memory)
        (objective, gradient, evaluations) = (record.objective, try vector("lbfgs.gradient"), record.evaluations)
        for i in 0 ..< record.pairs {
            steps.append(try vector("lbfgs.s\(i)"))
            changes.append(try vector("lbfgs.y\(i)"))
        }
    }
}
