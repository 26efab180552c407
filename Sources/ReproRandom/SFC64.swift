/// NumPy's `SFC64` bit generator (Chris Doty-Humphrey's Small Fast Chaotic
/// generator, 256-bit state; NumPy 2.4.6 `sfc64.h`, `_sfc64.pyx`).
///
/// Seeding takes three 64-bit words from the seed sequence as `a, b, c`, sets
/// the counter to 1 and discards 12 outputs. 32-bit draws are buffered halves
/// of 64-bit outputs, low half first.
///
/// ```swift
/// var bits = SFC64(seed: 42)           // np.random.SFC64(42)
/// let x = bits.next64()
/// ```
public struct SFC64: NumPyBitGenerator, _NumPyBuffered32Generator {
    @usableFromInline var a: UInt64
    @usableFromInline var b: UInt64
    @usableFromInline var c: UInt64
    @usableFromInline var counter: UInt64
    @usableFromInline var _half: _Buffered32

    /// The four state words `[a, b, c, counter]` (NumPy's `state['state']['state']`).
    public var words: [UInt64] { [a, b, c, counter] }

    /// Seeds as `SFC64(seed_sequence)`.
    public init(seedSequence: SeedSequence) {
        let w = seedSequence.generateState64(count: 3)
        a = w[0]
        b = w[1]
        c = w[2]
        counter = 1
        _half = _Buffered32()
        for _ in 0..<12 { _ = next64() }
    }

    /// Creates a generator from explicit state words `[a, b, c, counter]`.
    ///
    /// - Throws: ``RandomStateError`` unless there are exactly four words.
    public init(words: [UInt64], hasBuffered32: Bool = false, buffered32: UInt32 = 0) throws(RandomStateError) {
        guard words.count == 4 else {
            throw .invalidField(generator: "SFC64", field: "state", detail: "need 4 words, got \(words.count)")
        }
        (a, b, c, counter) = (words[0], words[1], words[2], words[3])
        _half = _Buffered32(isFull: hasBuffered32, value: buffered32)
    }

    /// The next 64-bit output.
    @inlinable @inline(__always)
    public mutating func next64() -> UInt64 {
        let out = a &+ b &+ counter
        counter &+= 1
        a = b ^ (b >> 11)
        b = c &+ (c << 3)
        c = ((c << 24) | (c >> 40)) &+ out
        return out
    }

    /// Layout: a, b, c, counter (u64), has-buffer (u8), buffered half (u32): 37 bytes.
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: 37)
        for v in [a, b, c, counter] { w.write(v) }
        w.write(_half)
        return w.bytes
    }

    /// Equality of the whole observable state (a consumed 32-bit half is ignored).
    public static func == (x: SFC64, y: SFC64) -> Bool {
        x.serializedState == y.serializedState
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        try Self._checkLength(bytes, 37, "SFC64")
        var r = _StateReader(bytes)
        let w: [UInt64] = [r.read(), r.read(), r.read(), r.read()]
        let half = try r.readBuffered32(generator: "SFC64")
        try self.init(words: w, hasBuffered32: half.isFull, buffered32: half.value)
    }
}
