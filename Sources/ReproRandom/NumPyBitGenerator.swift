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
