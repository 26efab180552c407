/// NumPy's legacy `np.random.RandomState` (NumPy 2.4.6; docs/random.md, "Legacy `RandomState`"):
/// MT19937 seeded with `init_genrand` (or `init_by_array` for a seed array),
/// plus the cached second value of the polar Gaussian.
///
/// `standardNormal()` is Marsaglia's polar method and calls the platform's
/// `log` through ``PlatformMath`` — the one libm call NumPy makes on this
/// path — so it reproduces NumPy bit for bit where the libm agrees with glibc
/// (the vectors were made with glibc 2.36 on x86-64; see docs/random.md,
/// "What depends on the platform").
/// Everything else here is exact integer and IEEE arithmetic.
///
/// ```swift
/// var rs = NumPyRandomState(seed: 0)        // np.random.RandomState(0)
/// let u = rs.randomSample()                 // 0.5488135039273248
/// let z = rs.standardNormal()
/// let k = try rs.randint(low: 0, high: 100)
/// let p = rs.permutation(20)
/// ```
public struct NumPyRandomState: Equatable, Sendable {
    /// The Mersenne Twister (NumPy's `RandomState._bit_generator`).
    public var bitGenerator: MT19937
    @usableFromInline var _hasGauss: Bool
    @usableFromInline var _gauss: Double

    /// Whether a cached Gaussian is waiting (NumPy's `has_gauss`).
    public var hasGauss: Bool { _hasGauss }
    /// The cached Gaussian (NumPy's `gauss`; 0 when none is cached).
    public var gauss: Double { _gauss }

    /// `RandomState(seed)` for a seed in `0 ... 2^32 - 1` (`init_genrand`).
    public init(seed: UInt32) {
        self.init(bitGenerator: MT19937(seed: seed))
    }

    /// `RandomState(seed)` for any integer type.
    ///
    /// - Throws: ``RandomStateError/seedOutOfRange(generator:seed:accepted:)``
    ///   unless `0 ≤ seed ≤ 2^32 - 1`, where NumPy raises
    ///   `ValueError: Seed must be between 0 and 2**32 - 1`. (Disfavoured, so
    ///   an integer literal picks the non-throwing ``init(seed:)-(UInt32)``.)
    @_disfavoredOverload
    public init<T: BinaryInteger>(seed: T) throws(RandomStateError) {
        guard let s = UInt32(exactly: seed) else {
            throw .seedOutOfRange(generator: "RandomState", seed: "\(seed)", accepted: "0 ... 2**32 - 1")
        }
        self.init(seed: s)
    }

    /// `RandomState([w0, w1, …])` (`init_by_array`).
    ///
    /// - Throws: ``RandomStateError/seedOutOfRange(generator:seed:accepted:)``
    ///   for an empty array ("Seed must be non-empty") or a word outside
    ///   `0 ... 2^32 - 1`.
    public init<T: BinaryInteger>(seedWords: [T]) throws(RandomStateError) {
        guard !seedWords.isEmpty else {
            throw .seedOutOfRange(generator: "RandomState", seed: "[]", accepted: "a non-empty array")
        }
        var words: [UInt32] = []
        words.reserveCapacity(seedWords.count)
        for w in seedWords {
            guard let v = UInt32(exactly: w) else {
                throw .seedOutOfRange(generator: "RandomState", seed: "\(w)", accepted: "words in 0 ... 2**32 - 1")
            }
            words.append(v)
        }
        self.init(bitGenerator: MT19937(key: words))
    }

    /// Wraps an existing generator with an empty Gaussian cache.
    public init(bitGenerator: MT19937, hasGauss: Bool = false, gauss: Double = 0) {
        self.bitGenerator = bitGenerator
        _hasGauss = hasGauss
        _gauss = hasGauss ? gauss : 0
    }

    // MARK: Uniform

    /// `random_sample()`: 53 bits from two draws, in [0, 1).
    @inlinable
    public mutating func randomSample() -> Double { bitGenerator.nextDouble() }

    /// `random_sample(count)`.
    ///
    /// - Throws: ``NumPyRandomError/negativeCount(_:)`` when `count < 0`.
    @inlinable
    public mutating func randomSample(count: Int) throws(NumPyRandomError) -> [Double] {
        let n = try _NumPyBounded.count(count)
        return [Double](unsafeUninitializedCapacity: n) { buf, done in
            for i in 0..<n { buf[i] = bitGenerator.nextDouble() }
            done = n
        }
    }

    // MARK: Normal

