import Foundation

/// The runtime settings that every tensor operation reads.
///
/// A plain value: take it from ``Runtime/settings``, change fields, and either
/// store it back (`Runtime.settings = s`) or scope it to one piece of work with
/// ``Runtime/withSettings(_:_:)``.
///
/// ```swift
/// var s = Runtime.settings
/// s.threads = 1
/// let y = try Runtime.withSettings(s) { try a.matmul(b) }
/// ```
public struct RuntimeSettings: Sendable, Equatable {
    /// Worker threads used by the kernels (at least 1). Results never depend on it.
    public var threads: Int
    /// When `true` (the default), algorithms whose bits depend on timing, thread
    /// count or batch composition are refused with
    /// ``TensorError/nondeterministicAlgorithm(op:algorithm:reason:)``.
    public var deterministicAlgorithms: Bool
    /// When `true`, a refused nondeterministic algorithm runs anyway and is
    /// reported once per operation on standard error instead of throwing.
    public var warnOnly: Bool
    /// When `true` (default `false`), operations with several deterministic
    /// implementations may time them once per shape and keep the fastest; the
    /// choice is recorded in ``Runtime/autotuneChoices``. Matmul's candidates
    /// give identical bits; a convolution's (direct vs Winograd) do not, so its
    /// results then depend on the recorded choice.
    public var benchmark: Bool
    /// The largest single tensor allocation, in bytes, before
    /// ``TensorError/allocationTooLarge(op:shape:bytes:limit:)`` is thrown.
    public var maxAllocationBytes: Int
    /// The most bytes of freed large tensor blocks (≥ 4 MB) kept for reuse
    /// (default 512 MiB; 0 turns the cache off). Reusing a block spares the
    /// kernel zeroing fresh pages (a tenth of RetinaNet's CPU time). On a miss
    /// the cache first gives back at least the requested size, so cached plus
    /// live memory never exceeds what the program would hold without it; what
    /// stays cached after the work is released by ``Runtime/releaseCachedStorage()``.
    /// Values are never affected.
    public var storageCacheBytes: Int

    /// Creates settings with explicit values.
    ///
    /// - Parameters:
    ///   - threads: worker threads (values below 1 are treated as 1).
    ///   - deterministicAlgorithms: refuse nondeterministic algorithms.
    ///   - warnOnly: log instead of refusing.
    ///   - benchmark: allow timing-based selection among deterministic algorithms.
    ///   - maxAllocationBytes: allocation limit for one tensor.
    ///   - storageCacheBytes: bytes of freed large blocks kept for reuse (0: none).
    public init(
        threads: Int, deterministicAlgorithms: Bool = true, warnOnly: Bool = false,
        benchmark: Bool = false, maxAllocationBytes: Int = 1 << 36, storageCacheBytes: Int = 512 << 20
    ) {
        self.threads = max(1, threads)
        self.deterministicAlgorithms = deterministicAlgorithms
        self.warnOnly = warnOnly
        self.benchmark = benchmark
        self.maxAllocationBytes = maxAllocationBytes
        self.storageCacheBytes = max(0, storageCacheBytes)
    }

    /// The defaults, then the environment applied on top:
    ///
    /// | variable | meaning | default |
    /// | --- | --- | --- |
    /// | `REPRO_THREADS` | worker threads | active processor count |
    /// | `REPRO_DETERMINISTIC` | `0` turns ``deterministicAlgorithms`` off | `1` |
    /// | `REPRO_WARN_ONLY` | `1` turns ``warnOnly`` on | `0` |
    /// | `REPRO_BENCHMARK` | `1` turns ``benchmark`` on | `0` |
    /// | `REPRO_MAX_ALLOCATION_BYTES` | allocation limit | 64 GiB |
    /// | `REPRO_STORAGE_CACHE_BYTES` | freed large blocks kept for reuse (`0`: off) | 512 MiB |
    ///
    /// Unparseable values are ignored (the default stays).
    public static func fromEnvironment(_ environment: [String: String]) -> RuntimeSettings {
        var s = RuntimeSettings(threads: ProcessInfo.processInfo.activeProcessorCount)
        if let t = environment["REPRO_THREADS"].flatMap({ Int($0) }), t >= 1 { s.threads = t }
        if let v = environment["REPRO_DETERMINISTIC"] { s.deterministicAlgorithms = v != "0" }
        if let v = environment["REPRO_WARN_ONLY"] { s.warnOnly = v == "1" }
        if let v = environment["REPRO_BENCHMARK"] { s.benchmark = v == "1" }
        if let v = environment["REPRO_MAX_ALLOCATION_BYTES"].flatMap({ Int($0) }), v > 0 {
            s.maxAllocationBytes = v
        }
        if let v = environment["REPRO_STORAGE_CACHE_BYTES"].flatMap({ Int($0) }), v >= 0 {
            s.storageCacheBytes = v
        }
        return s
    }
}

