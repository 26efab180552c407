import _ReproDigest

/// CPython 3.11's `random.Random`, bit for bit (docs/random.md, "CPython `random`").
///
/// An MT19937 seeded with `init_by_array` over the 32-bit words of the seed's
/// absolute value, plus CPython's cached second Gaussian. Every method draws
/// exactly the 32-bit words CPython draws, so a `PythonRandom(seed: s)` and a
/// `random.Random(s)` stay in step through any mix of calls.
///
/// ```swift
/// var r = PythonRandom(seed: 42)
/// r.random()                        // 0.6394267984578837, as random.seed(42); random.random()
/// try r.randrange(1000)             // as random.randrange(1000)
/// var deck = Array(0..<20)
/// r.shuffle(&deck)                  // as random.shuffle(deck)
/// ```
///
/// Not covered: seeding from `None` (OS entropy: use an explicit seed), from
/// a `float` (CPython hashes it), version-1 string seeding, and the
/// distributions other than those below.
public struct PythonRandom: RandomBitGenerator {
    /// The Mersenne Twister. PyTorch-style counters: CPython's position
    /// `index` equals `625 - mt.left` (see ``State``).
    @usableFromInline var mt: MT19937
    /// CPython's `gauss_next`: the second value of the last Box–Muller pair.
    @usableFromInline var gaussNext: Double?

    // MARK: Seeding

    /// `random.seed(a)` for any integer `a`: seeds with the 32-bit words of `|a|`,
    /// so `PythonRandom(seed: -42)` equals `PythonRandom(seed: 42)`.
    ///
    /// Works with every `BinaryInteger`, including arbitrary-precision integer
    /// types that report their magnitude through `words`.
    ///
    /// ```swift
    /// var r = PythonRandom(seed: UInt64.max)   // random.seed(2**64 - 1)
    /// ```
    public init(seed: some BinaryInteger) {
        var key: [UInt32] = []
        for word in seed.magnitude.words {
            var w = UInt64(word)
            for _ in 0..<(UInt.bitWidth / 32) {
                key.append(UInt32(truncatingIfNeeded: w))
                w >>= 32
            }
        }
        self.init(seedWords: key)
    }

    /// `random.seed(a)` for an integer of any size, given as the 32-bit words of
    /// `|a|`, least significant first (high zero words are ignored; an empty
    /// array means 0).
    ///
    /// ```swift
    /// var r = PythonRandom(seedWords: [7, 0, 0, 16])   // random.seed(2**100 + 7)
    /// ```
    public init(seedWords: [UInt32]) {
        var key = seedWords
        while key.count > 1, key.last == 0 { key.removeLast() }
        if key.isEmpty { key = [0] }
        mt = MT19937(key: key)
        gaussNext = nil
    }

    /// `random.seed(text)` (version 2, CPython's default): seeds with the integer
    /// `int.from_bytes(b + sha512(b).digest(), "big")` where `b` is the UTF-8 of `text`.
    ///
    /// ```swift
    /// var r = PythonRandom(seed: "hello")   // random.seed("hello")
    /// ```
    public init(seed text: String) {
        self.init(seedBytes: Array(text.utf8))
    }

    /// `random.seed(b)` for `bytes`/`bytearray` (version 2): as ``init(seed:)-(String)``
    /// with the bytes used as they are.
    public init(seedBytes bytes: [UInt8]) {
        let message = bytes + SHA512.hash(bytes).bytes
        // Big-endian byte string -> little-endian 32-bit words.
        var words = [UInt32](repeating: 0, count: (message.count + 3) / 4)
        for (i, byte) in message.reversed().enumerated() {
            words[i / 4] |= UInt32(byte) << (8 * UInt32(i % 4))
        }
        self.init(seedWords: words)
    }

    /// Reseeds in place, as `random.seed(a)` on an existing instance.
    public mutating func seed(_ a: some BinaryInteger) { self = PythonRandom(seed: a) }

    // MARK: Core draws

    /// The next tempered 32-bit output of the Mersenne Twister (one draw).
    @inlinable
    public mutating func next32() -> UInt32 { mt.next32() }

