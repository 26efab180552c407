/// The Philox4x32-10 counter-based generator (Salmon, Moraes, Dror & Shaw,
/// "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
///
/// Output block `n` is a pure function of `(key, counter + n)`, so any part of
/// the stream can be computed without computing what comes before it — the
/// property Repro's data loader uses to make per-sample randomness independent
/// of worker count and timing.
///
/// The stream layout mirrors PyTorch's `at::Philox4_32` (and cuRAND):
/// `key = (seed low, seed high)`, `counter = (0, 0, subsequence low,
/// subsequence high) + offset` where `offset` counts 128-bit blocks, and the
/// four words of each block are returned in order.
///
/// ```swift
/// var p = Philox4x32(seed: 42, subsequence: 0, offset: 0)
/// let w = p.next32()
/// let block = Philox4x32.block(counter: (0, 0, 0, 0), key: (0, 0))  // Random123 KAT
/// ```
public struct Philox4x32: RandomBitGenerator {
    /// A 128-bit counter as four 32-bit words, least significant first.
    public typealias Counter = (UInt32, UInt32, UInt32, UInt32)
    /// A 64-bit key as two 32-bit words, least significant first.
    public typealias Key = (UInt32, UInt32)

    /// The default seed of `at::Philox4_32`, 67280421310721.
    public static let defaultSeed: UInt64 = 67_280_421_310_721

    @usableFromInline static let m0: UInt64 = 0xD251_1F53
    @usableFromInline static let m1: UInt64 = 0xCD9E_8D57
    @usableFromInline static let w0: UInt32 = 0x9E37_79B9
    @usableFromInline static let w1: UInt32 = 0xBB67_AE85

    /// The key words.
    public private(set) var key0: UInt32, key1: UInt32
    /// The counter of the next block to compute.
    public private(set) var counter0: UInt32, counter1: UInt32, counter2: UInt32, counter3: UInt32
    var buffer: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    /// Index (0…4) of the next word of `buffer` to hand out; 4 means empty.
    var bufferIndex: Int = 4

    /// Creates the stream `at::Philox4_32(seed, subsequence, offset)` produces.
    ///
    /// - Parameters:
    ///   - seed: the 64-bit key.
    ///   - subsequence: the high 64 bits of the counter.
    ///   - offset: number of 128-bit blocks to skip.
    public init(seed: UInt64 = Philox4x32.defaultSeed, subsequence: UInt64 = 0, offset: UInt64 = 0) {
        key0 = UInt32(truncatingIfNeeded: seed)
        key1 = UInt32(truncatingIfNeeded: seed >> 32)
        counter0 = 0
        counter1 = 0
        counter2 = UInt32(truncatingIfNeeded: subsequence)
        counter3 = UInt32(truncatingIfNeeded: subsequence >> 32)
        advance(blocks: offset)
    }

    /// Creates a generator positioned at an explicit counter and key.
    public init(counter: Counter, key: Key) {
        key0 = key.0
        key1 = key.1
        (counter0, counter1, counter2, counter3) = counter
    }

    /// One application of the Philox4x32 bijection with `rounds` rounds
    /// (10 for Philox4x32-10). The key is bumped by the Weyl constants between rounds.
    @inlinable @inline(__always)
    public static func block(counter: Counter, key: Key, rounds: Int = 10) -> Counter {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for r in 0..<rounds {
            if r > 0 { k0 &+= w0; k1 &+= w1 }
            let p0 = m0 &* UInt64(c0)
            let p1 = m1 &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n1 = UInt32(truncatingIfNeeded: p1)
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            let n3 = UInt32(truncatingIfNeeded: p0)
            (c0, c1, c2, c3) = (n0, n1, n2, n3)
        }
        return (c0, c1, c2, c3)
    }

