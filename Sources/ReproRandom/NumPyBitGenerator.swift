/// A bit generator that NumPy's `Generator` can drive: NumPy's `bitgen_t`
/// interface (`next_uint64`, `next_uint32`, `next_double`, `next_raw`), with
/// seeding through a ``SeedSequence`` as NumPy's `BitGenerator(seed)` does.
///
/// Conformers: ``PCG64`` (the `default_rng` generator), ``PCG64DXSM``,
/// ``SFC64``, ``NumPyPhilox`` and ``MT19937``. All but ``MT19937`` also have
/// `init(seed: UInt64)` for `X(seed)`; ``MT19937``'s `init(seed:)` is
/// `init_genrand` (the legacy seeding), so NumPy's `MT19937(seed)` is
/// `MT19937(seedSequence: SeedSequence(entropy: seed))`.
///
/// ```swift
/// var bits = SFC64(seed: 42)                 // np.random.SFC64(42)
/// let raw = bits.nextRaw()                   // bits.random_raw()
/// let more = try bits.randomRaw(count: 4)     // bits.random_raw(4)
/// var g = NumPyGenerator(bitGenerator: bits) // np.random.Generator(bits)
/// ```
public protocol NumPyBitGenerator: RandomBitGenerator {
    /// Seeds the generator from a seed sequence, as NumPy's constructor does.
    init(seedSequence: SeedSequence)
    /// NumPy's `next_uint64`.
    mutating func next64() -> UInt64
    /// NumPy's `next_uint32` (for most generators half of a buffered 64-bit draw).
    mutating func next32() -> UInt32
    /// NumPy's `next_double`: a double in [0, 1).
    mutating func nextDouble() -> Double
    /// NumPy's `next_raw`, what `bit_generator.random_raw()` returns.
    mutating func nextRaw() -> UInt64
}

extension NumPyBitGenerator {
    /// NumPy's `random_raw(count)`.
    ///
    /// - Throws: ``NumPyRandomError/negativeCount(_:)`` when `count < 0`.
    @inlinable
    public mutating func randomRaw(count: Int) throws(NumPyRandomError) -> [UInt64] {
        let n = try _NumPyBounded.count(count)
        return [UInt64](unsafeUninitializedCapacity: n) { buf, done in
            for i in 0..<n { buf[i] = nextRaw() }
            done = n
        }
    }

    /// `RandomNumberGenerator`: NumPy's `next_uint64`.
    @inlinable
    public mutating func next() -> UInt64 { next64() }
}

/// NumPy's buffered 32-bit half (`has_uint32`, `uinteger`): the high half of
/// a 64-bit output kept for the next 32-bit draw.
@usableFromInline
struct _Buffered32: Sendable {
    @usableFromInline var isFull: Bool
    @usableFromInline var value: UInt32

    @inlinable init(isFull: Bool = false, value: UInt32 = 0) {
        self.isFull = isFull
        self.value = value
    }
}

/// A NumPy bit generator whose 32-bit draws are buffered halves of its 64-bit
/// outputs, low half first, and whose `next_double` and `next_raw` come from
/// one 64-bit output: ``PCG64``, ``PCG64DXSM``, ``SFC64`` and ``NumPyPhilox``
/// (not ``MT19937``, whose native draw is 32 bits).
@usableFromInline
protocol _NumPyBuffered32Generator: NumPyBitGenerator {
    /// The buffered 32-bit half.
    var _half: _Buffered32 { get set }
}

extension _NumPyBuffered32Generator {
    /// The next 32-bit output: the buffered high half if any, else the low half
    /// of a new 64-bit output (its high half is buffered).
    @inlinable @inline(__always)
    public mutating func next32() -> UInt32 {
        if _half.isFull {
            _half.isFull = false
            return _half.value
        }
        let v = next64()
        _half = _Buffered32(isFull: true, value: UInt32(truncatingIfNeeded: v >> 32))
        return UInt32(truncatingIfNeeded: v)
    }

    /// `(next64() >> 11) · 2^-53`.
    @inlinable @inline(__always)
    public mutating func nextDouble() -> Double { _numpyDouble(next64()) }

    /// `random_raw()`: ``next64()``.
    @inlinable
    public mutating func nextRaw() -> UInt64 { next64() }

    /// Whether a buffered 32-bit half is waiting (NumPy's `has_uint32`).
    public var hasBuffered32: Bool { _half.isFull }

    /// The buffered 32-bit half (NumPy's `uinteger`).
    public var buffered32: UInt32 { _half.value }
}

extension _StateWriter {
    /// The buffered half as a `has` byte and the value (0 when empty): 5 bytes.
    mutating func write(_ half: _Buffered32) {
        write(half.isFull)
        write(half.isFull ? half.value : 0)
    }
}

extension _StateReader {
    /// Reads a buffered half written by `_StateWriter.write(_: _Buffered32)`.
    ///
    /// - Throws: ``RandomStateError/invalidField(generator:field:detail:)``
    ///   when the `has` byte is neither 0 nor 1.
    mutating func readBuffered32(generator: String) throws(RandomStateError) -> _Buffered32 {
        let isFull = try readFlag(generator: generator, field: "has_uint32")
        return _Buffered32(isFull: isFull, value: read())
    }
}

/// `(x >> 11) · 2^-53`: the double that NumPy's 64-bit generators return.
@inlinable @inline(__always)
func _numpyDouble(_ x: UInt64) -> Double {
    Double(x >> 11) * (1.0 / 9_007_199_254_740_992.0)
}

extension PCG64 {
    /// `np.random.PCG64(seed)` for an integer seed below 2^64.
    public init(seed: UInt64) { self.init(seedSequence: SeedSequence(entropy: seed)) }
}

extension PCG64DXSM {
    /// `np.random.PCG64DXSM(seed)` for an integer seed below 2^64.
    public init(seed: UInt64) { self.init(seedSequence: SeedSequence(entropy: seed)) }
}

extension SFC64 {
    /// `np.random.SFC64(seed)` for an integer seed below 2^64.
    public init(seed: UInt64) { self.init(seedSequence: SeedSequence(entropy: seed)) }
}

extension NumPyPhilox {
    /// `np.random.Philox(seed)` for an integer seed below 2^64.
    public init(seed: UInt64) { self.init(seedSequence: SeedSequence(entropy: seed)) }
}
