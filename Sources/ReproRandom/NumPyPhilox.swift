/// NumPy's `Philox` bit generator: Philox4x64-10 (Salmon et al., SC 2011) with
/// NumPy 2.4.6's counter, key and buffering (`philox.h`, `_philox.pyx`).
///
/// The key is two 64-bit words (from the seed sequence, or given); the counter
/// is a 256-bit integer as four 64-bit words, least significant first. Each
/// block *first* increments the counter, then encrypts it into four 64-bit
/// outputs handed out in order. 32-bit draws are buffered halves of 64-bit
/// outputs, low half first. (Not to be confused with ``Philox4x32``, PyTorch's
/// 32-bit Philox.)
///
/// ```swift
/// var bits = NumPyPhilox(seed: 42)                          // np.random.Philox(42)
/// let far = bits.jumped()                                   // counter + 2^128
/// var keyed = NumPyPhilox(key: (1, 2), counter: (0, 0, 0, 0)) // Philox(key=2**64 + 1)
/// ```
public struct NumPyPhilox: NumPyBitGenerator, _NumPyBuffered32Generator {
    /// Four 64-bit words, least significant first.
    public typealias Block = (UInt64, UInt64, UInt64, UInt64)

    @usableFromInline static let m0: UInt64 = 0xD2E7_470E_E14C_6C93
    @usableFromInline static let m1: UInt64 = 0xCA5A_8263_9512_1157
    @usableFromInline static let w0: UInt64 = 0x9E37_79B9_7F4A_7C15
    @usableFromInline static let w1: UInt64 = 0xBB67_AE85_84CA_A73B

    @usableFromInline var key0: UInt64, key1: UInt64
    @usableFromInline var ctr: Block
    @usableFromInline var buffer: Block
    /// Index (0…4) of the next buffered 64-bit word; 4 means empty.
    @usableFromInline var bufferPos: Int
    @usableFromInline var _half: _Buffered32

    /// The key words (NumPy's `state['state']['key']`).
    public var key: (UInt64, UInt64) { (key0, key1) }
    /// The counter words (NumPy's `state['state']['counter']`).
    public var counter: Block { ctr }
    /// The buffered block (NumPy's `state['buffer']`).
    public var bufferedBlock: Block { buffer }
    /// The position in the buffered block (NumPy's `buffer_pos`, 4 = empty).
    public var bufferPosition: Int { bufferPos }

    /// Seeds as `Philox(seed_sequence)`: the key is `generate_state(2, uint64)`,
    /// the counter is 0.
    public init(seedSequence: SeedSequence) {
        let k = seedSequence.generateState64(count: 2)
        self.init(key: (k[0], k[1]), counter: (0, 0, 0, 0))
    }

    /// `Philox(key=k, counter=c)`: a 128-bit key and 256-bit counter as words,
    /// least significant first. The buffers start empty.
    public init(key: (UInt64, UInt64), counter: Block = (0, 0, 0, 0)) {
        key0 = key.0
        key1 = key.1
        ctr = counter
        buffer = (0, 0, 0, 0)
        bufferPos = 4
        _half = _Buffered32()
    }

    /// Creates a generator from all of NumPy's `state` dictionary fields.
    ///
    /// - Throws: ``RandomStateError`` when `bufferPosition` is not in 0…4.
    public init(
        key: (UInt64, UInt64), counter: Block, bufferedBlock: Block, bufferPosition: Int,
        hasBuffered32: Bool, buffered32: UInt32
    ) throws(RandomStateError) {
        guard (0...4).contains(bufferPosition) else {
            throw .invalidField(generator: "Philox", field: "buffer_pos", detail: "\(bufferPosition) not in 0...4")
        }
        self.init(key: key, counter: counter)
        buffer = bufferedBlock
        bufferPos = bufferPosition
        _half = _Buffered32(isFull: hasBuffered32, value: buffered32)
    }