    /// Word `index` of PyTorch's stateless Philox stream (docs/random.md, "Philox4x32-10"):
    /// `torch.ops.aten._philox_randint_(out, torch.tensor([seed, offset], dtype=torch.uint64))`
    /// on a 4-byte dtype without bounds writes `statelessWord(seed:offset:index: i)` to element `i`.
    ///
    /// The block is `philox4x32_10(counter: (lo, hi, 0, 0), key: (seed lo, seed hi))` where
    /// `lo, hi` are the halves of `offset &+ index / 4` (64-bit, wrapping: the subsequence
    /// words stay 0), and the word is `index % 4` of it.
    ///
    /// ```swift
    /// Philox4x32.statelessWord(seed: 0, offset: 0, index: 0)   // 1713891541
    /// ```
    @inlinable
    public static func statelessWord(seed: UInt64, offset: UInt64, index: UInt64) -> UInt32 {
        let c = offset &+ index / 4
        let out = block(counter: (UInt32(truncatingIfNeeded: c), UInt32(truncatingIfNeeded: c >> 32), 0, 0),
                        key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        switch index % 4 {
        case 0: return out.0
        case 1: return out.1
        case 2: return out.2
        default: return out.3
        }
    }

    /// The first `count` words of PyTorch's stateless Philox stream for `(seed, offset)`
    /// (see ``statelessWord(seed:offset:index:)``); an empty array for `count ≤ 0`.
    public static func statelessWords(seed: UInt64, offset: UInt64, count: Int) -> [UInt32] {
        guard count > 0 else { return [] }
        return (0..<UInt64(count)).map { statelessWord(seed: seed, offset: offset, index: $0) }
    }

    /// Skips `blocks` 128-bit blocks (adds to the 128-bit counter, with carry)
    /// and drops any buffered words.
    public mutating func advance(blocks: UInt64) {
        let (s0, o0) = counter0.addingReportingOverflow(UInt32(truncatingIfNeeded: blocks))
        counter0 = s0
        var carry: UInt32 = o0 ? 1 : 0
        let (s1a, o1a) = counter1.addingReportingOverflow(UInt32(truncatingIfNeeded: blocks >> 32))
        let (s1, o1b) = s1a.addingReportingOverflow(carry)
        counter1 = s1
        carry = (o1a || o1b) ? 1 : 0
        let (s2, o2) = counter2.addingReportingOverflow(carry)
        counter2 = s2
        if o2 { counter3 &+= 1 }
        bufferIndex = 4
    }

    @inline(__always)
    mutating func incrementCounter() {
        counter0 &+= 1
        if counter0 == 0 {
            counter1 &+= 1
            if counter1 == 0 {
                counter2 &+= 1
                if counter2 == 0 { counter3 &+= 1 }
            }
        }
    }

    /// Computes the block at the current counter and advances the counter.
    public mutating func nextBlock() -> Counter {
        let out = Self.block(counter: (counter0, counter1, counter2, counter3), key: (key0, key1))
        incrementCounter()
        return out
    }

    /// The next 32-bit word of the stream.
    public mutating func next32() -> UInt32 {
        if bufferIndex == 4 {
            buffer = nextBlock()
            bufferIndex = 0
        }
        defer { bufferIndex += 1 }
        switch bufferIndex {
        case 0: return buffer.0
        case 1: return buffer.1
        case 2: return buffer.2
        default: return buffer.3
        }
    }

    /// `RandomNumberGenerator`: two words, the first in the low half.
    public mutating func next() -> UInt64 {
        let lo = UInt64(next32())
        return lo | (UInt64(next32()) << 32)
    }

    /// Fills `buffer` with uniform floats in [0, 1): each 32-bit word `w`
    /// becomes `Float(w >> 8) * 2^-24` (24 random bits, exact, never 1).
    ///
    /// Words are taken in stream order, so filling `n` floats consumes the same
    /// words as `n` calls of ``next32()``; a buffered partial block is used first.
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>) {
        let scale: Float = 0x1p-24
        var i = 0
        let n = buffer.count
        while i < n && bufferIndex != 4 {
            buffer[i] = Float(next32() >> 8) * scale
            i += 1
        }
        guard let base = buffer.baseAddress else { return }
        let k = (key0, key1)
        // Eight blocks at a time in SIMD lanes, while the low counter word
        // cannot wrap inside the group (the scalar loop handles carries).
        while i + 32 <= n && counter0 <= UInt32.max - 8 {
            Self.eightBlocksUniform(
                counter: (counter0, counter1, counter2, counter3), key: k, into: base + i)
            counter0 &+= 8
            i += 32
        }
        while i + 4 <= n {
            let b = Self.block(counter: (counter0, counter1, counter2, counter3), key: k)
            incrementCounter()
            base[i] = Float(b.0 >> 8) * scale
            base[i + 1] = Float(b.1 >> 8) * scale
            base[i + 2] = Float(b.2 >> 8) * scale
            base[i + 3] = Float(b.3 >> 8) * scale
            i += 4
        }
        while i < n {
            base[i] = Float(next32() >> 8) * scale
            i += 1
        }
    }

