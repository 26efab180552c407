import Foundation

/// Worker threads that compute batches ahead of the consumer, at most
/// `window` batches beyond the one the consumer waits for, and hand them over
/// strictly in schedule order whatever the timing.
final class BatchPipeline<Batch: Sendable>: @unchecked Sendable {
    typealias Job = @Sendable (Int) -> Result<Batch, DataLoaderError>

    private let condition = NSCondition()
    private var nextToClaim = 0
    private var consumerNext = 0
    private var ready: [Int: Result<Batch, DataLoaderError>] = [:]
    private var waiter: (Int, CheckedContinuation<Result<Batch, DataLoaderError>, Never>)?
    private var stopped = false
    private let total: Int
    private let window: Int
    private let job: Job

    /// Starts `workers` threads for batches `0 ..< total`.
    init(total: Int, workers: Int, window: Int, job: @escaping Job) {
        self.total = total
        self.window = max(1, window)
        self.job = job
        for w in 0..<workers {
            let t = Thread { [self] in self.workerLoop() }
            t.name = "repro.data.worker.\(w)"
            t.start()
        }
    }

    /// The most batches that are computed or in flight but not yet taken.
    var maximumInFlight: Int { window }

    private func workerLoop() {
        while true {
            condition.lock()
            while !stopped && nextToClaim < total && nextToClaim >= consumerNext + window { condition.wait() }
            if stopped || nextToClaim >= total {
                condition.unlock()
                return
            }
            let b = nextToClaim
            nextToClaim += 1
            condition.unlock()
            let result = job(b)
            condition.lock()
            if let (want, cont) = waiter, want == b {
                waiter = nil
                consumerNext = b + 1
                condition.broadcast()
                condition.unlock()
                cont.resume(returning: result)
                continue
            }
            ready[b] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Blocks until batch `b` is ready and takes it.
    func take(_ b: Int) -> Result<Batch, DataLoaderError> {
        condition.lock()
        defer { condition.unlock() }
        while ready[b] == nil { condition.wait() }
        consumerNext = b + 1
        condition.broadcast()
        return ready.removeValue(forKey: b)!
    }

    /// Suspends until batch `b` is ready and takes it.
    func takeAsync(_ b: Int) async -> Result<Batch, DataLoaderError> {
        await withCheckedContinuation { cont in
            condition.lock()
            if let r = ready.removeValue(forKey: b) {
                consumerNext = b + 1
                condition.broadcast()
                condition.unlock()
                cont.resume(returning: r)
            } else {
                waiter = (b, cont)
                condition.unlock()
            }
        }
    }

    /// Stops the workers after the batch each is computing.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Owns a pipeline and stops it when the last iterator copy goes away.
final class PipelineHandle<Batch: Sendable>: @unchecked Sendable {
    let pipeline: BatchPipeline<Batch>
    init(_ p: BatchPipeline<Batch>) { pipeline = p }
    deinit { pipeline.stop() }
}