    /// The Philox4x64 bijection with `rounds` rounds (10 for NumPy's Philox);
    /// the key is bumped by the Weyl constants between rounds.
    @inlinable
    public static func block(counter: Block, key: (UInt64, UInt64), rounds: Int = 10) -> Block {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for r in 0..<rounds {
            if r > 0 { k0 &+= w0; k1 &+= w1 }
            let p0 = m0.multipliedFullWidth(by: c0)
            let p1 = m1.multipliedFullWidth(by: c2)
            (c0, c1, c2, c3) = (p1.high ^ c1 ^ k0, p1.low, p0.high ^ c3 ^ k1, p0.low)
        }
        return (c0, c1, c2, c3)
    }

    @usableFromInline
    mutating func refill() {
        ctr.0 &+= 1
        if ctr.0 == 0 {
            ctr.1 &+= 1
            if ctr.1 == 0 {
                ctr.2 &+= 1
                if ctr.2 == 0 { ctr.3 &+= 1 }
            }
        }
        buffer = Self.block(counter: ctr, key: (key0, key1))
    }

    /// The next 64-bit output.
    @inlinable @inline(__always)
    public mutating func next64() -> UInt64 {
        if bufferPos >= 4 {
            refill()
            bufferPos = 1
            return buffer.0
        }
        defer { bufferPos += 1 }
        switch bufferPos {
        case 0: return buffer.0
        case 1: return buffer.1
        case 2: return buffer.2
        default: return buffer.3
        }
    }

    /// `advance(delta)` for a 256-bit `delta` given as words, least significant
    /// first: adds it to the counter modulo 2^256, then empties both buffers.
    public mutating func advance(by delta: Block) {
        var carry: UInt64 = 0
        func add(_ x: inout UInt64, _ y: UInt64) {
            let (s1, o1) = x.addingReportingOverflow(y)
            let (s2, o2) = s1.addingReportingOverflow(carry)
            x = s2
            carry = (o1 || o2) ? 1 : 0
        }
        add(&ctr.0, delta.0)
        add(&ctr.1, delta.1)
        add(&ctr.2, delta.2)
        add(&ctr.3, delta.3)
        resetBuffers()
    }

    /// `advance(delta)` for a delta below 2^128.
    public mutating func advance(by delta: Word128) {
        advance(by: (delta.low, delta.high, 0, 0))
    }

    /// `jumped(jumps)`: a copy advanced by `jumps · 2^128` (a delta whose words
    /// 2 and 3 are `jumps`' 64 bits and 0), with empty buffers.
    public func jumped(_ jumps: UInt64 = 1) -> NumPyPhilox {
        var copy = self
        copy.advance(by: (0, 0, jumps, 0))
        return copy
    }

    mutating func resetBuffers() {
        buffer = (0, 0, 0, 0)
        bufferPos = 4
        _half = _Buffered32()
    }

    /// Equality of the whole observable state (a consumed 32-bit half is ignored).
    public static func == (x: NumPyPhilox, y: NumPyPhilox) -> Bool {
        x.serializedState == y.serializedState
    }

    /// Layout: key (2 × u64), counter (4 × u64), buffer (4 × u64), buffer
    /// position (u8), has-buffer (u8), buffered half (u32): 86 bytes.
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: 86)
        for v in [key0, key1, ctr.0, ctr.1, ctr.2, ctr.3, buffer.0, buffer.1, buffer.2, buffer.3] { w.write(v) }
        w.write(UInt8(bufferPos))
        w.write(_half)
        return w.bytes
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        try Self._checkLength(bytes, 86, "Philox")
        var r = _StateReader(bytes)
        let k: (UInt64, UInt64) = (r.read(), r.read())
        let c: Block = (r.read(), r.read(), r.read(), r.read())
        let b: Block = (r.read(), r.read(), r.read(), r.read())
        let pos: UInt8 = r.read()
        let half = try r.readBuffered32(generator: "Philox")
        try self.init(key: k, counter: c, bufferedBlock: b, bufferPosition: Int(pos),
                      hasBuffered32: half.isFull, buffered32: half.value)
    }
}