    /// Computes blocks `counter … counter+7` (low word increasing, no carry)
    /// and writes their 32 words as uniform floats, in stream order.
    ///
    /// Two groups of four blocks run in 64-bit SIMD lanes, each lane holding a
    /// 32-bit word zero-extended, so every 32×32→64 product is one `vpmuludq`
    /// and the high/low halves are a shift and a mask — no narrowing shuffles
    /// inside the rounds. The bits equal the scalar ``block(counter:key:rounds:)``.
    @inline(__always)
    static func eightBlocksUniform(counter: Counter, key: Key, into out: UnsafeMutablePointer<Float>) {
        typealias V = SIMD4<UInt64>
        let low = V(repeating: 0xffff_ffff)
        let base = UInt64(counter.0)
        var a0 = V(base, base + 1, base + 2, base + 3), b0 = a0 &+ 4
        var a1 = V(repeating: UInt64(counter.1)), b1 = a1
        var a2 = V(repeating: UInt64(counter.2)), b2 = a2
        var a3 = V(repeating: UInt64(counter.3)), b3 = a3
        var k0 = key.0, k1 = key.1
        for r in 0..<10 {
            if r > 0 { k0 &+= w0; k1 &+= w1 }
            let kk0 = V(repeating: UInt64(k0)), kk1 = V(repeating: UInt64(k1))
            let ap0 = a0 &* m0, ap1 = a2 &* m1
            let bp0 = b0 &* m0, bp1 = b2 &* m1
            (a0, a1, a2, a3) = ((ap1 &>> 32) ^ a1 ^ kk0, ap1 & low, (ap0 &>> 32) ^ a3 ^ kk1, ap0 & low)
            (b0, b1, b2, b3) = ((bp1 &>> 32) ^ b1 ^ kk0, bp1 & low, (bp0 &>> 32) ^ b3 ^ kk1, bp0 & low)
        }
        // word >> 8 < 2^24 converts exactly through the 2^52 magic number; then
        // scale by 2^-24 (exact) and transpose each group's 4×4 words to block order.
        @inline(__always) func floats(_ w: V) -> SIMD4<Float> {
            let magic = V(repeating: 0x4330_0000_0000_0000)
            let d = unsafeBitCast((w &>> 8) | magic, to: SIMD4<Double>.self) - SIMD4<Double>(repeating: 0x1p52)
            return SIMD4<Float>(d) * SIMD4<Float>(repeating: 0x1p-24)
        }
        let raw = UnsafeMutableRawPointer(out)
        for (g, words) in [(0, (a0, a1, a2, a3)), (1, (b0, b1, b2, b3))] {
            let f0 = floats(words.0), f1 = floats(words.1), f2 = floats(words.2), f3 = floats(words.3)
            for j in 0..<4 {
                raw.storeBytes(of: SIMD4<Float>(f0[j], f1[j], f2[j], f3[j]), toByteOffset: 64 * g + 16 * j,
                               as: SIMD4<Float>.self)
            }
        }
    }

    /// Returns `count` uniform floats in [0, 1) (see ``fillUniform(_:)``).
    public mutating func uniformFloats(count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            fillUniform(buf)
            initialized = count
        }
    }

    /// `at::Philox4_32::get_offset()`: the low 64 bits of the counter.
    public var offset: UInt64 { UInt64(counter0) | (UInt64(counter1) << 32) }

    /// Equality of the whole state, buffered words included.
    public static func == (a: Philox4x32, b: Philox4x32) -> Bool {
        a.serializedState == b.serializedState
    }

    /// Layout: key0, key1, counter0…3, buffer words 0…3 (u32 each), buffer index (u8): 41 bytes.
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: 41)
        // An empty buffer (index 4) is written as zeros, so equal streams have equal states.
        let b = bufferIndex == 4 ? (0, 0, 0, 0) : buffer
        for v in [key0, key1, counter0, counter1, counter2, counter3, b.0, b.1, b.2, b.3] {
            w.write(v)
        }
        w.write(UInt8(bufferIndex))
        return w.bytes
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        try Self._checkLength(bytes, 41, "Philox4x32")
        var r = _StateReader(bytes)
        key0 = r.read(); key1 = r.read()
        counter0 = r.read(); counter1 = r.read(); counter2 = r.read(); counter3 = r.read()
        buffer = (r.read(), r.read(), r.read(), r.read())
        let idx: UInt8 = r.read()
        guard idx <= 4 else {
            throw .invalidField(generator: "Philox4x32", field: "bufferIndex", detail: "\(idx) > 4")
        }
        bufferIndex = Int(idx)
    }
}
