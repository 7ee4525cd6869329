import Dispatch
import Foundation
import Synchronization

/// A fixed team of threads that runs one task per core and joins by spinning.
///
/// A training step of about a millisecond forks and joins twice (the batch's
/// rows, then the weight matrix's rows). Dispatch's `concurrentPerform` wakes
/// its workers through the kernel, which costs tens of microseconds a fork
/// and leaves a core idle meanwhile; a team's workers wait for the next task
/// by watching a counter, so a fork-join costs well under a microsecond.
/// Workers that see no task for a while (0.2 ms) park on a condition
/// variable, so an idle team uses no CPU.
public final class CoreTeam: @unchecked Sendable {
    /// The number of tasks a round runs: the caller plus `size - 1` workers.
    public let size: Int

    /// How long a worker watches for the next task before it parks.
    static let idleSpin: UInt64 = 200_000   // nanoseconds

    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let parking = NSCondition()
    // Written by the caller before `generation` is advanced (a releasing
    // store) and read by workers after they see the new value (acquiring).
    private var task: ((Int) -> Void)?

    private static let registry = Mutex<[Int: CoreTeam]>([:])

    /// The team of `size` threads (the caller counts as one), created on
    /// first use and kept for the life of the process.
    public static func team(size: Int) -> CoreTeam {
        registry.withLock { teams in
            if let team = teams[size] { return team }
            let team = CoreTeam(size: size)
            teams[size] = team
            return team
        }
    }

    /// Runs `body(0)`, ..., `body(count - 1)` concurrently, `body(0)` on the
    /// calling thread, and returns when all have finished. Called from inside
    /// a round's task (a product inside one core's share of the work), it runs
    /// them one after another on that thread: every core is busy already, and
    /// more threads would only take turns on them. A team already running a
    /// round for another thread (a concurrent call) hands the work to Dispatch
    /// instead, so calls never wait on each other.
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || isInsideRound { return runInTurn(count, body) }
        team(size: count).run(body)
    }

    /// `body(0)`, ..., `body(count - 1)` one after another on the calling thread.
    private static func runInTurn(_ count: Int, _ body: (Int) -> Void) {
        for index in 0 ..< count { body(index) }
    }

    /// Marks the threads running a round's tasks: every worker, and a caller during its own task.
    private static let roundKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "no thread-specific key left for the core team")
        return key
    }()

    /// Whether the calling thread is running one of a round's tasks.
    static var isInsideRound: Bool { pthread_getspecific(roundKey) != nil }

    private static func markInsideRound(_ inside: Bool) {
        pthread_setspecific(roundKey, inside ? UnsafeRawPointer(bitPattern: 1) : nil)
    }

    private init(size: Int) {
        self.size = size
        for index in 1 ..< max(size, 1) {
            let thread = Thread { [unowned self] in self.work(index) }
            thread.name = "strata.core-team.\(index)"
            thread.start()
        }
    }

    /// One round: every member runs `body` with its index.
    public func run(_ body: (Int) -> Void) {
        if Self.isInsideRound { return Self.runInTurn(size, body) }
        guard size > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            DispatchQueue.concurrentPerform(iterations: size) { index in
                Self.markInsideRound(true)
                body(index)
                Self.markInsideRound(false)
            }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            task = body
            remaining.store(size - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                parking.lock(); parking.broadcast(); parking.unlock()
            }
            Self.markInsideRound(true)
            body(0)
            Self.markInsideRound(false)
            var spins = 0
            while remaining.load(ordering: .acquiring) > 0 {
                spins += 1
                // A worker that lost its core (an overloaded machine) needs it back.
                if spins & 0xFFF == 0 { sched_yield() }
            }
            task = nil
        }
    }

    private func work(_ index: Int) {
        Self.markInsideRound(true)   // a worker only ever runs a round's tasks
        var seen = 0
        while true {
            var current = generation.load(ordering: .acquiring)
            var spins = 0
            var since = DispatchTime.now().uptimeNanoseconds
            while current == seen {
                spins += 1
                if spins & 0xFF == 0 {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now - since > Self.idleSpin {
                        park(while: seen)
                        since = DispatchTime.now().uptimeNanoseconds
                    }
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            task?(index)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// Sleeps until the generation moves past `seen`.
    private func park(while seen: Int) {
        parking.lock()
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == seen { parking.wait() }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        parking.unlock()
    }
}
