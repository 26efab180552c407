import Foundation
import Synchronization
@_spi(Kernels) import ReproTensor
import _ReproDigest
import _ReproTraceAccel

/// One module's output in a trace: its dotted name, what ran, and the SHA-256 of its bits.
///
/// ```swift
/// let e = TraceEntry(name: "backbone.body.bn1", op: "Conv2d 7x7/2 3->64, direct + BatchNorm2d + ReLU (fused: conv1, bn1)",
///                    shape: [1, 400, 544, 64], dtype: "float32", sha256: String(repeating: "0", count: 64))
/// ```
public struct TraceEntry: Sendable, Hashable, Codable {
    /// The module's dotted name: PyTorch's module name, the same as its state-dict key prefix.
    public var name: String
    /// The operation and the algorithm that ran (e.g. `Conv2d 3x3 256->256, winograd F(4x4,3x3)`).
    public var op: String
    /// The output shape as computed: channels-last `[N, H, W, C]` for feature maps.
    public var shape: [Int]
    /// The output dtype (`float32`, `int64`, …).
    public var dtype: String
    /// The digest (lowercase hex) of the output's elements, little-endian, in row-major order of
    /// ``shape``: SHA-256 unless the trace names another ``TraceDigest``.
    public var sha256: String

    /// Creates an entry.
    public init(name: String, op: String, shape: [Int], dtype: String, sha256: String) {
        self.name = name
        self.op = op
        self.shape = shape
        self.dtype = dtype
        self.sha256 = sha256
    }
}

/// The trace of one forward pass: every reported module output, in execution order.
public struct ModuleTrace: Sendable {
    /// The entries in execution order (a module that runs several times appears several times).
    public var entries: [TraceEntry]
    /// The outputs themselves, one per entry, when the recorder kept them (`nil` otherwise).
    public var tensors: [Tensor]?
    /// The algorithm of the entries' digests.
    public var digest: TraceDigest

    /// Creates a trace.
    public init(entries: [TraceEntry], tensors: [Tensor]? = nil, digest: TraceDigest = .sha256) {
        self.entries = entries
        self.tensors = tensors
        self.digest = digest
    }
}

/// Records a ``ModuleTrace`` through the per-module hook of a ``ModuleScope``.
///
/// Each reported output is hashed (by default SHA-256 of its elements as stored: feature maps are
/// channels-last `[N, H, W, C]`, the layout the kernels compute in; ``TraceDigest/nh`` is the fast
/// alternative) and, with `keepingTensors`, kept; with a ``TraceTensorWriter`` each output is
/// written to a safetensors file as it is reported instead. Recording only reads the outputs, so
/// it changes no bit of any result.
///
/// With SHA-256 the recorder holds the outputs it has not hashed yet. While the pass runs, a
/// background thread in Linux's idle scheduling class hashes them, largest first, two at a
/// time, in 1 MiB steps: it runs only on a CPU that the pass leaves idle (between kernels, in
/// single-threaded stages), so it takes no time from the pass, and the recording thread never
/// waits for it (it only tries the lock they share). What it has not finished is
/// hashed when the held outputs total about 192 MiB and at ``finish()``, spread over
/// ``RuntimeSettings/threads`` threads of the current pool, two messages at a time per thread
/// (see ``SHA256/update(_:with:_:with:)``), each continuing from where the background thread
/// stopped. An output that is the same view of the same storage as the previous one (a
/// `Sequential` returns its last step's output) reuses that digest instead of hashing the bytes
/// again: the recorder held a reference to the earlier output all along, so copy-on-write kept
/// its bytes unchanged (an in-place operation on it in between copies it first, and the copy is
/// hashed anew). Each digest is the plain SHA-256 of the bytes, so neither the batches, the
/// background thread nor the thread count change any entry. ``TraceDigest/nh`` hashes each
/// output when it is reported and holds nothing.
///
/// ```swift
/// var g = TorchGenerator(seed: 0)
/// var layer = try Linear(inFeatures: 4, outFeatures: 2, generator: &g)
/// try layer.prepare(in: .root)
/// let recorder = TraceRecorder()
/// let y = try layer.forward(try Tensor(shape: [1, 4], scalars: [Float]([1, 2, 3, 4])), in: recorder.scope())
/// let trace = recorder.finish()   // one entry: op "Linear 4->2, gemm", shape [1, 2], sha256 of y's bytes
/// ```
public final class TraceRecorder: @unchecked Sendable {
    /// What a recorder hashed and what it reused, since it was created.
    public struct Statistics: Sendable, Hashable {
        /// Entries whose output bytes were hashed.
        public var hashedEntries = 0
        /// Bytes hashed.
        public var hashedBytes = 0
        /// Entries that reused the digest of the previous entry (the same view of unchanged storage).
        public var reusedEntries = 0
        /// Bytes not hashed thanks to reuse.
        public var reusedBytes = 0
        /// Of ``hashedBytes``, those the background thread hashed while the pass ran (the rest was
        /// hashed on the pool, at a batch or at ``TraceRecorder/finish()``).
        public var backgroundBytes = 0
    }

