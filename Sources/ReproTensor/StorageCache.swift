import Synchronization

/// Freed large tensor blocks kept for reuse, so that a new activation does not
/// make the kernel fault in and zero fresh pages (measured at 10–11 % of all CPU
/// time of a RetinaNet forward pass).
///
/// Policy, for blocks of at least ``TensorStorage/cacheThreshold`` bytes (128 KiB):
/// - a request takes the smallest cached block that is large enough (best fit;
///   a larger block serves a smaller request rather than make it fault in
///   fresh pages);
/// - the cache counts the bytes of large blocks in use (`live`, a reused
///   block's whole capacity) and the most that were ever in use at once
///   (`peak`); when a request finds no block, the oldest cached blocks are
///   given back until `live + cached ≤ peak + peak/20` again, so the cache
///   never makes the process hold more than 5 % beyond the large-block memory
///   of its own busiest moment — and a pass that repeats an earlier one finds
///   every block it needs (from its third pass on, a RetinaNet detection
///   allocates no fresh storage: ``Runtime/freshStorageBytes`` stays put);
/// - a freed block is kept while the cache stays within the limit
///   (``RuntimeSettings/storageCacheBytes``), the oldest blocks giving way.
///
/// The cache only changes where memory comes from: no result depends on it
/// (kernels write every element of an uninitialized output, and zero-filled
/// tensors are filled explicitly). ``Runtime/releaseCachedStorage()`` empties it.
final class StorageCache: Sendable {
    /// The process-wide cache used by ``TensorStorage``.
    static let shared = StorageCache()

    /// A cached block.
    struct Block: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let capacity: Int
    }

    private struct State: ~Copyable {
        var blocks: [Block] = []   // oldest first
        var cached = 0
        var live = 0
        var peak = 0
        /// Bytes of the requests no cached block served (allocated fresh by the caller).
        var fresh = 0

        /// The most `live + cached` may reach after a miss: the peak plus 5 %.
        var bound: Int { peak + peak / 20 }

        /// Removes the oldest blocks until `cached ≤ target`.
        mutating func evict(downTo target: Int) -> [Block] {
            var freed: [Block] = []
            while cached > max(target, 0), !blocks.isEmpty {
                let old = blocks.removeFirst()
                cached -= old.capacity
                freed.append(old)
            }
            return freed
        }
    }

    private let state = Mutex(State())
    /// Gives a block back to the system (tests substitute a recorder).
    private let release: @Sendable (Block) -> Void

    /// Creates an empty cache; `release` frees a block (default: `deallocate`).
    init(release: @escaping @Sendable (Block) -> Void = { $0.base.deallocate() }) {
        self.release = release
    }

    /// Bytes currently cached.
    var cachedBytes: Int { state.withLock { $0.cached } }

    /// Bytes of large blocks currently in use, and the most ever in use at once.
    var usage: (live: Int, peak: Int) { state.withLock { ($0.live, $0.peak) } }

    /// Bytes of all requests so far that no cached block served (``Runtime/freshStorageBytes``).
    var freshBytes: Int { state.withLock { $0.fresh } }

    /// A cached block for a request of `bytes`, or `nil`: the caller then
    /// allocates `bytes` fresh (counted as in use here).
    func take(atLeast bytes: Int) -> Block? {
        var freed: [Block] = []
        let found: Block? = state.withLock { s in
            var best = -1
            for (i, b) in s.blocks.enumerated() where b.capacity >= bytes {
                if best < 0 || b.capacity < s.blocks[best].capacity { best = i }
            }
            if best >= 0 {
                let b = s.blocks.remove(at: best)
                s.cached -= b.capacity
                s.live += b.capacity
                s.peak = max(s.peak, s.live)
                return b
            }
            s.live += bytes
            s.peak = max(s.peak, s.live)
            s.fresh += bytes
            freed = s.evict(downTo: s.bound - s.live)
            return nil
        }
        freed.forEach(release)
        return found
    }

    /// Takes back a large block that is no longer used: keeps it if it fits in
    /// `limit` (evicting the oldest blocks as needed) and returns `true`, or
    /// returns `false` and the caller frees it.
    func keep(_ base: UnsafeMutableRawPointer, capacity: Int, limit: Int) -> Bool {
        var freed: [Block] = []
        let kept: Bool = state.withLock { s in
            s.live -= capacity
            guard capacity <= limit else { return false }
            freed = s.evict(downTo: limit - capacity)
            s.blocks.append(Block(base: base, capacity: capacity))
            s.cached += capacity
            return true
        }
        freed.forEach(release)
        return kept
    }

    /// Releases every cached block; returns the bytes released.
    @discardableResult
    func releaseAll() -> Int {
        var total = 0
        let blocks: [Block] = state.withLock { s in
            total = s.cached
            defer { s.blocks = []; s.cached = 0 }
            return s.blocks
        }
        blocks.forEach(release)
        return total
    }
}
