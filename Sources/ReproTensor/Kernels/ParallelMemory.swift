/// Large copies and element-wise adds split over the thread pool, so that the serial glue around
/// the kernels (copy-outs, gradient accumulation) does not run on the calling thread alone.
///
/// Every element is written once, by exactly one chunk: a copy moves bytes and an add is one
/// `left + right` rounding per element, so neither the chunking nor the thread count can change
/// a bit. Work below a fixed size runs on the caller (a dispatch would cost more than it saves).
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
