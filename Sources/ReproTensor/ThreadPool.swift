import Foundation
import Synchronization

/// A persistent pool of worker threads with static partitioning.
///
/// Kernels split their *outputs* into a fixed list of chunks (panels, rows)
/// chosen from the shape alone; ``ThreadPool/forEachChunk(_:threads:_:)`` hands
/// participant `p` of `T` the contiguous chunk range `[p·C/T, (p+1)·C/T)`.
/// Every chunk computes its outputs completely and in a fixed order, so the
/// result never depends on `T` or on which thread ran which chunk.
///
/// Workers are parked on a condition variable between jobs (waking one costs
/// microseconds, unlike `DispatchQueue.concurrentPerform`). Before parking, a
/// worker spins for a few microseconds watching for the next job, and the
/// caller spins the same way for the workers to finish, so the back-to-back
/// small dispatches of a network skip most sleeps and wake-ups. All state is
/// still read and written under the lock; the spin only watches two atomic
/// mirrors of it. When the pool is
/// busy — another caller, or a call from inside a worker — the chunks run
/// serially on the calling thread, with identical results.
///
/// ```swift
/// ThreadPool.shared.forEachChunk(rows, threads: Runtime.threads) { r in process(row: r) }
/// ```
public final class ThreadPool: @unchecked Sendable {
    /// The process-wide pool (grows to the largest thread count asked for).
    public static let shared = ThreadPool()

    private let cond = NSCondition()
    private let callLock = NSLock()
    private var workerCount = 0
    private var generation = 0
    private var participants = 0
    private var pending = 0
    private var job: ((Int) -> Void)?
    /// Mirrors `generation` (written under the lock) for spinning workers.
    private let published = Atomic<Int>(0)
    /// Mirrors `pending` (written under the lock) for a spinning caller.
    private let unfinished = Atomic<Int>(0)

    /// Polls of an atomic mirror before parking on the condition variable
    /// (a few microseconds; it only ever delays a wait, never replaces one).
    static let spinPolls = 4000

    /// A reusable scratch buffer for kernels (packed GEMM operands): fresh
    /// multi-megabyte allocations cost a page fault per 4 KB on every call.
    private let workspaceLock = NSLock()
    private var workspace: UnsafeMutableRawPointer?
    private var workspaceBytes = 0

    /// Workspaces larger than this are allocated per call and not kept.
    static let maxCachedWorkspaceBytes = 256 << 20

    init() {}

    /// Calls `body` with at least `bytes` bytes of 64-byte-aligned scratch
    /// memory (uninitialised). The pool keeps the largest buffer asked for (up
    /// to ``maxCachedWorkspaceBytes``) and lends it to one caller at a time;
    /// a concurrent or nested caller gets a temporary allocation instead. The
    /// contents never influence results: callers write before they read.
    func withWorkspace<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        let size = max(bytes, 64)
        if size <= Self.maxCachedWorkspaceBytes && workspaceLock.try() {
            defer { workspaceLock.unlock() }
            if workspaceBytes < size {
                workspace?.deallocate()
                // Grow by at least 1/8 so slowly growing requests do not reallocate each time.
                let grown = min(max(size, workspaceBytes + workspaceBytes / 8), Self.maxCachedWorkspaceBytes)
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

    /// Runs `body(chunk)` for every chunk in `0..<chunks`, over at most `threads` threads.
    ///
    /// - Parameters:
    ///   - chunks: the number of independent pieces of work.
    ///   - threads: the largest number of threads to use.
    ///   - body: processes one chunk; must not depend on the thread it runs on.
    public func forEachChunk(_ chunks: Int, threads: Int, _ body: (Int) -> Void) {
        let t = min(max(threads, 1), chunks)
        if t <= 1 {
            for c in 0..<chunks { body(c) }
            return
        }
        run(participants: t) { p in
            let lo = p * chunks / t, hi = (p + 1) * chunks / t
            for c in lo..<hi { body(c) }
        }
    }

    /// Runs `body(p)` once for each participant `p` in `0..<participants`.
    public func run(participants n: Int, _ body: (Int) -> Void) {
        if n <= 1 {
            if n == 1 { body(0) }
            return
        }
        guard callLock.try() else {
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
            unfinished.store(n - 1, ordering: .releasing)
            published.store(generation, ordering: .releasing)
            cond.broadcast()
            cond.unlock()
            job(0)
            var polls = 0
            while polls < Self.spinPolls && unfinished.load(ordering: .acquiring) != 0 { polls += 1 }
            cond.lock()
            while pending > 0 { cond.wait() }
            self.job = nil
            cond.unlock()
        }
    }

    private func ensureWorkers(_ n: Int) {
        cond.lock()
        defer { cond.unlock() }
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

    private func workerLoop(id: Int, seen initial: Int) {
        var seen = initial
        cond.lock()
        while true {
            if generation == seen {
                cond.unlock()
                var polls = 0
                while polls < Self.spinPolls && published.load(ordering: .acquiring) == seen { polls += 1 }
                cond.lock()
                while generation == seen { cond.wait() }
            }
            seen = generation
            guard id < participants, let job else { continue }
            cond.unlock()
            job(id)
            cond.lock()
            pending -= 1
            unfinished.store(pending, ordering: .releasing)
            if pending == 0 { cond.broadcast() }
        }
    }
}
