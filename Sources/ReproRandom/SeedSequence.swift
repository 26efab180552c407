/// NumPy's `SeedSequence` (NumPy 2.4.6; docs/random.md, "`SeedSequence`"): hashes seed entropy of
/// any size into a pool and derives seed words for bit generators and
/// independent child sequences.
///
/// Entropy is an integer of any size or a sequence of integers. Each integer
/// becomes its 32-bit words, least significant first (`0` is one word `[0]`),
/// and a sequence concatenates its elements' words — exactly NumPy's
/// `_coerce_to_uint32_array`. OS entropy (`SeedSequence()`) is deliberately not
/// offered: every Repro stream is seeded explicitly.
///
/// ```swift
/// let ss = SeedSequence(entropy: 42)
/// let words = ss.generateState(count: 4)            // ss.generate_state(4)
/// let seeds = ss.generateState64(count: 2)          // ss.generate_state(2, np.uint64)
/// var parent = SeedSequence(entropy: 7)
/// let children = parent.spawn(2)                    // spawn keys (0,) and (1,)
/// ```
public struct SeedSequence: Hashable, Sendable {
    /// NumPy's default (and smallest accepted) pool size, 4 words.
    public static let defaultPoolSize = 4

    static let initA: UInt32 = 0x43b0_d7e5
    static let multA: UInt32 = 0x931e_8875
    static let initB: UInt32 = 0x8b51_f9dd
    static let multB: UInt32 = 0x58f3_8ded
    static let mixL: UInt32 = 0xca01_f9dd
    static let mixR: UInt32 = 0x4973_f715

    /// The run entropy as 32-bit words, least significant first.
    public let entropyWords: [UInt32]
    /// The spawn key: the child indices leading from the root sequence to this one.
    public let spawnKey: [UInt64]
    /// The number of words in ``pool``.
    public let poolSize: Int
    /// How many children ``spawn(_:)`` has handed out so far.
    public private(set) var childrenSpawned: Int
    /// The mixed entropy pool (NumPy's `SeedSequence.pool`).
    public let pool: [UInt32]

    /// Creates a sequence from raw entropy words, used as given (as NumPy uses a
    /// `uint32` array).
    ///
    /// - Parameters:
    ///   - entropyWords: the run entropy, least significant word first.
    ///   - spawnKey: the spawn key (empty for a root sequence).
    ///   - poolSize: the pool size; NumPy requires at least 4.
    ///   - childrenSpawned: the number of children already spawned.
    /// - Throws: ``RandomStateError/invalidField(generator:field:detail:)`` when
    ///   `poolSize < 4` or `childrenSpawned < 0`.
    public init(
        entropyWords: [UInt32], spawnKey: [UInt64] = [], poolSize: Int, childrenSpawned: Int = 0
    ) throws(RandomStateError) {
        guard poolSize >= Self.defaultPoolSize else {
            throw .invalidField(generator: "SeedSequence", field: "pool_size",
                                detail: "the size of the entropy pool should be at least 4, got \(poolSize)")
        }
        guard childrenSpawned >= 0 else {
            throw .invalidField(generator: "SeedSequence", field: "n_children_spawned",
                                detail: "must be non-negative, got \(childrenSpawned)")
        }
        self.init(uncheckedWords: entropyWords, spawnKey: spawnKey, poolSize: poolSize,
                  childrenSpawned: childrenSpawned)
    }

    /// Creates a sequence from raw entropy words with the default pool size.
    ///
    /// `SeedSequence(entropyWords: [1, 2])` equals NumPy's
    /// `SeedSequence(np.array([1, 2], dtype=np.uint32))`.
    public init(entropyWords: [UInt32], spawnKey: [UInt64] = []) {
        self.init(uncheckedWords: entropyWords, spawnKey: spawnKey, poolSize: Self.defaultPoolSize,
                  childrenSpawned: 0)
    }

    /// `SeedSequence(entropy)` for a non-negative integer below 2^64.
    public init(entropy: UInt64, spawnKey: [UInt64] = []) {
        self.init(entropyWords: Self.words(of: entropy), spawnKey: spawnKey)
    }

