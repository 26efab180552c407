#if os(Linux)
import Glibc
#endif

/// An n-dimensional array with value semantics (copy-on-write storage).
///
/// Elements are `Float`, `Double`, `Int64` or `UInt8` (``DType``). Shapes follow
/// PyTorch: convolution inputs are NCHW, weights OIHW. Views (``reshaped(_:)``,
/// ``permuted(_:)``, ``sliced(dim:range:)``) share storage until written.
///
/// ```swift
/// let x = try Tensor(shape: [2, 3], scalars: [Float](repeating: 1, count: 6))
/// let y = try x.permuted([1, 0]).contiguous()
/// y.shape      // [3, 2]
/// y.bitsHash   // SHA-256 hex of dtype, shape and bytes
/// ```
public struct Tensor: Sendable {
    /// The element type.
    public let dtype: DType
    /// The size of each dimension.
    public private(set) var shape: [Int]
    /// The step between neighbours of each dimension, in elements.
    public private(set) var strides: [Int]
    /// The first element's position in the storage, in elements.
    var offset: Int
    var storage: TensorStorage

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// Whether the elements lie in row-major order without gaps.
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) }

    /// Creates a zero-filled tensor.
    ///
    /// ```swift
    /// let z = try Tensor(zeros: [1, 3, 4, 4])
    /// ```
    /// - Throws: ``TensorError/invalidShape(op:shape:reason:)`` for negative or
    ///   overflowing sizes, ``TensorError/allocationTooLarge(op:shape:bytes:limit:)``.
    public init(zeros shape: [Int], dtype: DType = .float32) throws(TensorError) {
        let n = try Tensor.checkedCount(shape, dtype: dtype, op: "Tensor(zeros:)")
        self.init(storage: TensorStorage(byteCount: n * dtype.byteCount), dtype: dtype, shape: shape)
    }

    /// Creates a tensor from row-major scalars.
    ///
    /// ```swift
    /// let t = try Tensor(shape: [2], scalars: [Int64(3), 4])
    /// ```
    /// Copies of at least 1 MiB run on up to ``RuntimeSettings/threads`` threads (fixed chunks),
    /// into storage that is not zero-filled first.
    ///
    /// - Throws: ``TensorError/shapeMismatch(op:shapes:reason:)`` when the count
    ///   differs from the shape's element count.
    public init<T: TensorScalar>(shape: [Int], scalars: [T]) throws(TensorError) {
        let n = try Tensor.checkedCount(shape, dtype: T.dtype, op: "Tensor(shape:scalars:)")
        guard n == scalars.count else {
            throw .shapeMismatch(op: "Tensor(shape:scalars:)", shapes: [shape, [scalars.count]],
                                 reason: "shape holds \(n) elements, \(scalars.count) given")
        }
        // Every byte is overwritten by the copy (an empty tensor's 1-byte block is never read).
        let st = TensorStorage(byteCount: n * T.dtype.byteCount, zeroed: false)
        let threads = Runtime.settings.threads
        scalars.withUnsafeBytes { src in
            guard let from = src.baseAddress, src.count > 0 else { return }
            ParallelMemory.copy(from: from, to: st.base, byteCount: src.count, threads: threads)
        }
        self.init(storage: st, dtype: T.dtype, shape: shape)
    }

    /// Creates a 0-d or shaped tensor filled with one value.
    ///
    /// ```swift
    /// let ones = try Tensor(repeating: Float(1), shape: [4])
    /// ```
    public init<T: TensorScalar>(repeating value: T, shape: [Int]) throws(TensorError) {
        let n = try Tensor.checkedCount(shape, dtype: T.dtype, op: "Tensor(repeating:shape:)")
        let st = TensorStorage(byteCount: n * T.dtype.byteCount)
        st.base.bindMemory(to: T.self, capacity: n).initialize(repeating: value, count: n)
        self.init(storage: st, dtype: T.dtype, shape: shape)
    }

    init(storage: TensorStorage, dtype: DType, shape: [Int]) {
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
        self.strides = Tensor.contiguousStrides(shape)
        self.offset = 0
    }

    init(storage: TensorStorage, dtype: DType, shape: [Int], strides: [Int], offset: Int) {
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// An uninitialised contiguous tensor (internal: kernels fill every element).
    static func uninitialized(_ shape: [Int], dtype: DType = .float32, op: String) throws(TensorError) -> Tensor {
        let n = try checkedCount(shape, dtype: dtype, op: op)
        return Tensor(storage: TensorStorage(byteCount: n * dtype.byteCount, zeroed: false), dtype: dtype, shape: shape)
    }

    /// Row-major strides for `shape`.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            s[d] = acc
            acc *= max(shape[d], 1)
        }
        return s
    }

    /// Validates `shape` and returns its element count, checking overflow and the allocation limit.
    static func checkedCount(_ shape: [Int], dtype: DType, op: String) throws(TensorError) -> Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw .invalidShape(op: op, shape: shape, reason: "negative size \(d)") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { throw .invalidShape(op: op, shape: shape, reason: "element count overflows Int") }
            n = p
        }
        let (bytes, o) = n.multipliedReportingOverflow(by: dtype.byteCount)
        let limit = Runtime.settings.maxAllocationBytes
        guard !o, bytes <= limit else {
            throw .allocationTooLarge(op: op, shape: shape, bytes: o ? Int.max : bytes, limit: limit)
        }
        return n
    }
}

