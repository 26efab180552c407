import Foundation
import Synchronization

/// A pool of worker threads that claim fixed chunks of work: the threads that
/// run the tensor kernels.
///
/// Kernels split their *outputs* into a fixed list of chunks (panels, rows,
/// tile blocks) chosen from the shape alone. Every chunk computes its outputs
/// completely and in a fixed order, so the result never depends on `T` or on
/// which thread ran which chunk — which is what lets the threads claim the
/// chunks as they go (`forEachChunk(_:threads:_:)`,
/// `forEachClaimedChunk(_:threads:_:)`): a thread slowed down by another
/// process, or given dearer chunks, no longer leaves the others idle at the
/// end of a job, as a static split did.
///
/// Workers are parked on a condition variable between jobs (waking one costs
/// microseconds, unlike `DispatchQueue.concurrentPerform`). Before parking, a
/// worker spins for a few microseconds watching for the next job, and the
/// caller spins the same way for the workers to finish, so the back-to-back
/// small dispatches of a network skip most sleeps and wake-ups. All state is
/// still read and written under the lock; the spin only watches two atomic
/// mirrors of it. When the pool is busy — another caller, or a call from
/// inside a job — the chunks run serially on the calling thread, with
/// identical results (counted in ``Statistics/serialFallbacks``).
///
/// Kernels use the process-wide pool unless a task runs them with a pool of
/// its own (``Runtime/withThreadPool(_:_:)``) — a task-local choice, so
/// concurrent tasks with their own pools never make each other fall back to
/// one thread. A pool's workers exit when the pool is released.
///
/// ```swift
/// let pool = ThreadPool()
/// let y = try Runtime.withSettings(RuntimeSettings(threads: 4)) {
///     try Runtime.withThreadPool(pool) { try x.relu() }
/// }
/// pool.statistics.largestTeam   // 4 when x spans at least 4 work chunks
/// ```
public final class ThreadPool: @unchecked Sendable {
    /// What a pool has run since it was created.
    ///
    /// Invariance tests use it to prove that a parallel case really ran on
    /// the threads it asked for.
    public struct Statistics: Sendable, Equatable {
        /// Jobs whose participants ran on more than one thread.
        public var parallelJobs = 0
        /// Jobs that asked for several participants but ran them all on the
        /// calling thread because the pool was busy (another caller, or a
        /// call from inside a job).
        public var serialFallbacks = 0
        /// The most distinct threads that ran the participants of one job
        /// (0 before the first job with several participants).
        public var largestTeam = 0
        /// The most participants one job asked for (0 before the first job
        /// with several). On a pool nobody else uses, ``largestTeam`` equals it.
        public var largestRequest = 0

        /// Statistics of a pool that has run nothing.
        public init() {}
    }

    /// The process-wide pool (grows to the largest thread count asked for).
    @_spi(Kernels) public static let shared = ThreadPool()

    /// The pool the kernels use in the calling task (or worker thread): the
    /// one given to ``Runtime/withThreadPool(_:_:)``, otherwise ``shared``.
    @_spi(Kernels) public static var current: ThreadPool { scoped ?? shared }

    /// The pool bound by ``Runtime/withThreadPool(_:_:)`` (task-local).
    @TaskLocal static var scoped: ThreadPool?

    /// Polls of an atomic mirror before parking on the condition variable
    /// (a few microseconds; it only ever delays a wait, never replaces one).
    static let spinPolls = 4000

    /// Workspaces larger than this are allocated per call and not kept.
    static let maxCachedWorkspaceBytes = 256 << 20

    private let core: Core

    /// Creates a pool with no threads yet; workers start on first use, up to
    /// one fewer than the largest participant count asked for.
    public init() {
        core = Core()
        core.owner = self
    }

    deinit { core.shutDown() }

    /// What the pool has run so far.
    public var statistics: Statistics { core.statisticsSnapshot() }