/// Process-wide runtime configuration: the only global mutable settings of
/// ReproTensor, protected by a lock. (Two process-wide caches change where
/// memory comes from, never a value: the thread pool's GEMM workspace and the
/// cache of freed tensor blocks, ``RuntimeSettings/storageCacheBytes``.)
///
/// Settings are read from the environment once (see
/// ``RuntimeSettings/fromEnvironment(_:)``) and may be changed in code. A task
/// can override them for a scope with ``withSettings(_:_:)`` (a task-local
/// value, so concurrent tasks never see each other's overrides).
///
/// ```swift
/// Runtime.threads = 2
/// Runtime.deterministicAlgorithms   // true
/// ```
public enum Runtime {
    /// The settings in effect for the calling task: a scoped override if one is
    /// active, otherwise the process-wide values. Setting it changes the
    /// process-wide values.
    public static var settings: RuntimeSettings {
        get { scoped ?? state.withLock { $0.settings } }
        set { state.withLock { $0.settings = newValue } }
    }

    /// Worker threads (default: active processor count; `REPRO_THREADS`).
    public static var threads: Int {
        get { settings.threads }
        set { state.withLock { $0.settings.threads = max(1, newValue) } }
    }

    /// Refuse nondeterministic algorithms (default `true`).
    public static var deterministicAlgorithms: Bool {
        get { settings.deterministicAlgorithms }
        set { state.withLock { $0.settings.deterministicAlgorithms = newValue } }
    }

    /// Log a refused algorithm once instead of throwing (default `false`).
    public static var warnOnly: Bool {
        get { settings.warnOnly }
        set { state.withLock { $0.settings.warnOnly = newValue } }
    }

    /// Allow timing-based selection among deterministic algorithms (default `false`).
    public static var benchmark: Bool {
        get { settings.benchmark }
        set { state.withLock { $0.settings.benchmark = newValue } }
    }

    /// Largest single allocation in bytes (default 64 GiB).
    public static var maxAllocationBytes: Int {
        get { settings.maxAllocationBytes }
        set { state.withLock { $0.settings.maxAllocationBytes = newValue } }
    }

    /// Bytes of freed large blocks kept for reuse (default 512 MiB; `REPRO_STORAGE_CACHE_BYTES`).
    public static var storageCacheBytes: Int {
        get { settings.storageCacheBytes }
        set { state.withLock { $0.settings.storageCacheBytes = max(0, newValue) } }
    }

    /// Gives every cached freed block back to the system (see
    /// ``RuntimeSettings/storageCacheBytes``) and returns how many bytes that was.
    ///
    /// ```swift
    /// let detections = try model.detect(images)
    /// Runtime.releaseCachedStorage()   // the activations' blocks go back now
    /// ```
    @discardableResult
    public static func releaseCachedStorage() -> Int {
        StorageCache.shared.releaseAll()
    }

    /// Bytes currently held by the cache of freed large blocks.
    public static var cachedStorageBytes: Int { StorageCache.shared.cachedBytes }

    /// Bytes of tensor storage allocated fresh from the system so far, in this process: the
    /// blocks of at least 128 KiB that the cache of freed blocks could not serve (smaller
    /// blocks come from the allocator's own free lists and are not counted). A counter that
    /// only grows: the difference over a pass is what that pass made the kernel fault in anew —
    /// zero once a repeated pass finds every block it needs in the cache.
    ///
    /// ```swift
    /// let before = Runtime.freshStorageBytes
    /// _ = try model.detect(images)
    /// let fresh = Runtime.freshStorageBytes - before   // 0 from the third pass at one image size on
    /// ```
    public static var freshStorageBytes: Int { StorageCache.shared.freshBytes }

    /// Runs `body` with `settings` in effect for the current task only.
    ///
    /// ```swift
    /// let y = try Runtime.withSettings(RuntimeSettings(threads: 3)) { try x.relu() }
    /// ```
    public static func withSettings<R>(
        _ settings: RuntimeSettings, _ body: () throws -> R
    ) rethrows -> R {
        try $scoped.withValue(settings, operation: body)
    }

    /// The algorithms chosen by the autotuner so far, keyed by
    /// `"op shape"`, in the order they were chosen.
    public static var autotuneChoices: [(key: String, choice: String)] {
        state.withLock { $0.autotune }
    }

    /// Nondeterministic operations reported so far in warn-only mode.
    public static var warnedOperations: [String] {
        state.withLock { $0.warned }
    }

    // MARK: Internals

    @TaskLocal static var scoped: RuntimeSettings?

    struct State {
        var settings: RuntimeSettings
        var autotune: [(key: String, choice: String)] = []
        var warned: [String] = []
    }

    static let state = Locked(State(settings: .fromEnvironment(ProcessInfo.processInfo.environment)))

    /// Records an autotuner choice (first one per key wins) and returns the choice in effect.
    static func recordChoice(key: String, choice: String) -> String {
        state.withLock { s in
            if let old = s.autotune.first(where: { $0.key == key }) { return old.choice }
            s.autotune.append((key, choice))
            return choice
        }
    }

    /// A previously recorded autotuner choice.
    static func recordedChoice(key: String) -> String? {
        state.withLock { s in s.autotune.first(where: { $0.key == key })?.choice }
    }

    /// Marks `op` as warned; returns `true` the first time only.
    static func markWarned(_ op: String) -> Bool {
        state.withLock { s in
            if s.warned.contains(op) { return false }
            s.warned.append(op)
            return true
        }
    }
}

/// A value protected by a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