    /// `random.random()`: a Double in [0, 1) with 53 random bits, from two draws
    /// (`a = next32() >> 5`, `b = next32() >> 6`, `(a·2^26 + b)·2^-53`).
    @inlinable
    public mutating func random() -> Double {
        let a = Double(mt.next32() >> 5)
        let b = Double(mt.next32() >> 6)
        return (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random.getrandbits(k)` for `k ≤ 64`: a value below `2^k`.
    ///
    /// `k ≤ 32` takes the top `k` bits of one draw; `33 ≤ k ≤ 64` takes two draws,
    /// the **first in the low half** (unlike PyTorch's `random64`).
    ///
    /// - Throws: ``PythonRandomError/negativeBitCount(_:)`` for `k < 0`,
    ///   ``PythonRandomError/bitCountTooLarge(_:maximum:)`` for `k > 64`
    ///   (use ``getrandbitsWords(_:)``).
    public mutating func getrandbits(_ k: Int) throws(PythonRandomError) -> UInt64 {
        guard k >= 0 else { throw .negativeBitCount(k) }
        guard k <= 64 else { throw .bitCountTooLarge(k, maximum: 64) }
        return _bits(k)
    }

    /// `random.getrandbits(k)` for any `k ≥ 0`, as `ceil(k/32)` 32-bit words,
    /// least significant first (no words for `k = 0`).
    ///
    /// ```swift
    /// var r = PythonRandom(seed: 0)
    /// let w = try r.getrandbitsWords(100)   // 4 words; w[3] < 16
    /// ```
    /// - Throws: ``PythonRandomError/negativeBitCount(_:)`` for `k < 0`.
    public mutating func getrandbitsWords(_ k: Int) throws(PythonRandomError) -> [UInt32] {
        guard k >= 0 else { throw .negativeBitCount(k) }
        if k == 0 { return [] }
        if k <= 32 { return [mt.next32() >> UInt32(32 - k)] }
        var out: [UInt32] = []
        out.reserveCapacity((k + 31) / 32)
        var left = k
        while left > 0 {
            var r = mt.next32()
            if left < 32 { r >>= UInt32(32 - left) }
            out.append(r)
            left -= 32
        }
        return out
    }

    /// `getrandbits(k)` for `0 ≤ k ≤ 64` without checks.
    @inlinable
    mutating func _bits(_ k: Int) -> UInt64 {
        if k == 0 { return 0 }
        if k <= 32 { return UInt64(mt.next32() >> UInt32(32 - k)) }
        let low = UInt64(mt.next32())
        let high = UInt64(mt.next32() >> UInt32(64 - k))
        return low | (high << 32)
    }

    /// CPython's `_randbelow(n)` for `n = last + 1` (so `last = UInt64.max` means
    /// `2^64`): `k = n.bit_length()`, redraw `getrandbits(k)` until it is below `n`.
    @usableFromInline
    mutating func _randbelow(upThrough last: UInt64) -> UInt64 {
        if last == .max {
            // n = 2^64, k = 65: three words, the top one keeps 1 bit.
            while true {
                let w0 = UInt64(mt.next32()), w1 = UInt64(mt.next32())
                let top = mt.next32() >> 31
                if top == 0 { return w0 | (w1 << 32) }
            }
        }
        let n = last + 1
        let k = UInt64.bitWidth - n.leadingZeroBitCount
        var r = _bits(k)
        while r >= n { r = _bits(k) }
        return r
    }

    /// `RandomNumberGenerator`: `getrandbits(64)` (two draws, first in the low half).
    @inlinable
    public mutating func next() -> UInt64 { _bits(64) }

    // MARK: Gaussian

    /// `random.gauss(mu, sigma)`: Box–Muller with CPython's cached second value.
    ///
    /// When no value is cached it draws two `random()`s, returns
    /// `mu + cos(2π·u1)·√(−2·log(1 − u2))·sigma` and caches the `sin` partner for
    /// the next call. Reseeding or restoring a state replaces the cache.
    ///
    /// `cos`, `sin` and `log` are the platform libm's, through ``PlatformMath``, as
    /// CPython calls them: results match CPython bit for bit where the libm
    /// matches glibc 2.36 (x86-64), which produced the reference vectors.
    public mutating func gauss(mu: Double = 0, sigma: Double = 1) -> Double {
        var z: Double
        if let cached = gaussNext {
            z = cached
            gaussNext = nil
        } else {
            let x2pi = random() * 6.283185307179586
            let g2rad = (-2.0 * PlatformMath.log(1.0 - random())).squareRoot()
            z = PlatformMath.cos(x2pi) * g2rad
            gaussNext = PlatformMath.sin(x2pi) * g2rad
        }
        return mu + z * sigma
    }

    /// `random.uniform(a, b)`: `a + (b - a) * random()`.
    public mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a + (b - a) * random()
    }
}

/// Why a ``PythonRandom`` call was refused (CPython raises `ValueError`,
/// `IndexError` or `TypeError` for the same inputs).
public enum PythonRandomError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `getrandbits` with a negative bit count.
    case negativeBitCount(Int)
    /// `getrandbits` returning `UInt64` with more than `maximum` bits.
    case bitCountTooLarge(Int, maximum: Int)
    /// `randrange`/`randint` over a range with no integers.
    case emptyRange(start: Int, stop: Int, step: Int)
    /// `randrange` with `step == 0`.
    case zeroStep
    /// `choice` on an empty collection.
    case emptySequence
    /// `sample` with a count below 0 or above the population size.
    case sampleSizeOutOfRange(count: Int, populationCount: Int)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case .negativeBitCount(let k):
            return "number of bits must be non-negative, got \(k)"
        case let .bitCountTooLarge(k, maximum):
            return "getrandbits(\(k)) does not fit in \(maximum) bits; use getrandbitsWords"
        case let .emptyRange(start, stop, step):
            return "empty range for randrange(\(start), \(stop), \(step))"
        case .zeroStep:
            return "zero step for randrange()"
        case .emptySequence:
            return "cannot choose from an empty sequence"
        case let .sampleSizeOutOfRange(count, populationCount):
            return "sample of \(count) is larger than the population (\(populationCount)) or negative"
        }
    }
}