    /// Calls `body` with at least `bytes` bytes of 64-byte-aligned scratch
    /// memory (uninitialised). The pool keeps the largest buffer asked for (up
    /// to ``maxCachedWorkspaceBytes``) and lends it to one caller at a time;
    /// a concurrent or nested caller gets a temporary allocation instead. The
    /// contents never influence results: callers write before they read.
    func withWorkspace<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        core.withWorkspace(bytes: bytes, body)
    }

    /// Runs `body(chunk)` for every chunk in `0..<chunks`, over at most `threads` threads.
    ///
    /// The chunks are grouped into eight runs of consecutive chunks per thread (as equal as whole
    /// chunks allow), which the threads claim as they go (``forEachClaimedChunk(_:threads:_:)``).
    /// Which thread runs a chunk depends on timing, so a chunk must compute its outputs completely
    /// and identically whoever runs it — then neither the split nor the thread count can change a bit.
    ///
    /// - Parameters:
    ///   - chunks: the number of independent pieces of work.
    ///   - threads: the largest number of threads to use.
    ///   - body: processes one chunk; must not depend on the thread it runs on.
    ///
    /// Every chunk runs in the standard floating-point mode (``FloatingPointEnvironment``),
    /// whatever mode the calling thread was left in by its host; the caller's mode is restored.
    @_spi(Kernels) public func forEachChunk(_ chunks: Int, threads: Int, _ body: (Int) -> Void) {
        let t = min(max(threads, 1), chunks)
        if t <= 1 {
            FloatingPointEnvironment.withStandardMode {
                for c in 0..<chunks { body(c) }
            }
            return
        }
        // Eight runs per thread, equal to within one chunk: threads of equal speed finish together.
        let runs = min(chunks, 8 * t)
        forEachClaimedChunk(runs, threads: t) { r, _ in
            for c in (r * chunks / runs)..<((r + 1) * chunks / runs) { body(c) }
        }
    }

    /// Runs `body(chunk, participant)` for every chunk in `0..<chunks`, over at most `threads`
    /// participants that claim the chunks as they go: participant `p` first runs chunk `p`, then
    /// takes the lowest chunk nobody has taken yet, until none is left.
    ///
    /// Use it where every chunk computes its outputs completely and identically whoever runs it
    /// (the `participant` index only selects per-participant scratch memory): the split then
    /// never changes a bit, while a thread that is slowed down — by another process, or by a chunk
    /// dearer than its neighbours — no longer holds the others idle at the end of the job, as a
    /// static split of the chunks would. Each participant runs at least one chunk, so
    /// ``Statistics/largestTeam`` still proves that the threads computed something.
    ///
    /// - Parameters:
    ///   - chunks: the number of independent pieces of work.
    ///   - threads: the largest number of participants (never more than `chunks`).
    ///   - body: processes one chunk with the scratch of one participant (`0..<min(threads, chunks)`).
    @_spi(Kernels) public func forEachClaimedChunk(
        _ chunks: Int, threads: Int, _ body: (_ chunk: Int, _ participant: Int) -> Void
    ) {
        let t = min(max(threads, 1), chunks)
        if t <= 1 {
            FloatingPointEnvironment.withStandardMode {
                for c in 0..<chunks { body(c, 0) }
            }
            return
        }
        // Chunks 0..<t are the participants' first; the counter hands out the rest. On the serial
        // fallback the participants run one after another on the caller: the first takes every
        // chunk from t on, each later one only its own.
        let next = Atomic<Int>(t)
        run(participants: t) { p in
            var chunk = p
            while chunk < chunks {
                body(chunk, p)
                chunk = next.add(1, ordering: .relaxed).oldValue
            }
        }
    }

    /// Runs `body(p)` once for each participant `p` in `0..<participants`,
    /// each on its own thread unless the pool is busy (then all on the caller's). Every
    /// participant runs in the standard floating-point mode (``FloatingPointEnvironment``); the
    /// caller's mode is restored.
    ///
    /// A kernel path chosen with ``Runtime/withKernelISA(_:_:)`` is carried into every participant.
    @_spi(Kernels) public func run(participants n: Int, _ body: (Int) -> Void) {
        FloatingPointEnvironment.withStandardMode {
            if n <= 1 {
                if n == 1 { body(0) }
                return
            }
            if let isa = Runtime.scopedKernelISA {
                core.run(participants: n) { p in Runtime.$scopedKernelISA.withValue(isa) { body(p) } }
            } else {
                core.run(participants: n, body)
            }
        }
    }
}

