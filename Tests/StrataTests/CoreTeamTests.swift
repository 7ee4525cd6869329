import Dispatch
import Foundation
import Synchronization
import Testing
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline

@Suite struct CoreTeamTests {
    /// Every round runs each index exactly once and returns only when all
    /// have finished: the counts written by the tasks are all there at return.
    @Test func eachRoundRunsEveryIndexOnceAndJoins() {
        for size in [1, 2, 3] {
            var counts = [Int](repeating: 0, count: size)
            counts.withUnsafeMutableBufferPointer { counts in
                for _ in 0 ..< 2_000 {
                    CoreTeam.run(size) { index in counts[index] += 1 }
                }
            }
            #expect(counts == [Int](repeating: 2_000, count: size), "team of \(size)")
        }
    }

    /// A round started from inside a round (its tasks run in turn), or from
    /// another thread while the team is busy (on Dispatch), completes instead
    /// of waiting (no deadlock).
    @Test func nestedAndConcurrentRoundsComplete() {
        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0 ..< 200 {
                CoreTeam.run(2) { _ in
                    CoreTeam.run(2) { _ in total.add(1, ordering: .relaxed) }
                }
            }
        }
        #expect(total.load(ordering: .relaxed) == 4 * 200 * 2 * 2)
    }

    /// A round started from inside a round's task runs its tasks in turn on
    /// that task's thread: every core is busy already, so more threads would
    /// only take turns on them.
    @Test func aNestedRoundRunsOnItsTasksThread() {
        let strays = Atomic<Int>(0), runs = Atomic<Int>(0)
        CoreTeam.run(2) { _ in
            let outer = pthread_self()
            CoreTeam.run(3) { _ in
                runs.add(1, ordering: .relaxed)
                if pthread_equal(pthread_self(), outer) == 0 { strays.add(1, ordering: .relaxed) }
            }
        }
        #expect(runs.load(ordering: .relaxed) == 2 * 3 && strays.load(ordering: .relaxed) == 0)
        #expect(!CoreTeam.isInsideRound)
    }

    /// Workers that idle past the spin time park, and the next round wakes them.
    @Test func parkedWorkersWakeForTheNextRound() {
        let total = Atomic<Int>(0)
        for _ in 0 ..< 3 {
            CoreTeam.run(2) { index in total.add(index + 1, ordering: .relaxed) }
            usleep(2_000)   // ten times the spin time
        }
        #expect(total.load(ordering: .relaxed) == 3 * 3)
    }
}
