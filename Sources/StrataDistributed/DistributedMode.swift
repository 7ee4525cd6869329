import Foundation
import StrataCore
import StrataData
import StrataModels

/// How the ranks of an `mpirun` job train one model together (in a single
/// process this does nothing): `sync`, synchronous data parallelism
/// (``DataParallel``, ``GradientAverage``: every step combined, the default),
/// or `async:FETCH:PUSH`, Downpour SGD (``Downpour``: replicas fetch the
/// server's parameters every FETCH steps and push their accrued gradients
/// every PUSH steps; bare `async` is `async:1:1`).
public enum DistributedMode: Equatable, Codable, Sendable {
    case synchronous
    case downpour(fetchEvery: Int, pushEvery: Int)

    /// `sync`, `async` or `async:FETCH:PUSH`.
    public init(parsing text: String) throws {
        let (word, numbers) = splitComposite(text)
        let usage = "expected sync, async or async:FETCH:PUSH with FETCH and PUSH whole numbers of steps from 1 (got '\(text)')"
        switch word {
        case "sync" where numbers.isEmpty: self = .synchronous
        case "async" where numbers.isEmpty: self = .downpour(fetchEvery: 1, pushEvery: 1)
        case "async" where numbers.count == 2:
            guard let fetch = Int(numbers[0]), let push = Int(numbers[1]), fetch >= 1, push >= 1 else { throw SettingError(usage) }
            self = .downpour(fetchEvery: fetch, pushEvery: push)
        default: throw SettingError(usage)
        }
    }

    /// The text form ``init(parsing:)`` reads.
    public var text: String {
        switch self {
        case .synchronous: "sync"
        case .downpour(let fetch, let push): "async:\(fetch):\(push)"
        }
    }
}
