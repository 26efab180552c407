/// The 32-bit Mersenne Twister (Matsumoto & Nishimura, 1998), the bit
/// generator behind PyTorch's CPU generator, NumPy's `RandomState` and
/// CPython's `random`.
///
/// The position is kept the way PyTorch keeps it (`left`, `next`; see
/// docs/random.md, "MT19937") so that PyTorch's saved states round-trip exactly. The
/// raw 32-bit output is ``next32()``.
///
/// ```swift
/// var mt = MT19937(seed: 5)          // init_genrand(5), as torch.manual_seed(5)
/// let word = mt.next32()
/// var py = MT19937(key: [5])         // init_by_array([5]), as random.seed(5)
/// ```
public struct MT19937: RandomBitGenerator {
    /// Number of 32-bit words of state.
    public static let stateWords = 624

    @usableFromInline var mt: [UInt32]
    /// PyTorch's `left`: draws remaining before the next regeneration, plus one.
    @usableFromInline var left: Int32
    /// PyTorch's `next`: index of the next word to temper.
    @usableFromInline var nextIndex: UInt32

    /// Seeds with `init_genrand(seed)`, as PyTorch's `manual_seed` (low 32 bits)
    /// and NumPy's `RandomState(seed)` do.
    public init(seed: UInt32) {
        var words = [UInt32](repeating: 0, count: 624)
        words[0] = seed
        for i in 1..<624 {
            let prev = words[i - 1]
            words[i] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(i)
        }
        mt = words
        left = 1
        nextIndex = 0
    }

    /// Seeds with `init_by_array(key)`, as CPython's `random.seed(int)` and
    /// NumPy's `RandomState([words])` do.
    ///
    /// - Precondition: `key` is not empty.
    public init(key: [UInt32]) {
        precondition(!key.isEmpty, "MT19937 init_by_array needs at least one key word")
        self.init(seed: 19_650_218)
        var i = 1
        var j = 0
        let n = key.count
        for _ in 0..<max(624, n) {
            let prev = mt[i - 1]
            mt[i] = (mt[i] ^ ((prev ^ (prev >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(truncatingIfNeeded: j)
            i += 1
            j += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
            if j >= n { j = 0 }
        }
        for _ in 0..<623 {
            let prev = mt[i - 1]
            mt[i] = (mt[i] ^ ((prev ^ (prev >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
        }
        mt[0] = 0x8000_0000
        left = 1
        nextIndex = 0
    }

    /// Creates a generator from raw state words and PyTorch's position counters.
    ///
    /// - Throws: ``RandomStateError`` unless there are 624 words,
    ///   `1 ≤ left ≤ 624` and `next ≤ 624`.
    public init(words: [UInt32], left: Int32, next: UInt32) throws(RandomStateError) {
        guard words.count == 624 else {
            throw .invalidField(generator: "MT19937", field: "words", detail: "need 624 words, got \(words.count)")
        }
        guard (1...624).contains(left) else {
            throw .invalidField(generator: "MT19937", field: "left", detail: "\(left) not in 1...624")
        }
        guard next <= 624 else {
            throw .invalidField(generator: "MT19937", field: "next", detail: "\(next) > 624")
        }
        mt = words
        self.left = left
        nextIndex = next
    }

    /// The 624 state words.
    public var words: [UInt32] { mt }
    /// PyTorch's `left` counter: draws until the next twist, plus one.
    public var leftCounter: Int32 { left }
    /// PyTorch's `next` counter: the index of the next word to temper.
    public var nextCounter: UInt32 { nextIndex }

    /// Regenerates all 624 words in place (the "twist").
    @usableFromInline
    mutating func twist() {
        mt.withUnsafeMutableBufferPointer { Self.twist($0.baseAddress!) }
    }

    /// The twist of the 624 words at `m`, in place.
    @usableFromInline
    static func twist(_ m: UnsafeMutablePointer<UInt32>) {
        @inline(__always) func mix(_ k: Int, _ k1: Int, _ km: Int) {
            let y = (m[k] & 0x8000_0000) | (m[k1] & 0x7fff_ffff)
            m[k] = m[km] ^ (y >> 1) ^ ((0 &- (y & 1)) & 0x9908_b0df)
        }
        for k in 0..<227 { mix(k, k + 1, k + 397) }
        for k in 227..<623 { mix(k, k + 1, k - 227) }
        mix(623, 0, 396)
    }

    /// The tempering of one state word into an output.
    @inlinable @inline(__always)
    static func temper(_ word: UInt32) -> UInt32 {
        var y = word
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// The next tempered 32-bit output.
    @inlinable @inline(__always)
    public mutating func next32() -> UInt32 {
        left &-= 1
        if left == 0 {
            twist()
            left = 624
            nextIndex = 0
        }
        let y = mt[Int(nextIndex)]
        nextIndex &+= 1
        return Self.temper(y)
    }

    /// Advances the generator by `count` outputs of ``next32()`` without computing them: the
    /// state afterwards is the state after `count` calls (the words are regenerated, never
    /// tempered). A non-positive `count` does nothing.
    ///
    /// ```swift
    /// var a = MT19937(seed: 1), b = MT19937(seed: 1)
    /// a.discard(1000)
    /// for _ in 0..<1000 { _ = b.next32() }
    /// // a and b now give the same outputs
    /// ```
    public mutating func discard(_ count: Int) {
        var remaining = count
        while remaining > 0 {
            if left == 1 {
                // What the next draw would do: regenerate and restart at word 0.
                twist()
                left = 625
                nextIndex = 0
            }
            let k = min(remaining, Int(left) - 1)
            nextIndex &+= UInt32(k)
            left &-= Int32(k)
            remaining -= k
        }
    }

    /// Two draws, the first in the high half (PyTorch's `random64`, NumPy's
    /// MT `next64`).
    @inlinable
    public mutating func next64HighFirst() -> UInt64 {
        let hi = UInt64(next32())
        return (hi << 32) | UInt64(next32())
    }

    /// `RandomNumberGenerator`: two draws, first in the high half.
    @inlinable
    public mutating func next() -> UInt64 { next64HighFirst() }

    /// Layout: 624 × u32 words, then `left` (i32), then `next` (u32): 2504 bytes.
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: 2504)
        for word in mt { w.write(word) }
        w.write(left)
        w.write(nextIndex)
        return w.bytes
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        try Self._checkLength(bytes, 2504, "MT19937")
        var r = _StateReader(bytes)
        let words: [UInt32] = r.read(count: 624)
        let left: Int32 = r.read()
        let next: UInt32 = r.read()
        try self.init(words: words, left: left, next: next)
    }
}
