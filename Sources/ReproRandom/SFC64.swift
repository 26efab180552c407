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
public struct SFC64: NumPyBitGenerator {
    @usableFromInline var a: UInt64
    @usableFromInline var b: UInt64
    @usableFromInline var c: UInt64
    @usableFromInline var counter: UInt64
    @usableFromInline var has32: Bool
    @usableFromInline var buf32: UInt32

    /// The four state words `[a, b, c, counter]` (NumPy's `state['state']['state']`).
    public var words: [UInt64] { [a, b, c, counter] }
    /// Whether a buffered 32-bit half is waiting (NumPy's `has_uint32`).
    public var hasBuffered32: Bool { has32 }
    /// The buffered 32-bit half (NumPy's `uinteger`).
    public var buffered32: UInt32 { buf32 }

    /// Seeds as `SFC64(seed_sequence)`.
    public init(seedSequence: SeedSequence) {
        let w = seedSequence.generateState64(count: 3)
        a = w[0]
        b = w[1]
        c = w[2]
        counter = 1
        has32 = false
        buf32 = 0
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
        has32 = hasBuffered32
        buf32 = buffered32
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

    /// The next 32-bit output (low half first, high half buffered).
    @inlinable @inline(__always)
    public mutating func next32() -> UInt32 {
        if has32 {
            has32 = false
            return buf32
        }
        let v = next64()
        buf32 = UInt32(truncatingIfNeeded: v >> 32)
        has32 = true
        return UInt32(truncatingIfNeeded: v)
    }

    /// `(next64() >> 11) · 2^-53`.
    @inlinable @inline(__always)
    public mutating func nextDouble() -> Double { _numpyDouble(next64()) }

    /// `random_raw()`: ``next64()``.
    @inlinable
    public mutating func nextRaw() -> UInt64 { next64() }

    /// Layout: a, b, c, counter (u64), has-buffer (u8), buffered half (u32): 37 bytes.
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: 37)
        for v in [a, b, c, counter] { w.write(v) }
        w.write(has32)
        w.write(has32 ? buf32 : 0)
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
        let flag: UInt8 = r.read()
        guard flag <= 1 else {
            throw .invalidField(generator: "SFC64", field: "has_uint32", detail: "\(flag) is not 0 or 1")
        }
        try self.init(words: w, hasBuffered32: flag == 1, buffered32: r.read())
    }
}
