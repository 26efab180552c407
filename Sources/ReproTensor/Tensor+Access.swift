import _ReproDigest

extension Tensor {
    /// The elements in row-major order (a copy; works for any strides).
    ///
    /// Copies of at least 1 MiB run on up to ``RuntimeSettings/threads`` threads (fixed chunks;
    /// a copy, so the bits never depend on it).
    ///
    /// ```swift
    /// let v: [Float] = try t.scalars()
    /// ```
    /// - Throws: ``TensorError/dtypeMismatch(op:expected:actual:)`` when `T` is not the dtype.
    public func scalars<T: TensorScalar>(as type: T.Type = T.self) throws(TensorError) -> [T] {
        guard T.dtype == dtype else { throw .dtypeMismatch(op: "scalars", expected: dtype, actual: T.dtype) }
        let c = contiguous()
        let n = c.count
        guard n > 0 else { return [] }
        let bytes = n * dtype.byteCount, threads = Runtime.settings.threads
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            ParallelMemory.copy(from: c.rawBase, to: UnsafeMutableRawPointer(buffer.baseAddress!), byteCount: bytes, threads: threads)
            initialized = n
        }
    }

    /// The element at a multi-index.
    ///
    /// ```swift
    /// let v: Float = try t.scalar(at: [0, 2])
    /// ```
    public func scalar<T: TensorScalar>(at index: [Int], as type: T.Type = T.self) throws(TensorError) -> T {
        guard T.dtype == dtype else { throw .dtypeMismatch(op: "scalar(at:)", expected: dtype, actual: T.dtype) }
        guard index.count == rank else {
            throw .invalidArgument(op: "scalar(at:)", reason: "index \(index) has \(index.count) entries for a rank-\(rank) tensor")
        }
        var pos = offset
        for d in 0..<rank {
            guard index[d] >= 0 && index[d] < shape[d] else {
                throw .invalidArgument(op: "scalar(at:)", reason: "index \(index) out of range for shape \(shape)")
            }
            pos += index[d] * strides[d]
        }
        return storage.base.advanced(by: pos * dtype.byteCount).load(as: T.self)
    }

    /// Calls `body` with the contiguous elements.
    ///
    /// ```swift
    /// let sum = try t.withUnsafeBufferPointer(as: Float.self) { $0.reduce(0, +) }
    /// ```
    /// - Throws: ``TensorError/notContiguous(op:shape:strides:)`` for a strided
    ///   view, ``TensorError/dtypeMismatch(op:expected:actual:)``, or what `body` throws.
    public func withUnsafeBufferPointer<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws(TensorError) -> R
    ) throws(TensorError) -> R {
        guard T.dtype == dtype else { throw .dtypeMismatch(op: "withUnsafeBufferPointer", expected: dtype, actual: T.dtype) }
        guard isContiguous else { throw .notContiguous(op: "withUnsafeBufferPointer", shape: shape, strides: strides) }
        let p = storage.base.advanced(by: offset * dtype.byteCount).assumingMemoryBound(to: T.self)
        return try body(UnsafeBufferPointer(start: p, count: count))
    }

    /// Calls `body` with mutable contiguous elements (copying shared or strided storage first).
    ///
    /// ```swift
    /// try t.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = 1 }
    /// ```
    public mutating func withUnsafeMutableBufferPointer<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws(TensorError) -> R
    ) throws(TensorError) -> R {
        guard T.dtype == dtype else { throw .dtypeMismatch(op: "withUnsafeMutableBufferPointer", expected: dtype, actual: T.dtype) }
        makeUniqueContiguous()
        let p = storage.base.advanced(by: offset * dtype.byteCount).assumingMemoryBound(to: T.self)
        return try body(UnsafeMutableBufferPointer(start: p, count: count))
    }

    /// Ensures unique, contiguous, offset-0 storage (copy-on-write).
    mutating func makeUniqueContiguous() {
        if !isContiguous || offset != 0 || storage.byteCount != count * dtype.byteCount {
            self = contiguousCopy()
        } else if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
    }

    /// Raw pointer to the first element (internal: the tensor must be contiguous).
    var rawBase: UnsafeMutableRawPointer { storage.base.advanced(by: offset * dtype.byteCount) }

    /// Float pointer to the first element (internal).
    var floatBase: UnsafeMutablePointer<Float> { rawBase.assumingMemoryBound(to: Float.self) }

    /// SHA-256 (hex) of the dtype, the shape and the row-major element bytes.
    ///
    /// Layout hashed: one byte dtype code, the rank as a little-endian `UInt64`,
    /// each dimension as a little-endian `UInt64`, then the elements in
    /// row-major order as little-endian bytes. Two tensors have the same hash
    /// exactly when dtype, shape and every bit agree.
    ///
    /// ```swift
    /// let h = t.bitsHash   // "3f1c…"
    /// ```
    public var bitsHash: String {
        var h = SHA256()
        var header: [UInt8] = [dtype.rawValue]
        func put(_ v: UInt64) { for i in 0..<8 { header.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        put(UInt64(rank))
        for d in shape { put(UInt64(d)) }
        h.update(header)
        let c = contiguous()
        h.update(UnsafeRawBufferPointer(start: c.rawBase, count: c.count * dtype.byteCount))
        return h.finalize().hex
    }
}