    /// Whether the output tensors are kept beside their digests.
    public let keepsTensors: Bool
    /// The digest algorithm of the entries.
    public let digest: TraceDigest
    /// Where each output is written as it is reported (`nil`: nowhere).
    public let tensorWriter: TraceTensorWriter?
    /// Unhashed bytes that make the recorder hash its pending outputs (SHA-256).
    public let hashingBatchBytes: Int
    /// What the recorder does with each output: everything (the default), or less, to measure
    /// what each part of tracing costs (`repro detect --profile --profile-trace-work`).
    package var work: Work = .hash
    /// Bytes of one output the background thread hashes between two looks at the recorder (a
    /// multiple of 64; tests make it small).
    package var backgroundStepBytes = 1 << 20

    /// The parts of recording, for measuring their cost: a recorder doing less than ``hash``
    /// leaves its entries' digests empty.
    package enum Work: String, Sendable, CaseIterable {
        /// Record, hold and hash every output, in the background while the pass runs (what a trace is).
        case hash
        /// The same without the background thread: everything is hashed on the pool, at each
        /// batch and at ``TraceRecorder/finish()``.
        case batch
        /// Record and hold the outputs exactly as ``batch`` does, but hash nothing.
        case hold
        /// Record the entries only: hold and hash nothing (what an attached observer alone costs).
        case observe
    }

    /// One output waiting for its SHA-256. `state` says who owns `hasher`, `done` and `digest`:
    /// the background thread while `busy`, the recording thread once it `claimed` the output; the
    /// background thread publishes them with its (releasing) change of state. Only the recording
    /// thread touches `entries`.
    final class Job: @unchecked Sendable {
        static let idle = 0, busy = 1, claimed = 2, finished = 3, abandoned = 4
        let tensor: Tensor
        let size: Int
        /// Entries that get this digest (the output's, and those that reused it).
        var entries: [Int]
        var hasher = SHA256()
        /// Bytes `hasher` has taken (whole blocks until the end).
        var done = 0
        var digest = ""
        let state = Atomic<Int>(Job.idle)

        init(_ tensor: Tensor, entry: Int) {
            self.tensor = tensor
            size = tensor.count * tensor.dtype.byteCount
            entries = [entry]
        }
        var remaining: Int { size - done }
    }

    private let lock = NSLock()
    private var entries: [TraceEntry] = []
    private var tensors: [Tensor] = []
    /// Outputs not hashed yet (or hashed in the background but not collected), in the order reported.
    private var pending: [Job] = []
    /// Bytes of the unfinished outputs in `pending`.
    private var pendingBytes = 0
    /// Outputs not offered to the background thread yet.
    private var outbox: [Job] = []
    /// The latest entry's output (held, so that its bytes cannot change while it is compared).
    private var last: (tensor: Tensor, entry: Int)?
    private var counts = Statistics()
    /// Hand-over to the background thread. The recording thread only ever *tries* this lock, so a
    /// background thread that the scheduler leaves waiting while it holds it delays nothing.
    private let handoff = NSLock()
    /// Outputs offered to the background thread (guarded by `handoff`).
    private var offered: [Job] = []
    /// Whether a background thread runs (guarded by `handoff`; it stops when it has nothing left).
    private var backgroundRunning = false
    /// Cleared when this system has no idle scheduling class: nothing then hashes in the background.
    private let backgroundAvailable = Atomic<Bool>(true)
    /// Bytes the background thread has hashed (committed steps only).
    private let backgroundBytes = Atomic<Int>(0)

