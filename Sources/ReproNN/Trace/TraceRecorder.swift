import Foundation
@_spi(Kernels) import ReproTensor
import _ReproDigest

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
/// With SHA-256 the recorder holds the outputs it has not hashed yet and hashes them in batches
/// (about 192 MiB, and at ``finish()``), spread over ``RuntimeSettings/threads`` threads of the
/// current pool, two messages at a time per thread (see ``SHA256/hash(_:_:implementation:)``).
/// An output that is the same view of the same storage as the previous one (a `Sequential`
/// returns its last step's output) reuses that digest instead of hashing the bytes again: the
/// recorder held a reference to the earlier output all along, so copy-on-write kept its bytes
/// unchanged (an in-place operation on it in between copies it first, and the copy is hashed
/// anew). Each digest is the plain SHA-256 of the bytes, so neither the batches nor the thread
/// count change any entry. ``TraceDigest/nh`` hashes each output when it is reported and holds
/// only the latest one, for the same reuse.
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

    /// The parts of recording, for measuring their cost: a recorder doing less than ``hash``
    /// leaves its entries' digests empty.
    package enum Work: String, Sendable, CaseIterable {
        /// Record, hold and hash every output (what a trace is).
        case hash
        /// Record and hold the outputs exactly as ``hash`` does, but hash nothing.
        case hold
        /// Record the entries only: hold and hash nothing (what an attached observer alone costs).
        case observe
    }

    private let lock = NSLock()
    private var entries: [TraceEntry] = []
    private var tensors: [Tensor] = []
    /// Outputs not hashed yet, each with the entries its digest goes to.
    private var pending: [(tensor: Tensor, entries: [Int])] = []
    private var pendingBytes = 0
    /// The latest entry's output (held, so that its bytes cannot change while it is compared).
    private var last: (tensor: Tensor, entry: Int)?
    private var counts = Statistics()

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
        return counts
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
        if let last, last.tensor.isSameView(as: output) {
            counts.reusedEntries += 1
            counts.reusedBytes += bytes
            if let job = pending.lastIndex(where: { $0.entries.contains(last.entry) }) {
                pending[job].entries.append(index)
            } else {
                entries[index].sha256 = entries[last.entry].sha256
            }
        } else if digest == .sha256 {
            pending.append((output, [index]))
            pendingBytes += bytes
        } else {
            entries[index].sha256 = work == .hash ? digest.digest(output) : ""
            counts.hashedEntries += 1
            counts.hashedBytes += bytes
        }
        last = (output, index)
        if pendingBytes >= hashingBatchBytes { hashPending() }
    }

    /// Hashes every pending output (SHA-256) over the pool, two messages at a time per thread.
    private func hashPending() {
        guard !pending.isEmpty else { return }
        let jobs = pending.map(\.tensor)
        let sizes = jobs.map { $0.count * $0.dtype.byteCount }
        let digests = work == .hash ? TraceRecorder.sha256(jobs, sizes: sizes, threads: Runtime.settings.threads)
                                    : [String](repeating: "", count: jobs.count)
        for (job, hex) in zip(pending, digests) {
            for e in job.entries { entries[e].sha256 = hex }
        }
        counts.hashedEntries += jobs.count
        counts.hashedBytes += sizes.reduce(0, +)
        pending = []
        pendingBytes = 0
    }

    /// SHA-256 (hex) of each tensor's element bytes, on up to `threads` threads of the current
    /// pool: the tensors are paired largest first (each pair hashed together, two similar sizes),
    /// and the threads claim the pairs in that order as they go (the digests do not depend on
    /// where they ran).
    static func sha256(_ tensors: [Tensor], sizes: [Int], threads: Int) -> [String] {
        let order = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
        let pairs = (order.count + 1) / 2
        var out = [String](repeating: "", count: tensors.count)
        out.withUnsafeMutableBufferPointer { results in
            let results = results
            ThreadPool.current.forEachClaimedChunk(pairs, threads: max(1, threads)) { k, _ in
                if 2 * k + 1 < order.count {
                    let (i, j) = (order[2 * k], order[2 * k + 1])
                    let (a, b) = tensors[i].withElementBytes { pa in tensors[j].withElementBytes { pb in SHA256.hash(pa, pb) } }
                    results[i] = a.hex
                    results[j] = b.hex
                } else {
                    results[order[2 * k]] = TraceDigest.sha256.digest(tensors[order[2 * k]])
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
