import Foundation
import ReproTensor
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
/// alternative) and, with `keepingTensors`, kept. Recording only reads the outputs, so it changes no bit of any result.
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
    /// Whether the output tensors are kept beside their digests.
    public let keepsTensors: Bool
    /// The digest algorithm of the entries.
    public let digest: TraceDigest
    private let lock = NSLock()
    private var entries: [TraceEntry] = []
    private var tensors: [Tensor] = []

    /// A recorder that keeps digests only, or the output tensors too, hashing with `digest`.
    public init(keepingTensors: Bool = false, digest: TraceDigest = .sha256) {
        keepsTensors = keepingTensors
        self.digest = digest
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
        let entry = TraceEntry(name: path, op: operation, shape: output.shape, dtype: output.dtype.description,
                               sha256: digest.digest(output))
        lock.lock()
        entries.append(entry)
        if keepsTensors { tensors.append(output) }
        lock.unlock()
    }

    /// The trace recorded since the last call, and a fresh start.
    public func finish() -> ModuleTrace {
        lock.lock()
        defer {
            entries = []
            tensors = []
            lock.unlock()
        }
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
