/// NumPy's `np.random.Generator` (NumPy 2.4.6; docs/random.md, "`default_rng`") over any
/// ``NumPyBitGenerator``; `NumPyGenerator<PCG64>` is `np.random.default_rng`.
///
/// Integers use Lemire's method on buffered 32-bit draws (64-bit draws and a
/// 128-bit product for ranges of 2^32 and more), `standardNormal()` the
/// 256-layer ziggurat, and shuffles NumPy's masked-rejection interval.
///
/// ```swift
/// var g = NumPyGenerator(seed: 0)                  // np.random.default_rng(0)
/// let u = g.random()                               // 0.6369616873214543
/// let k = try g.integers(low: 0, high: 100)
/// let z = g.standardNormal()
/// let p = g.permutation(20)
/// var h = NumPyGenerator(bitGenerator: SFC64(seed: 7))  // Generator(SFC64(7))
/// ```
public struct NumPyGenerator<BitGenerator: NumPyBitGenerator>: Equatable, Sendable {
    /// The bit generator (NumPy's `Generator.bit_generator`).
    public var bitGenerator: BitGenerator

    /// `Generator(bit_generator)`.
    public init(bitGenerator: BitGenerator) {
        self.bitGenerator = bitGenerator
    }

    /// `Generator(BitGenerator(seed_sequence))`.
    public init(seedSequence: SeedSequence) {
        self.init(bitGenerator: BitGenerator(seedSequence: seedSequence))
    }

    // MARK: Uniform

    /// `random()`: the bit generator's `next_double`, in [0, 1).
    @inlinable
    public mutating func random() -> Double { bitGenerator.nextDouble() }

    /// `random(count)`.
    ///
    /// - Throws: ``NumPyRandomError/negativeCount(_:)`` when `count < 0`.
    @inlinable
    public mutating func random(count: Int) throws(NumPyRandomError) -> [Double] {
        let n = try _NumPyBounded.count(count)
        return [Double](unsafeUninitializedCapacity: n) { buf, done in
            for i in 0..<n { buf[i] = bitGenerator.nextDouble() }
            done = n
        }
    }

    // MARK: Integers

    /// `integers(low, high)` (int64, `endpoint=False`): a value in `low ..< high`.
    ///
    /// - Throws: ``NumPyRandomError/emptyRange(low:high:)`` when `high <= low`.
    @inlinable
    public mutating func integers(low: Int64, high: Int64) throws(NumPyRandomError) -> Int64 {
        let rng = try _NumPyBounded.range(low, high)
        return _NumPyBounded.offset(low, _NumPyBounded.lemire(rng, &bitGenerator))
    }

    /// `integers(low, high, count)`.
    ///
    /// - Throws: ``NumPyRandomError`` for an empty range or a negative count.
    @inlinable
    public mutating func integers(low: Int64, high: Int64, count: Int) throws(NumPyRandomError) -> [Int64] {
        let rng = try _NumPyBounded.range(low, high)
        let n = try _NumPyBounded.count(count)
        return [Int64](unsafeUninitializedCapacity: n) { buf, done in
            for i in 0..<n { buf[i] = _NumPyBounded.offset(low, _NumPyBounded.lemire(rng, &bitGenerator)) }
            done = n
        }
    }

    // MARK: Normal

    /// `normal(loc, scale)`: `loc + scale · standard_normal()` (unfused).
    ///
    /// - Throws: ``NumPyRandomError/negativeScale(_:)`` when `scale` has its
    ///   sign bit set (NumPy rejects `-0.0` too; NaN passes, as in NumPy).
    public mutating func normal(loc: Double = 0, scale: Double = 1) throws(NumPyRandomError) -> Double {
        guard scale.isNaN || scale.sign == .plus else { throw .negativeScale(scale) }
        return loc + scale * standardNormal()
    }

    // MARK: Permutations

    /// `permutation(n)`: `arange(n)` shuffled; empty when `n ≤ 0` (as `arange`).
    @inlinable
    public mutating func permutation(_ n: Int) -> [Int] {
        _NumPyBounded.permutation(n, &bitGenerator)
    }

    /// `shuffle(x)` for 1-D data, in place (masked-rejection indices, not Lemire).
    @inlinable
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ collection: inout C) {
        _NumPyBounded.shuffle(&collection, &bitGenerator)
    }

    // MARK: State

    /// The bit generator's state; a `Generator` holds no other state.
    public var serializedState: [UInt8] { bitGenerator.serializedState }

    /// Restores a state written by ``serializedState``.
    ///
    /// - Throws: ``RandomStateError`` when the bytes are not a valid state.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        self.init(bitGenerator: try BitGenerator(serializedState: bytes))
    }
}

extension NumPyGenerator where BitGenerator == PCG64 {
    /// `np.random.default_rng(seed)` for an integer seed below 2^64:
    /// `Generator(PCG64(SeedSequence(seed)))`.
    public init(seed: UInt64) {
        self.init(seedSequence: SeedSequence(entropy: seed))
    }
}