extension Runtime {
    /// Runs `body` with `pool` as the thread pool of every kernel the current
    /// task calls (a task-local choice, like ``withSettings(_:_:)``). The
    /// number of threads still comes from ``RuntimeSettings/threads``.
    ///
    /// A pool used by one task alone is never busy, so each parallel job runs
    /// on as many threads as it asks for; its ``ThreadPool/statistics`` then
    /// show how many took part.
    ///
    /// ```swift
    /// let pool = ThreadPool()
    /// let y = try Runtime.withThreadPool(pool) { try a.matmul(b) }
    /// ```
    public static func withThreadPool<R, E: Error>(
        _ pool: ThreadPool, _ body: () throws(E) -> R
    ) throws(E) -> R {
        let result = ThreadPool.$scoped.withValue(pool) { Result(catching: body) }
        return try result.get()
    }
}

extension ThreadPool {
    /// The threads, the job hand-over and the workspace of one pool. Workers
    /// hold the core (not the pool), so releasing the pool can stop them.
    private final class Core: @unchecked Sendable {
        /// The pool this core serves; workers bind it as the current pool
        /// while they run a job, so a kernel called from inside a job uses it too.
        weak var owner: ThreadPool?

        private let cond = NSCondition()
        private let callLock = NSLock()
        private var workerCount = 0
        private var generation = 0
        private var participants = 0
        private var pending = 0
        private var stopping = false
        private var job: ((Int) -> Void)?
        /// The thread that ran each participant of the current job (capacity `workerCount + 1`).
        private var team: UnsafeMutablePointer<pthread_t>?
        private var statistics = Statistics()
        /// Mirrors `generation` (written under the lock) for spinning workers.
        private let published = Atomic<Int>(0)
        /// Participants that have finished, counted over the pool's life: each worker adds one
        /// after it has released the lock, so a caller spinning for the total finds the lock free
        /// (a hint only; `pending`, under the lock, decides).
        private let finished = Atomic<Int>(0)
        /// The value of `finished` once every worker of the current job has reported (caller only).
        private var finishedTarget = 0

        private let workspaceLock = NSLock()
        private var workspace: UnsafeMutableRawPointer?
        private var workspaceBytes = 0

        deinit {
            workspace?.deallocate()
            team?.deallocate()
        }

        func statisticsSnapshot() -> Statistics {
            cond.lock()
            defer { cond.unlock() }
            return statistics
        }

        func withWorkspace<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
            let size = max(bytes, 64)
            if size <= ThreadPool.maxCachedWorkspaceBytes && workspaceLock.try() {
                defer { workspaceLock.unlock() }
                if workspaceBytes < size {
                    workspace?.deallocate()
                    // Grow by at least 1/8 so slowly growing requests do not reallocate each time.
                    let grown = min(max(size, workspaceBytes + workspaceBytes / 8), ThreadPool.maxCachedWorkspaceBytes)
                    // Huge pages from 1 MB: the packed panels then have the same
                    // cache-set layout in every run (with 4 KB pages their physical
                    // placement, and so their cache conflicts, changed from run to run).
                    workspace = TensorStorage.allocate(max(grown, size), hugePagesFrom: 1 << 20)
                    workspaceBytes = max(grown, size)
                }
                return body(workspace!)
            }
            let temporary = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            defer { temporary.deallocate() }
            return body(temporary)
        }

