#if os(Linux)
import Glibc
#endif

/// Large copies and element-wise adds split over the thread pool, so that the serial glue around
/// the kernels (copy-outs, gradient accumulation) does not run on the calling thread alone; and a
/// serial fill helped by a thread that faults the buffer's pages in (``fill(_:byteCount:threads:_:)``).
///
/// Every element is written once, by exactly one chunk (by the filler alone for a fill): a copy
/// moves bytes and an add is one `left + right` rounding per element, so neither the chunking nor
/// the thread count can change a bit. Work below a fixed size runs on the caller (a dispatch would
/// cost more than it saves).
///
/// ```swift
/// ParallelMemory.copy(from: src, to: dst, byteCount: 8 << 20, threads: 2)
/// ParallelMemory.add(right, into: left, count: 1 << 20, threads: 2)
/// ```
@_spi(Kernels) public enum ParallelMemory {
    /// Copies below this many bytes run on the calling thread.
    @_spi(Kernels) public static let minimumParallelBytes = 1 << 20
    /// Bytes per copy chunk (a fixed split of the buffer; the chunks go to threads in ranges).
    static let copyChunkBytes = 256 << 10
    /// Floats per add chunk (adds of at most one chunk run on the calling thread).
    static let addChunk = 1 << 15

    /// Copies `byteCount` bytes from `src` to `dst` (non-overlapping): one `memcpy` below
    /// ``minimumParallelBytes``, otherwise fixed 256 KiB chunks over up to `threads` threads.
    @_spi(Kernels) public static func copy(
        from src: UnsafeRawPointer, to dst: UnsafeMutableRawPointer, byteCount: Int, threads: Int
    ) {
        guard byteCount > 0 else { return }
        guard byteCount >= minimumParallelBytes, threads > 1 else {
            dst.copyMemory(from: src, byteCount: byteCount)
            return
        }
        let chunks = (byteCount + copyChunkBytes - 1) / copyChunkBytes
        ThreadPool.current.forEachChunk(chunks, threads: threads) { k in
            let lo = k * copyChunkBytes, hi = min(lo + copyChunkBytes, byteCount)
            (dst + lo).copyMemory(from: src + lo, byteCount: hi - lo)
        }
    }

    /// `left[i] = left[i] + right[i]` for `i` in `0..<count` (one rounding per element); fixed
    /// chunks of 32 Ki floats over up to `threads` threads.
    @_spi(Kernels) public static func add(
        _ right: UnsafePointer<Float>, into left: UnsafeMutablePointer<Float>, count: Int, threads: Int
    ) {
        let chunks = (count + addChunk - 1) / addChunk
        ThreadPool.current.forEachChunk(chunks, threads: threads) { k in
            for i in (k * addChunk)..<min((k + 1) * addChunk, count) { left[i] = left[i] + right[i] }
        }
    }

    /// `out[i] = left[i] + right[i]` for `i` in `0..<count` (one rounding per element; `out` may
    /// be uninitialised); fixed chunks as ``add(_:into:count:threads:)``.
    @_spi(Kernels) public static func add(
        _ left: UnsafePointer<Float>, _ right: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
        count: Int, threads: Int
    ) {
        let chunks = (count + addChunk - 1) / addChunk
        ThreadPool.current.forEachChunk(chunks, threads: threads) { k in
            for i in (k * addChunk)..<min((k + 1) * addChunk, count) { out[i] = left[i] + right[i] }
        }
    }

    /// Buffers below this many bytes are filled without help (``fill(_:byteCount:threads:_:)``).
    @_spi(Kernels) public static let minimumPrefaultBytes = 1 << 20
    /// Bytes the helper thread faults in per `madvise` call, from the buffer's end backwards.
    static let prefaultChunkBytes = 1 << 20

    /// Runs `fill`, a serial writer of the `byteCount` fresh bytes at `base` (a random-number
    /// stream initialising a parameter), while another thread of the pool faults the buffer's
    /// pages in from its end backwards (Linux `MADV_POPULATE_WRITE`, which maps zeroed pages and
    /// never writes a byte), so that the kernel's page population overlaps with the stream
    /// instead of running on the filling thread alone. `fill` alone decides every byte: nothing
    /// the buffer ends up holding depends on the helper, the thread count or their timing. Below
    /// ``minimumPrefaultBytes``, with one thread, on a kernel without `MADV_POPULATE_WRITE`
    /// (before 5.14) or off Linux, `fill` simply runs.
    ///
    /// ```swift
    /// let p = UnsafeMutableRawPointer.allocate(byteCount: 8 << 20, alignment: 64)
    /// ParallelMemory.fill(p, byteCount: 8 << 20, threads: 2) {
    ///     p.initializeMemory(as: UInt8.self, repeating: 7, count: 8 << 20)
    /// }
    /// p.deallocate()
    /// ```
    @_spi(Kernels) public static func fill<E: Error>(
        _ base: UnsafeMutableRawPointer, byteCount: Int, threads: Int, _ fill: () throws(E) -> Void
    ) throws(E) {
        #if os(Linux)
        guard byteCount >= minimumPrefaultBytes, threads > 1 else { return try fill() }
        // Whole pages inside the buffer only: its partial first and last pages are the filler's.
        let page = 4096
        let start = (Int(bitPattern: base) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: base) + byteCount) & ~(page - 1)
        guard end - start >= prefaultChunkBytes else { return try fill() }
        var failure: E?
        ThreadPool.current.run(participants: 2) { p in
            if p == 0 {
                do throws(E) { try fill() } catch { failure = error }
                return
            }
            var hi = end
            while hi > start {
                let lo = max(start, hi - prefaultChunkBytes)
                // Pages the filler reached first are skipped; EINVAL (a kernel without
                // MADV_POPULATE_WRITE) leaves all the faulting to the filler.
                if madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, populateWrite) != 0 { return }
                hi = lo
            }
        }
        if let failure { throw failure }
        #else
        try fill()
        #endif
    }

    #if os(Linux)
    /// `MADV_POPULATE_WRITE` (Linux 5.14), spelled out for C headers that predate it.
    static let populateWrite: Int32 = 23
    #endif

    /// A `[Float]` of `count` elements copied from `src` (threaded as ``copy(from:to:byteCount:threads:)``),
    /// without zero-filling it first.
    @_spi(Kernels) public static func array(copying src: UnsafePointer<Float>, count: Int, threads: Int) -> [Float] {
        guard count > 0 else { return [] }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            copy(from: src, to: buffer.baseAddress!, byteCount: count * 4, threads: threads)
            initialized = count
        }
    }
}
