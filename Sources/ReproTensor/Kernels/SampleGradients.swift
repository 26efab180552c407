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
        accumulate(count: count, firstSample: firstSample, samples: samples, threads: threads, produce, nodes: { UnsafePointer($0) })
    }

    /// ``accumulate(count:firstSample:samples:threads:_:)`` handing each final node through
    /// `nodes` (which may rewrite it elsewhere, e.g. permute its layout, and returns where the
    /// node's values now are; read before `nodes` is called again).
    static func accumulate(
        count: Int, firstSample: Int, samples: Int, threads: Int, _ produce: (Int, UnsafeMutablePointer<Float>) -> Void,
        nodes: (UnsafeMutablePointer<Float>) -> UnsafePointer<Float>
    ) -> SampleTreeSum {
        let plan = SampleTreePlan(firstSample: firstSample, samples: samples)
        var slots: [UnsafeMutablePointer<Float>] = []
        defer { for b in slots { b.deallocate() } }
        for n in 0..<samples {
            let step = plan.steps[n]
            while slots.count <= step.slot { slots.append(UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))) }
            produce(n, slots[step.slot])
            // Each merge adds the node just finished (right) into the stack's top (left).
            for q in 0..<step.merges { add(slots[step.slot - q], into: slots[step.slot - q - 1], count: count, threads: threads) }
        }
        return plan.sum(count: count, threads: threads) { i in nodes(slots[i]) }
    }

    /// `left[i] = left[i] + right[i]` (one rounding per element; threads take fixed chunks).
    static func add(_ right: UnsafePointer<Float>, into left: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        ParallelMemory.add(right, into: left, count: count, threads: threads)
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

/// The shape of the canonical reduction of samples `firstSample ..< firstSample + samples` when
/// they are appended one by one (``SampleTreeSum``'s binary-counter rule: a new node merges
/// with the stack's top while the top has the same size and starts an aligned pair; each merge
/// is one `left + right`). The rule depends on the sample indices only, so one plan serves every
/// element of a gradient: the reduction can keep its stack per output tile
/// (``GEMM/sampleTreeMultiply(m:n:depth:samples:firstSample:packSample:outputs:ldc:threads:chunkFloats:)``)
/// or per buffer (``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``).
///
/// ```swift
/// let plan = SampleTreePlan(firstSample: 3, samples: 3)
/// plan.nodes.map(\.size)   // [1, 2]: sample 3 alone, then samples 4 and 5
/// ```
@_spi(Kernels) public struct SampleTreePlan: Sendable {
    /// What appending one sample does.
    @_spi(Kernels) public struct Step: Sendable {
        /// The stack slot the sample's contribution is written to (the stack's depth before it).
        @_spi(Kernels) public var slot: Int
        /// How many merges follow: slot `slot − q − 1` += slot `slot − q` for `q` in `0..<merges`.
        @_spi(Kernels) public var merges: Int
    }

    /// One step per sample, in order.
    @_spi(Kernels) public let steps: [Step]
    /// The stack at the end, bottom first: node `i` lives in slot `i`.
    @_spi(Kernels) public let nodes: [(start: Int, size: Int)]
    /// Slots the stack ever uses.
    @_spi(Kernels) public let slotCount: Int
    /// The global index of the first sample.
    @_spi(Kernels) public let firstSample: Int

    /// Plans the samples `firstSample ..< firstSample + samples`.
    @_spi(Kernels) public init(firstSample: Int, samples: Int) {
        var stack: [(start: Int, size: Int)] = [], steps: [Step] = [], slots = 0
        for n in 0..<samples {
            var current = (start: firstSample + n, size: 1), merges = 0
            let slot = stack.count
            slots = max(slots, slot + 1)
            while let top = stack.last, top.size == current.size, top.start % (2 * top.size) == 0 {
                stack.removeLast()
                merges += 1
                current = (top.start, top.size * 2)
            }
            stack.append(current)
            steps.append(Step(slot: slot, merges: merges))
        }
        self.steps = steps
        self.nodes = stack
        self.slotCount = slots
        self.firstSample = firstSample
    }

    /// The final nodes as a ``SampleTreeSum``: node `i`'s `count` values are copied from
    /// `values(i)` (large nodes on up to `threads` threads: ``ParallelMemory/array(copying:count:threads:)``).
    func sum(count: Int, threads: Int, values: (Int) -> UnsafePointer<Float>) -> SampleTreeSum {
        var sum = SampleTreeSum(count: count, startIndex: firstSample)
        for (i, node) in nodes.enumerated() {
            let block = SampleTreeSum.Block(start: node.start, size: node.size,
                                            values: ParallelMemory.array(copying: values(i), count: count, threads: threads))
            do { try sum.append(block) } catch { preconditionFailure("SampleTreePlan: \(error)") }
        }
        return sum
    }
}