        /// Runs a job of `n` (≥ 2) participants.
        func run(participants n: Int, _ body: (Int) -> Void) {
            guard callLock.try() else {
                cond.lock()
                statistics.serialFallbacks += 1
                statistics.largestRequest = max(statistics.largestRequest, n)
                cond.unlock()
                for p in 0..<n { body(p) }
                return
            }
            defer { callLock.unlock() }
            ensureWorkers(n - 1)
            withoutActuallyEscaping(body) { job in
                cond.lock()
                self.job = job
                participants = n
                pending = n - 1
                generation &+= 1
                finishedTarget &+= n - 1
                let published = generation
                cond.broadcast()
                cond.unlock()
                // The mirror after the unlock: a spinning worker that sees it finds the lock free.
                self.published.store(published, ordering: .releasing)
                team![0] = pthread_self()
                job(0)
                var polls = 0
                let target = finishedTarget
                while polls < ThreadPool.spinPolls && finished.load(ordering: .acquiring) &- target < 0 { polls += 1 }
                cond.lock()
                while pending > 0 { cond.wait() }
                self.job = nil
                recordTeam(n)
                cond.unlock()
            }
        }

        /// Counts the distinct threads that ran the `n` participants just finished (under the lock).
        private func recordTeam(_ n: Int) {
            let team = team!
            var distinct = 0
            for p in 0..<n where !(0..<p).contains(where: { pthread_equal(team[$0], team[p]) != 0 }) { distinct += 1 }
            if distinct > 1 { statistics.parallelJobs += 1 }
            statistics.largestTeam = max(statistics.largestTeam, distinct)
            statistics.largestRequest = max(statistics.largestRequest, n)
        }

        private func ensureWorkers(_ n: Int) {
            cond.lock()
            defer { cond.unlock() }
            guard workerCount < n else { return }
            let grown = UnsafeMutablePointer<pthread_t>.allocate(capacity: n + 1)
            grown.initialize(repeating: pthread_self(), count: n + 1)
            team?.deallocate()
            team = grown
            while workerCount < n {
                workerCount += 1
                let id = workerCount
                let seen = generation
                let thread = Thread { [self] in workerLoop(id: id, seen: seen) }
                thread.name = "ReproTensor.worker.\(id)"
                thread.stackSize = 1 << 20
                thread.start()
            }
        }

        /// Runs one participant with the pool as the current pool. The strong
        /// reference to the pool ends with this call, before the worker reports
        /// back, so a worker never holds the last one (the caller holds it).
        private func perform(_ job: (Int) -> Void, participant id: Int) {
            let pool = owner
            // A worker may have inherited a host's mode (flush-to-zero…) from the thread that started it.
            FloatingPointEnvironment.withStandardMode {
                ThreadPool.$scoped.withValue(pool) { job(id) }
            }
        }

        /// Runs participant `id` of `job` (when there is one) and records the thread that ran it.
        private func participate(_ job: consuming ((Int) -> Void)?, slots: UnsafeMutablePointer<pthread_t>?, id: Int) -> Bool {
            guard let job, let slots else { return false }
            slots[id] = pthread_self()
            perform(job, participant: id)
            return true
        }

        /// Stops the workers (they exit at their next wake-up and release the core).
        func shutDown() {
            cond.lock()
            stopping = true
            generation &+= 1
            published.store(generation, ordering: .releasing)
            cond.broadcast()
            cond.unlock()
        }

        private func workerLoop(id: Int, seen initial: Int) {
            var seen = initial
            while true {
                // Watch the mirror for a few microseconds before parking on the condition.
                var polls = 0
                while polls < ThreadPool.spinPolls && published.load(ordering: .acquiring) == seen { polls += 1 }
                cond.lock()
                while generation == seen { cond.wait() }
                seen = generation
                if stopping {
                    cond.unlock()
                    return
                }
                var job = id < participants ? self.job : nil
                let slots = team
                cond.unlock()
                // The job is moved into the call, so no reference to it is left once the call
                // returns: the caller's `withoutActuallyEscaping` checks that none outlives the
                // job, which ends when `pending` reaches 0 (below), no longer under the lock.
                guard participate(job.take(), slots: slots, id: id) else { continue }
                cond.lock()
                pending -= 1
                if pending == 0 { cond.broadcast() }
                cond.unlock()
                // Only now, with the lock released: the spinning caller that sees the count
                // complete takes the lock without waiting for this thread to leave it (a
                // contended lock parks the caller, which then costs a wake-up).
                finished.add(1, ordering: .releasing)
            }
        }
    }
}