    /// A recorder that keeps digests only, or the output tensors too, hashing with `digest`;
    /// with SHA-256, pending outputs are hashed once they total `hashingBatchBytes` (the memory
    /// they hold; the digests never depend on it).
    public init(keepingTensors: Bool = false, digest: TraceDigest = .sha256, hashingBatchBytes: Int = 192 << 20) {
        keepsTensors = keepingTensors
        self.digest = digest
        self.hashingBatchBytes = hashingBatchBytes
        tensorWriter = nil
    }

    /// A recorder that writes each output to `writer` when it is reported (under the key
    /// ``TraceDocument/tensorKey(image:entry:)``; each ``finish()`` moves the writer to its next
    /// image) and keeps only the digests in memory.
    public init(digest: TraceDigest = .sha256, streamingTensorsTo writer: TraceTensorWriter) {
        keepsTensors = false
        self.digest = digest
        hashingBatchBytes = 192 << 20
        tensorWriter = writer
    }

    /// What the recorder has hashed and reused so far.
    public var statistics: Statistics {
        lock.lock()
        defer { lock.unlock() }
        var c = counts
        c.backgroundBytes = backgroundBytes.load(ordering: .relaxed)
        return c
    }

    /// The hook to install in a ``ModuleScope`` (see ``scope(algorithmOverrides:)``).
    public var observer: ModuleOperationObserver {
        { [self] path, output, operation in record(path: path, output: output, operation: operation()) }
    }

    /// A root scope that reports to this recorder.
    public func scope(algorithmOverrides: [String: PreparedConv2d.Algorithm] = [:]) -> ModuleScope {
        ModuleScope(operationObserver: observer, algorithmOverrides: algorithmOverrides)
    }

    /// Records one output.
    public func record(path: String, output: Tensor, operation: String) {
        lock.lock()
        defer { lock.unlock() }
        let index = entries.count
        entries.append(TraceEntry(name: path, op: operation, shape: output.shape, dtype: output.dtype.description, sha256: ""))
        tensorWriter?.append(output, entry: index)
        if keepsTensors { tensors.append(output) }
        let bytes = output.count * output.dtype.byteCount
        guard work != .observe else { return }
        guard digest == .sha256 else {
            entries[index].sha256 = digest.digest(output)
            counts.hashedEntries += 1
            counts.hashedBytes += bytes
            return
        }
        collectFinished()
        if let last, last.tensor.isSameView(as: output) {
            counts.reusedEntries += 1
            counts.reusedBytes += bytes
            if let job = pending.last(where: { $0.entries.contains(last.entry) }) {
                job.entries.append(index)
            } else {
                entries[index].sha256 = entries[last.entry].sha256
            }
        } else {
            let job = Job(output, entry: index)
            pending.append(job)
            pendingBytes += bytes
            counts.hashedEntries += 1
            counts.hashedBytes += bytes
            if work == .hash, output.isContiguous, backgroundAvailable.load(ordering: .relaxed) {
                outbox.append(job)
                offerToBackground()
            }
        }
        last = (output, index)
        if pendingBytes >= hashingBatchBytes { hashPending() }
    }

    /// Gives the digests of the outputs the background thread finished to their entries and
    /// releases those outputs.
    private func collectFinished() {
        pending.removeAll { job in
            guard job.state.load(ordering: .acquiring) == Job.finished else { return false }
            for e in job.entries { entries[e].sha256 = job.digest }
            pendingBytes -= job.size
            return true
        }
    }

    /// Offers `outbox` to the background thread (starting one if none runs), unless the
    /// background thread holds the hand-over lock right now: then they wait for the next output.
    private func offerToBackground() {
        guard handoff.try() else { return }
        offered += outbox
        outbox = []
        let start = !backgroundRunning
        backgroundRunning = true
        handoff.unlock()
        guard start else { return }
        Thread.detachNewThread { [self] in
            guard repro_trace_enter_idle_priority() != 0 else {
                backgroundAvailable.store(false, ordering: .relaxed)
                handoff.lock()
                backgroundRunning = false
                handoff.unlock()
                return
            }
            var mine: [Job] = []
            while true {
                handoff.lock()
                mine += offered
                offered = []
                mine.removeAll { $0.state.load(ordering: .relaxed) != Job.idle || $0.remaining == 0 }
                if mine.isEmpty {
                    backgroundRunning = false
                    handoff.unlock()
                    return
                }
                handoff.unlock()
                _ = backgroundStep(mine)
            }
        }
    }

