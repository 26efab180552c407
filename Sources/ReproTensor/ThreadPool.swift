import Foundation

/// A persistent pool of worker threads with static partitioning.
///
/// Kernels split their *outputs* into a fixed list of chunks (panels, rows)
/// chosen from the shape alone; ``ThreadPool/forEachChunk(_:threads:_:)`` hands
/// participant `p` of `T` the contiguous chunk range `[p·C/T, (p+1)·C/T)`.
/// Every chunk computes its outputs completely and in a fixed order, so the
/// result never depends on `T` or on which thread ran which chunk.
///
/// Workers are parked on a condition variable between jobs (waking one costs
/// microseconds, unlike `DispatchQueue.concurrentPerform`). When the pool is
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

    init() {}

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
            cond.broadcast()
            cond.unlock()
            job(0)
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
            while generation == seen { cond.wait() }
            seen = generation
            guard id < participants, let job else { continue }
            cond.unlock()
            job(id)
            cond.lock()
            pending -= 1
            if pending == 0 { cond.broadcast() }
        }
    }
}
