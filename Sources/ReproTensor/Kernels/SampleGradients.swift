/// How the backward kernels hand over parameter gradients: as **per-sample contributions**,
/// either written out as `[N, …]` or pushed, sample by sample in index order, into a
/// ``SampleTreeSum`` whose first sample has the global index the caller names. The autograd
/// engine (or a micro-batch merger) then reduces them with the canonical tree, so the sum never
/// depends on threads or on how the global batch was split.
///
/// ```swift
/// let sum = SampleGradients.accumulate(count: 3, firstSample: 8, samples: 2, threads: 1) { n, out in
///     for i in 0..<3 { out[i] = Float(n + i) }
/// }
/// sum.blocks.count   // 1: samples 8 and 9 form one aligned block of the global tree
/// ```
@_spi(Kernels) public enum SampleGradients {
    /// Runs `produce(n, buffer)` for `n` in `0..<samples` (in order), each writing sample `n`'s
    /// `count` floats, and reduces them as ``SampleTreeSum`` does when the samples are appended one
    /// by one from global index `firstSample` (the same nodes, the same bits). The reduction works
    /// in place in reused buffers — a sample is written once, straight into the node it starts,
    /// and each merge is one element-wise `left + right` split over `threads` — so only
    /// `O(log samples)` buffers are alive and no contribution is copied.
    @_spi(Kernels) public static func accumulate(
        count: Int, firstSample: Int, samples: Int, threads: Int, _ produce: (Int, UnsafeMutablePointer<Float>) -> Void
    ) -> SampleTreeSum {
        var stack: [(start: Int, size: Int, buffer: UnsafeMutablePointer<Float>)] = []
        var spare: [UnsafeMutablePointer<Float>] = []
        defer {
            for node in stack { node.buffer.deallocate() }
            for b in spare { b.deallocate() }
        }
        for n in 0..<samples {
            let buffer = spare.popLast() ?? UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            produce(n, buffer)
            var current = (start: firstSample + n, size: 1, buffer: buffer)
            // SampleTreeSum's rule: merge while the top node has the same size and starts an aligned pair.
            while let top = stack.last, top.size == current.size, top.start % (2 * top.size) == 0 {
                stack.removeLast()
                add(current.buffer, into: top.buffer, count: count, threads: threads)
                spare.append(current.buffer)
                current = (top.start, top.size * 2, top.buffer)
            }
            stack.append(current)
        }
        var sum = SampleTreeSum(count: count, startIndex: firstSample)
        for node in stack {
            let block = SampleTreeSum.Block(start: node.start, size: node.size,
                                            values: Array(UnsafeBufferPointer(start: node.buffer, count: count)))
            do { try sum.append(block) } catch { preconditionFailure("SampleGradients: \(error)") }
        }
        return sum
    }

    /// `left[i] = left[i] + right[i]` (one rounding per element; threads take fixed chunks).
    static func add(_ right: UnsafePointer<Float>, into left: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        let chunk = 1 << 15, chunks = (count + chunk - 1) / chunk
        ThreadPool.current.forEachChunk(chunks, threads: threads) { k in
            for i in (k * chunk)..<min((k + 1) * chunk, count) { left[i] = left[i] + right[i] }
        }
    }

    /// The canonical tree sum of `samples` contributions laid out as `[samples, count]`.
    @_spi(Kernels) public static func treeSum(_ perSample: UnsafePointer<Float>, samples: Int, count: Int) -> [Float] {
        var sum = SampleTreeSum(count: count)
        for n in 0..<samples {
            sum.append(sample: UnsafeBufferPointer(start: perSample + n * count, count: count))
        }
        return sum.total()
    }
}
