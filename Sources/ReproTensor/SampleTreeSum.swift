/// The canonical sum over samples: one fixed pairwise (binary) tree over the **global sample
/// index**, whatever split of the samples into threads, micro-batches or processes computed it.
///
/// A gradient, a loss or a statistic across a batch of `B` samples is *defined* as this sum of
/// per-sample contributions (each a vector of ``count`` floats, computed by its producer in one
/// fixed order). The tree is the one a binary counter builds when the samples arrive one by one
/// in index order: after sample `i` is pushed, the two newest partial sums are added
/// (`left + right`) while they cover equally many samples. Every node is therefore an **aligned
/// dyadic block** `[k·2ʲ, (k+1)·2ʲ)` of sample indices, and the sum of a block is
/// `sum(left half) + sum(right half)`, element by element.
///
/// Whoever holds a contiguous range of samples `[a, b)` (a thread, a micro-batch, later a process)
/// accumulates it with its own `SampleTreeSum(count:startIndex: a)`: it merges two neighbours only
/// when their union is an aligned block, so what it hands over (``blocks``) is the decomposition
/// of `[a, b)` into maximal aligned blocks — nodes of the global tree. A merger appends those
/// blocks in index order (``append(_:)-(SampleTreeSum)``) and combines them like the counter. Any
/// partition, `3 + 3 + 2` included, yields the same bits as pushing the samples one by one.
///
/// ``total()`` adds the remaining blocks (the binary decomposition of `[0, B)`, largest first)
/// from the right: `b₀ + (b₁ + (… + bₖ))`. Element-wise float additions have one rounding each,
/// so vector width never changes a bit.
///
/// ```swift
/// var whole = SampleTreeSum(count: 1)
/// for v: Float in [1e8, 1, -1e8, 1, 3] { whole.append(sample: [v]) }
/// var first = SampleTreeSum(count: 1), second = SampleTreeSum(count: 1, startIndex: 3)
/// for v: Float in [1e8, 1, -1e8] { first.append(sample: [v]) }
/// for v: Float in [1, 3] { second.append(sample: [v]) }
/// try first.append(second)
/// // whole.total() == first.total(): the same tree, bit for bit
/// ```
public struct SampleTreeSum: Sendable, Equatable {
    /// A node of the canonical tree: the sum of the contributions of samples
    /// `start ..< start + size`, where `size` is a power of two and `start` a multiple of it.
    public struct Block: Sendable, Equatable {
        /// Global index of the first sample the block covers.
        public var start: Int
        /// Number of samples (a power of two).
        public var size: Int
        /// The element-wise sum, ``SampleTreeSum/count`` floats.
        public var values: [Float]

        /// A block; `size` must be a power of two that divides `start` (checked when appended).
        public init(start: Int, size: Int, values: [Float]) {
            self.start = start
            self.size = size
            self.values = values
        }

        /// One past the last sample index the block covers.
        public var end: Int { start + size }
    }

    /// Number of floats in one contribution.
    public let count: Int
    /// Global index of the first sample this accumulator covers.
    public let startIndex: Int
    /// The partial sums so far: maximal aligned blocks covering `startIndex ..< nextIndex`, in order.
    public private(set) var blocks: [Block]

    /// An empty accumulator for contributions of `count` floats whose first sample has global
    /// index `startIndex`.
    public init(count: Int, startIndex: Int = 0) {
        precondition(count >= 0 && startIndex >= 0, "SampleTreeSum: negative count or start")
        self.count = count
        self.startIndex = startIndex
        self.blocks = []
    }

    /// Global index the next sample must have.
    public var nextIndex: Int { blocks.last?.end ?? startIndex }

    /// Number of samples accumulated.
    public var sampleCount: Int { nextIndex - startIndex }

    /// Pushes the contribution of sample ``nextIndex``.
    ///
    /// - Precondition: `values.count == count` (a producer bug, not user input).
    public mutating func append(sample values: [Float]) {
        precondition(values.count == count, "SampleTreeSum: contribution has \(values.count) values, expected \(count)")
        push(Block(start: nextIndex, size: 1, values: values))
    }