/// Reference-counted raw storage of a tensor (64-byte aligned).
final class TensorStorage: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int
    /// Bytes reserved at `base` (a reused block may be larger than `byteCount`).
    let capacity: Int

    /// Storage of `byteCount` bytes: a reused block from ``StorageCache`` for
    /// large sizes when one fits, else fresh memory. Zero-filled when `zeroed`;
    /// otherwise the contents are unspecified (every caller overwrites them).
    init(byteCount: Int, zeroed: Bool = true) {
        self.byteCount = byteCount
        if byteCount >= Self.cacheThreshold,
           let block = StorageCache.shared.take(atLeast: byteCount) {
            base = block.base
            capacity = block.capacity
        } else {
            base = Self.allocate(max(byteCount, 1))
            capacity = max(byteCount, 1)
        }
        if zeroed { base.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1)) }
    }

    deinit {
        if capacity < Self.cacheThreshold
            || !StorageCache.shared.keep(base, capacity: capacity, limit: Runtime.settings.storageCacheBytes) {
            base.deallocate()
        }
    }

    /// Blocks at least this large go through ``StorageCache``: glibc serves them by `mmap` (the
    /// `repro` CLI fixes its threshold at 128 KiB), so without the cache every such activation
    /// would fault in and zero fresh pages each pass (the head's smaller pyramid levels, 0.1–4 MB,
    /// were most of the page faults left once blocks from 4 MB on were cached).
    static let cacheThreshold = 128 << 10

    /// 64-byte-aligned memory. On Linux, a block of at least `hugePagesFrom` bytes is 2 MB aligned
    /// and marked `MADV_HUGEPAGE` (only the pool's workspace asks, see ``ThreadPool``); tensor
    /// storage uses ordinary 4 KB pages. It used transparent huge pages from 4 MB, so that a fresh
    /// activation was faulted in 2 MB at a time, but on a VM that hands freed memory back to its
    /// host, the first touch of fresh 2 MB pages after another process had freed its memory made
    /// model construction two to three times slower (docs/performance.md, "Huge pages"), while
    /// activations are reused from ``StorageCache`` after the first pass anyway. Contents and
    /// results are unaffected either way.
    static func allocate(_ bytes: Int, hugePagesFrom threshold: Int? = nil) -> UnsafeMutableRawPointer {
        #if os(Linux)
        if let threshold, bytes >= threshold {
            let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 2 << 20)
            _ = madvise(p, (bytes + 4095) & ~4095, MADV_HUGEPAGE)
            return p
        }
        #endif
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    func copy() -> TensorStorage {
        let s = TensorStorage(byteCount: byteCount, zeroed: false)
        ParallelMemory.copy(from: base, to: s.base, byteCount: byteCount, threads: Runtime.settings.threads)
        return s
    }
}
