extension Tensor {
    /// A contiguous tensor whose bytes `initializer` writes directly into the new storage: the
    /// one-copy way to build a tensor from bytes held elsewhere (a memory-mapped checkpoint).
    ///
    /// `initializer` receives `count × dtype.byteCount` uninitialised bytes and must write all of
    /// them; the elements are the host's in-memory representation (little-endian on every
    /// platform Repro runs on).
    ///
    /// ```swift
    /// let raw: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]                 // 1.0, 2.0 as float32
    /// let t = try raw.withUnsafeBytes { src in
    ///     try Tensor(unsafeUninitializedShape: [2], dtype: .float32) { $0.copyMemory(from: src) }
    /// }
    /// ```
    /// - Throws: ``TensorError/invalidShape(op:shape:reason:)`` for negative or overflowing sizes,
    ///   ``TensorError/allocationTooLarge(op:shape:bytes:limit:)``.
    public init(unsafeUninitializedShape shape: [Int], dtype: DType,
                initializingWith initializer: (UnsafeMutableRawBufferPointer) -> Void) throws(TensorError) {
        self = try Tensor.uninitialized(shape, dtype: dtype, op: "Tensor(unsafeUninitializedShape:dtype:initializingWith:)")
        initializer(UnsafeMutableRawBufferPointer(start: storage.base, count: count * dtype.byteCount))
    }

    /// A tensor of `shape` that reads as zero everywhere but stores one element (every
    /// position is the same stored zero: all strides are 0).
    ///
    /// A model built to be filled from a checkpoint holds these until the checkpoint replaces
    /// them, so its construction allocates nothing in proportion to the model's size. Reading one
    /// works like any view (``contiguous()`` materialises real zeros); writing through
    /// copy-on-write gives the writer a full tensor of its own.
    ///
    /// ```swift
    /// let w = try Tensor.unallocatedZeros(shape: [256, 256, 3, 3])
    /// w.storageBytes   // 4
    /// ```
    /// - Throws: ``TensorError/invalidShape(op:shape:reason:)`` for negative or overflowing sizes.
    public static func unallocatedZeros(shape: [Int], dtype: DType = .float32) throws(TensorError) -> Tensor {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw .invalidShape(op: "Tensor.unallocatedZeros", shape: shape, reason: "negative size \(d)") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { throw .invalidShape(op: "Tensor.unallocatedZeros", shape: shape, reason: "element count overflows Int") }
            n = p
        }
        return Tensor(storage: TensorStorage(byteCount: dtype.byteCount), dtype: dtype, shape: shape,
                      strides: [Int](repeating: 0, count: shape.count), offset: 0)
    }

    /// The bytes of the storage this tensor refers to (a view counts its whole storage; views
    /// of one storage share one ``storageIdentity``, so a sum over distinct identities counts
    /// each storage once).
    public var storageBytes: Int { storage.byteCount }

    /// The identity of the storage this tensor refers to (equal for a view and its base, and for
    /// copies not yet written to).
    public var storageIdentity: ObjectIdentifier { ObjectIdentifier(storage) }
}