    /// One step of background hashing on the pending outputs, as the background thread does it
    /// (tests drive it here; `beforeCommit` runs between hashing and publishing). Returns
    /// `false` when nothing is left to hash.
    @discardableResult
    package func backgroundStep(beforeCommit: () -> Void = {}) -> Bool {
        lock.lock()
        let jobs = pending.filter { $0.tensor.isContiguous }
        lock.unlock()
        return backgroundStep(jobs, beforeCommit: beforeCommit)
    }

    /// Hashes up to ``backgroundStepBytes`` more of each of the (at most) two idle outputs of
    /// `jobs` with the most bytes left, after taking them (`idle` → `busy`); publishes each result
    /// (`busy` → `idle`, or `finished` with its digest) unless the recording thread abandoned the
    /// output meanwhile. Returns `false` when no output could be taken.
    private func backgroundStep(_ jobs: [Job], beforeCommit: () -> Void = {}) -> Bool {
        var picks: [Job] = []
        for job in jobs where job.remaining > 0 && job.state.load(ordering: .relaxed) == Job.idle {
            if picks.count < 2 {
                picks.append(job)
            } else if let smaller = picks.indices.min(by: { picks[$0].remaining < picks[$1].remaining }),
                      job.remaining > picks[smaller].remaining {
                picks[smaller] = job
            }
        }
        picks.removeAll { !$0.state.compareExchange(expected: Job.idle, desired: Job.busy, ordering: .acquiring).exchanged }
        guard !picks.isEmpty else { return false }
        let counts = picks.map { min(backgroundStepBytes, $0.remaining) }
        var hashers = picks.map(\.hasher)
        withBytes(picks.map(\.tensor)) { buffers in
            update(&hashers, zip(buffers, zip(picks, counts)).map { b, jc in
                UnsafeRawBufferPointer(rebasing: b[jc.0.done..<(jc.0.done + jc.1)])
            })
        }
        beforeCommit()
        for (job, (hasher, count)) in zip(picks, zip(hashers, counts)) {
            job.hasher = hasher
            job.done += count
            let finished = job.done == job.size
            if finished { job.digest = job.hasher.finalize().hex }
            if job.state.compareExchange(expected: Job.busy, desired: finished ? Job.finished : Job.idle, ordering: .releasing).exchanged {
                backgroundBytes.add(count, ordering: .relaxed)
            }
        }
        return true
    }

    /// Hashes every pending output (SHA-256) over the pool, two messages at a time per thread:
    /// each from where the background thread left it, or from the start when the background
    /// thread is in the middle of a step on it (that step is then discarded).
    private func hashPending() {
        guard !pending.isEmpty else { return }
        var work: [(tensor: Tensor, hasher: SHA256, done: Int)] = [], owners: [Job] = []
        for job in pending {
            while true {
                let s = job.state.load(ordering: .acquiring)
                if s == Job.finished {
                    for e in job.entries { entries[e].sha256 = job.digest }
                    break
                }
                if s == Job.idle, job.state.compareExchange(expected: Job.idle, desired: Job.claimed, ordering: .acquiring).exchanged {
                    work.append((job.tensor, job.hasher, job.done))
                    owners.append(job)
                    break
                }
                if s == Job.busy, job.state.compareExchange(expected: Job.busy, desired: Job.abandoned, ordering: .relaxed).exchanged {
                    work.append((job.tensor, SHA256(), 0))
                    owners.append(job)
                    break
                }
            }
        }
        if self.work != .hold {
            let digests = TraceRecorder.sha256(work, threads: Runtime.settings.threads)
            for (job, hex) in zip(owners, digests) {
                for e in job.entries { entries[e].sha256 = hex }
            }
        }
        pending = []
        outbox = []
        pendingBytes = 0
    }