    /// Pushes the contribution of sample ``nextIndex`` from a buffer of ``count`` floats.
    public mutating func append(sample values: UnsafeBufferPointer<Float>) {
        append(sample: Array(values))
    }

    /// Appends an already-reduced node of the tree (one handed over by another accumulator).
    ///
    /// - Throws: ``SampleTreeSumError`` when the block does not start at ``nextIndex``, is not an
    ///   aligned power-of-two block, or has the wrong number of values.
    public mutating func append(_ block: Block) throws(SampleTreeSumError) {
        guard block.values.count == count else {
            throw .wrongCount(expected: count, found: block.values.count)
        }
        guard block.size > 0, block.size & (block.size - 1) == 0, block.start % block.size == 0 else {
            throw .unalignedBlock(start: block.start, size: block.size)
        }
        guard block.start == nextIndex else { throw .gap(expected: nextIndex, found: block.start) }
        push(block)
    }

    /// Appends everything another accumulator holds; it must start where this one ends.
    public mutating func append(_ other: SampleTreeSum) throws(SampleTreeSumError) {
        guard other.count == count else { throw .wrongCount(expected: count, found: other.count) }
        guard other.startIndex == nextIndex else { throw .gap(expected: nextIndex, found: other.startIndex) }
        for b in other.blocks { try append(b) }
    }

    /// The canonical sum of everything accumulated: the remaining blocks added from the right.
    /// Zeros when nothing was accumulated.
    public func total() -> [Float] {
        guard let last = blocks.last?.values else { return [Float](repeating: 0, count: count) }
        guard blocks.count > 1, count > 0 else { return last }
        let threads = Runtime.settings.threads
        let rest = blocks.dropLast().reversed()
        // The first add writes a fresh buffer (no copy of the last block), the others add in place.
        var acc = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            last.withUnsafeBufferPointer { l in
                rest.first!.values.withUnsafeBufferPointer { r in
                    ParallelMemory.add(l.baseAddress!, r.baseAddress!, into: out.baseAddress!, count: count, threads: threads)
                }
            }
            initialized = count
        }
        for b in rest.dropFirst() { Self.add(b.values, into: &acc) }
        return acc
    }

    private mutating func push(_ block: Block) {
        var current = block
        while let top = blocks.last, top.size == current.size, top.start % (2 * top.size) == 0 {
            // Take the top out of the stack so its values are uniquely referenced and the add runs in place.
            var left = blocks.removeLast()
            Self.add(current.values, into: &left.values)   // left + right, element by element
            left.size *= 2
            current = left
        }
        blocks.append(current)
    }

    /// `left[i] = left[i] + right[i]`: one rounding per element, order irrelevant (large vectors
    /// in fixed chunks on up to ``RuntimeSettings/threads`` threads: ``ParallelMemory``).
    private static func add(_ right: [Float], into left: inout [Float]) {
        let threads = Runtime.settings.threads
        left.withUnsafeMutableBufferPointer { l in
            right.withUnsafeBufferPointer { r in
                guard let lb = l.baseAddress, let rb = r.baseAddress else { return }
                ParallelMemory.add(rb, into: lb, count: l.count, threads: threads)
            }
        }
    }
}

/// Why a block could not join a ``SampleTreeSum``.
public enum SampleTreeSumError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The contribution had `found` values where `expected` were needed.
    case wrongCount(expected: Int, found: Int)
    /// The block is not a power-of-two-sized block aligned to its size, so it is not a node of the tree.
    case unalignedBlock(start: Int, size: Int)
    /// Blocks must arrive in sample order without gaps: `expected` was the next index.
    case gap(expected: Int, found: Int)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .wrongCount(e, f): return "sample sum: a contribution has \(f) values, expected \(e)"
        case let .unalignedBlock(s, n):
            return "sample sum: block of \(n) samples at index \(s) is not an aligned power-of-two node of the tree"
        case let .gap(e, f): return "sample sum: block starts at sample \(f), expected \(e) (blocks must arrive in order)"
        }
    }
}