    /// `SeedSequence([e0, e1, …])`: each element contributes its own words.
    public init(entropy: [UInt64], spawnKey: [UInt64] = []) {
        self.init(entropyWords: entropy.flatMap(Self.words(of:)), spawnKey: spawnKey)
    }

    /// `SeedSequence(n)` for an integer of any size, given as 32-bit words, least
    /// significant first (`[3, 0, 1]` is 2^64 + 3). High zero words are ignored,
    /// as they are in the integer.
    public init(bigEntropy words: [UInt32], spawnKey: [UInt64] = []) {
        var w = words
        while w.count > 1, w.last == 0 { w.removeLast() }
        if w.isEmpty { w = [0] }
        self.init(entropyWords: w, spawnKey: spawnKey)
    }

    private init(uncheckedWords: [UInt32], spawnKey: [UInt64], poolSize: Int, childrenSpawned: Int) {
        entropyWords = uncheckedWords
        self.spawnKey = spawnKey
        self.poolSize = poolSize
        self.childrenSpawned = childrenSpawned
        pool = Self.mixEntropy(Self.assemble(uncheckedWords, spawnKey, poolSize), poolSize: poolSize)
    }

    /// The 32-bit words of an integer, least significant first; `0` is `[0]`.
    static func words(of value: UInt64) -> [UInt32] {
        value >> 32 == 0
            ? [UInt32(truncatingIfNeeded: value)]
            : [UInt32(truncatingIfNeeded: value), UInt32(truncatingIfNeeded: value >> 32)]
    }

    /// Run entropy, zero-padded to the pool size when a spawn key follows, then the spawn key's words.
    static func assemble(_ run: [UInt32], _ spawnKey: [UInt64], _ poolSize: Int) -> [UInt32] {
        guard !spawnKey.isEmpty else { return run }
        var out = run
        if out.count < poolSize { out += repeatElement(0, count: poolSize - out.count) }
        for k in spawnKey { out += words(of: k) }
        return out
    }

    static func mixEntropy(_ words: [UInt32], poolSize: Int) -> [UInt32] {
        var h = initA
        func hashmix(_ value: UInt32) -> UInt32 {
            var v = value ^ h
            h = h &* multA
            v = v &* h
            return v ^ (v >> 16)
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let r = (x &* mixL) &- (y &* mixR)
            return r ^ (r >> 16)
        }
        var pool = [UInt32](repeating: 0, count: poolSize)
        for i in 0..<poolSize { pool[i] = hashmix(i < words.count ? words[i] : 0) }
        for src in 0..<poolSize {
            for dst in 0..<poolSize where src != dst {
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
            }
        }
        if words.count > poolSize {
            for src in poolSize..<words.count {
                for dst in 0..<poolSize { pool[dst] = mix(pool[dst], hashmix(words[src])) }
            }
        }
        return pool
    }

    /// `generate_state(count)` with `dtype=np.uint32`.
    ///
    /// - Precondition-free: a negative `count` yields an empty array.
    public func generateState(count: Int) -> [UInt32] {
        let n = max(0, count)
        var out = [UInt32](repeating: 0, count: n)
        var h = Self.initB
        for i in 0..<n {
            var v = pool[i % poolSize] ^ h
            h = h &* Self.multB
            v = v &* h
            out[i] = v ^ (v >> 16)
        }
        return out
    }

    /// `generate_state(count, np.uint64)`: pairs of 32-bit words, low word first.
    public func generateState64(count: Int) -> [UInt64] {
        let w = generateState(count: 2 * max(0, count))
        return (0..<max(0, count)).map { UInt64(w[2 * $0]) | (UInt64(w[2 * $0 + 1]) << 32) }
    }

    /// `spawn(count)`: `count` child sequences whose spawn keys extend this one's
    /// with the indices `childrenSpawned ..< childrenSpawned + count`.
    public mutating func spawn(_ count: Int) -> [SeedSequence] {
        let n = max(0, count)
        let first = childrenSpawned
        childrenSpawned += n
        return (first..<(first + n)).map {
            SeedSequence(uncheckedWords: entropyWords, spawnKey: spawnKey + [UInt64($0)], poolSize: poolSize,
                         childrenSpawned: 0)
        }
    }
}