    /// SHA-256 (hex) of each tensor's element bytes, each continuing `hasher`, which has taken
    /// the first `done` bytes (whole blocks), on up to `threads` threads of the current pool: the
    /// tensors go to the threads largest remainder first, each to the least loaded one (the
    /// digests do not depend on where they ran), and each thread hashes its tensors in pairs of
    /// similar size.
    static func sha256(_ jobs: [(tensor: Tensor, hasher: SHA256, done: Int)], threads: Int) -> [String] {
        let sizes = jobs.map { $0.tensor.count * $0.tensor.dtype.byteCount - $0.done }
        let order = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
        let t = max(1, min(threads, jobs.count))
        var bins = [[Int]](repeating: [], count: t), load = [Int](repeating: 0, count: t)
        for i in order {
            let b = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            bins[b].append(i)
            load[b] += sizes[i]
        }
        var out = [String](repeating: "", count: jobs.count)
        out.withUnsafeMutableBufferPointer { results in
            let results = results
            ThreadPool.current.run(participants: t) { p in
                let mine = bins[p]
                var k = 0
                while k < mine.count {
                    let pair = k + 1 < mine.count ? [mine[k], mine[k + 1]] : [mine[k]]
                    var hashers = pair.map { jobs[$0].hasher }
                    withBytes(pair.map { jobs[$0].tensor }) { buffers in
                        update(&hashers, zip(buffers, pair).map { UnsafeRawBufferPointer(rebasing: $0[jobs[$1].done...]) })
                    }
                    for (i, h) in zip(pair, hashers) { results[i] = h.finalize().hex }
                    k += pair.count
                }
            }
        }
        return out
    }

    /// The trace recorded since the last call, and a fresh start (the writer's next image, for a
    /// ``TraceTensorWriter``).
    public func finish() -> ModuleTrace {
        lock.lock()
        defer {
            entries = []
            tensors = []
            outbox = []
            last = nil
            lock.unlock()
        }
        hashPending()
        tensorWriter?.finishImage()
        return ModuleTrace(entries: entries, tensors: keepsTensors ? tensors : nil, digest: digest)
    }

    /// SHA-256 (lowercase hex) of a tensor's elements, little-endian, row-major: the same bytes as
    /// NumPy's `array.tobytes()` of the tensor in its own layout.
    public static func digest(_ t: Tensor) -> String { TraceDigest.sha256.digest(t) }
}

/// Feeds `buffers[i]` to `hashers[i]` (one or two), two messages interleaved.
private func update(_ hashers: inout [SHA256], _ buffers: [UnsafeRawBufferPointer]) {
    if hashers.count == 2 {
        var (a, b) = (hashers[0], hashers[1])
        SHA256.update(&a, with: buffers[0], &b, with: buffers[1])
        hashers = [a, b]
    } else {
        hashers[0].update(buffers[0])
    }
}

/// Calls `body` with the element bytes of one or two tensors (see `Tensor.withElementBytes`).
private func withBytes(_ tensors: [Tensor], _ body: ([UnsafeRawBufferPointer]) -> Void) {
    tensors[0].withElementBytes { a in
        if tensors.count == 2 { tensors[1].withElementBytes { b in body([a, b]) } } else { body([a]) }
    }
}

extension Tensor {
    /// Calls `body` with the elements' bytes, little-endian, in row-major order (a strided view is
    /// copied first).
    func withElementBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let c = contiguous()
        var raw = UnsafeRawBufferPointer(start: nil, count: 0)
        func locate<T: TensorScalar>(_ type: T.Type) {
            // Fails only on a dtype mismatch or a strided view, neither possible here.
            _ = try? c.withUnsafeBufferPointer(as: type) { (p: UnsafeBufferPointer<T>) throws(TensorError) in raw = UnsafeRawBufferPointer(p) }
        }
        switch dtype {
        case .float32: locate(Float.self)
        case .float64: locate(Double.self)
        case .int64: locate(Int64.self)
        case .uint8: locate(UInt8.self)
        }
        let result = try body(raw)
        withExtendedLifetime(c) {}  // `raw` points into c's storage: keep it alive until body returns
        return result
    }
}