    /// `standard_normal()`: the polar method with one cached value.
    @inlinable
    public mutating func standardNormal() -> Double {
        if _hasGauss {
            _hasGauss = false
            let g = _gauss
            _gauss = 0
            return g
        }
        var x1: Double, x2: Double, r2: Double
        repeat {
            x1 = 2.0 * bitGenerator.nextDouble() - 1.0
            x2 = 2.0 * bitGenerator.nextDouble() - 1.0
            r2 = x1 * x1 + x2 * x2
        } while r2 >= 1.0 || r2 == 0.0
        let f = (-2.0 * PlatformMath.log(r2) / r2).squareRoot()
        _gauss = f * x1
        _hasGauss = true
        return f * x2
    }

    /// `standard_normal(count)`.
    ///
    /// - Throws: ``NumPyRandomError/negativeCount(_:)`` when `count < 0`.
    @inlinable
    public mutating func standardNormal(count: Int) throws(NumPyRandomError) -> [Double] {
        let n = try _NumPyBounded.count(count)
        return [Double](unsafeUninitializedCapacity: n) { buf, done in
            for i in 0..<n { buf[i] = standardNormal() }
            done = n
        }
    }

    /// `normal(loc, scale)`: `loc + scale · standard_normal()` (unfused).
    ///
    /// - Throws: ``NumPyRandomError/negativeScale(_:)`` when `scale` has its
    ///   sign bit set (NumPy rejects `-0.0` too; NaN passes, as in NumPy).
    public mutating func normal(loc: Double = 0, scale: Double = 1) throws(NumPyRandomError) -> Double {
        guard scale.isNaN || scale.sign == .plus else { throw .negativeScale(scale) }
        return loc + scale * standardNormal()
    }

    /// `normal(loc, scale, count)`.
    ///
    /// - Throws: ``NumPyRandomError`` for a negative `scale` or `count`.
    public mutating func normal(loc: Double = 0, scale: Double = 1, count: Int) throws(NumPyRandomError) -> [Double] {
        guard scale.isNaN || scale.sign == .plus else { throw .negativeScale(scale) }
        let n = try _NumPyBounded.count(count)
        return (0..<n).map { _ in loc + scale * standardNormal() }
    }

    // MARK: Integers and permutations

    /// `randint(low, high)` (int64): a value in `low ..< high` by masked
    /// rejection; no draw when the range holds one value.
    ///
    /// - Throws: ``NumPyRandomError/emptyRange(low:high:)`` when `high <= low`.
    @inlinable
    public mutating func randint(low: Int64, high: Int64) throws(NumPyRandomError) -> Int64 {
        let rng = try _NumPyBounded.range(low, high)
        return _NumPyBounded.offset(low, _NumPyBounded.masked(rng, &bitGenerator))
    }

    /// `randint(low, high, count)`.
    ///
    /// - Throws: ``NumPyRandomError`` for an empty range or a negative count.
    @inlinable
    public mutating func randint(low: Int64, high: Int64, count: Int) throws(NumPyRandomError) -> [Int64] {
        let rng = try _NumPyBounded.range(low, high)
        let n = try _NumPyBounded.count(count)
        return [Int64](unsafeUninitializedCapacity: n) { buf, done in
            for i in 0..<n { buf[i] = _NumPyBounded.offset(low, _NumPyBounded.masked(rng, &bitGenerator)) }
            done = n
        }
    }

    /// `permutation(n)`: `arange(n)` shuffled; empty when `n ≤ 0` (as `arange`).
    @inlinable
    public mutating func permutation(_ n: Int) -> [Int] {
        _NumPyBounded.permutation(n, &bitGenerator)
    }

    /// `shuffle(x)` for 1-D data, in place: for `i` from `count - 1` down to 1,
    /// swap element `i` with element `interval(i)`.
    @inlinable
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ collection: inout C) {
        _NumPyBounded.shuffle(&collection, &bitGenerator)
    }

    // MARK: State

    /// Layout: the MT19937 state (2504 bytes, ``MT19937/serializedState``), then
    /// has-gauss (u8) and gauss (f64 bits): 2513 bytes.
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: 2513)
        w.bytes = bitGenerator.serializedState
        w.write(hasGauss)
        w.write(hasGauss ? gauss : 0)
        return w.bytes
    }

    /// Restores a state written by ``serializedState``.
    ///
    /// - Throws: ``RandomStateError`` for a wrong length or invalid field.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        guard bytes.count == 2513 else {
            throw .wrongLength(generator: "RandomState", expected: 2513, actual: bytes.count)
        }
        let mt = try MT19937(serializedState: Array(bytes[0..<2504]))
        var r = _StateReader(Array(bytes[2504...]))
        let hasGauss = try r.readFlag(generator: "RandomState", field: "has_gauss")
        self.init(bitGenerator: mt, hasGauss: hasGauss, gauss: r.readDouble())
    }
}
