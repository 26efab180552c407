/// PyTorch's CPU random generator (`torch.Generator()` / the default CPU
/// generator of torch 2.15), with its distributions reproduced bit for bit.
///
/// The bit source is ``MT19937`` seeded with `init_genrand` from the low 32
/// bits of the seed; ``random()`` and ``random64()`` are PyTorch's two
/// primitives (docs/random.md, "Seeding" and "The two primitives"), and every distribution
/// (`TorchGenerator+Uniform.swift`, `+Normal`, `+Integers`, `+Permutation`,
/// `+Bernoulli`) consumes them exactly as the CPU kernels do. Values are
/// returned in storage (memory) order, which is the order PyTorch fills a
/// tensor in.
///
/// ```swift
/// var g = TorchGenerator(seed: 42)            // torch.Generator().manual_seed(42)
/// let u = try g.rand(count: 3)                // torch.rand(3, generator=g)
/// let z = try g.randn(count: 20)              // torch.randn(20, generator=g)
/// let p = try g.randperm(10)                  // torch.randperm(10, generator=g)
/// ```
///
/// The generator is a value: copying it forks the stream. Its state
/// round-trips through ``serializedState`` in PyTorch's own 5056-byte
/// `get_state()` layout.
public struct TorchGenerator: RandomBitGenerator {
    /// Which compiled copy of PyTorch's CPU kernels to reproduce (docs/random.md,
    /// "Two builds of the kernels").
    ///
    /// PyTorch's x86-64 wheel carries a `DEFAULT` and an `AVX2` build of its
    /// distribution kernels, and they give different bits for `uniform_` with
    /// general bounds, the scalar normal with general `std`/`mean`, and the
    /// float32 vectorised normal. `torch.backends.cpu.get_cpu_capability()`
    /// says which one a PyTorch process uses.
    public enum Capability: String, Sendable, Hashable, CaseIterable {
        /// The AVX2 build (every x86-64 CPU with AVX2+FMA, AVX512 machines
        /// included): `x*(to-from)+from` and the scalar normal's `z*std+mean`
        /// are fused multiply-adds, and the float32 block normal uses
        /// Cephes-style polynomials. Fully portable (IEEE operations and fma only).
        case avx2
        /// The `DEFAULT` build (`ATEN_CPU_CAPABILITY=default`, or x86-64
        /// without AVX2): unfused multiply-adds, and the float32 block normal
        /// uses libm `logf`/`sinf`/`cosf` through ``PlatformMath``, so it
        /// matches PyTorch only where libm matches glibc 2.36 x86-64.
        case generic
    }

    /// The seed of a `torch.Generator()` that was never seeded: 67280421310721.
    public static let defaultSeed: UInt64 = 67_280_421_310_721

    /// Size in bytes of ``serializedState`` (PyTorch's `get_state()`).
    public static let stateByteCount = 5056

    /// The Mersenne Twister behind the generator.
    @usableFromInline var engine: MT19937
    /// The full 64-bit seed last given (`initial_seed()`).
    public internal(set) var initialSeed: UInt64
    /// The cached second value of the scalar Box–Muller path (`next_double_normal_sample`).
    @usableFromInline var doubleNormalCache: Double?
    /// `next_float_normal_sample`: kept only so saved states round-trip; no
    /// CPU kernel of torch 2.15 sets or reads it.
    @usableFromInline var floatNormalCache: Float?
    /// The kernel build whose arithmetic the distributions reproduce. It is
    /// not part of ``serializedState`` (PyTorch's state has no such field) but
    /// is part of `==`; change it at any time.
    public var capability: Capability

    /// Creates a generator seeded like `torch.Generator().manual_seed(seed)`.
    ///
    /// Without a seed it is an unseeded `torch.Generator()`, whose seed is
    /// ``defaultSeed``.
    ///
    /// ```swift
    /// var g = TorchGenerator()                      // torch.Generator()
    /// var h = TorchGenerator(seed: 42, capability: .generic)
    /// ```
    public init(seed: UInt64 = TorchGenerator.defaultSeed, capability: Capability = .avx2) {
        engine = MT19937(seed: UInt32(truncatingIfNeeded: seed))
        initialSeed = seed
        doubleNormalCache = nil
        floatNormalCache = nil
        self.capability = capability
    }

    /// Creates a generator seeded like `manual_seed(seed)` with a signed seed;
    /// a negative seed becomes `seed + 2^64`, as PyTorch maps it.
    ///
    /// ```swift
    /// let g = TorchGenerator(seed: Int64(-1))   // initialSeed == 0xffff_ffff_ffff_ffff
    /// ```
    public init(seed: Int64, capability: Capability = .avx2) {
        self.init(seed: UInt64(bitPattern: seed), capability: capability)
    }

    /// Creates a generator seeded like `manual_seed(seed)`; lets integer
    /// literals and `Int` values be passed directly (negative values map to
    /// `seed + 2^64`).
    public init(seed: Int, capability: Capability = .avx2) {
        self.init(seed: UInt64(bitPattern: Int64(seed)), capability: capability)
    }

    /// Reseeds like `Generator.manual_seed(seed)` / `torch.manual_seed(seed)`.
    ///
    /// Clears both normal caches, runs `init_genrand` with the low 32 bits of
    /// `seed`, and records the full 64-bit seed as ``initialSeed``. So the seeds
    /// `5` and `2^32 + 5` give the same stream (docs/random.md, "Seeding").
    ///
    /// ```swift
    /// var g = TorchGenerator()
    /// g.manualSeed(UInt64(1) << 32 | 5)   // same stream as manualSeed(5)
    /// ```
    public mutating func manualSeed(_ seed: UInt64) {
        engine = MT19937(seed: UInt32(truncatingIfNeeded: seed))
        initialSeed = seed
        doubleNormalCache = nil
        floatNormalCache = nil
    }

    /// Reseeds with a signed seed; a negative seed is mapped to `seed + 2^64`
    /// (two's complement), as PyTorch does (its docstring's formula is one less).
    ///
    /// ```swift
    /// var g = TorchGenerator()
    /// g.manualSeed(Int64(-5))   // g.initialSeed == 18446744073709551611
    /// ```
    public mutating func manualSeed(_ seed: Int64) {
        manualSeed(UInt64(bitPattern: seed))
    }

    /// Reseeds with an `Int` seed (so literals resolve); negative values map to
    /// `seed + 2^64`.
    public mutating func manualSeed(_ seed: Int) {
        manualSeed(UInt64(bitPattern: Int64(seed)))
    }

    /// The 64-bit seed PyTorch derives from a decimal integer, accepting exactly
    /// what `torch.manual_seed` accepts: `-2^63 ... 2^64 - 1`, negative values
    /// mapped to `seed + 2^64`.
    ///
    /// ```swift
    /// try TorchGenerator.seed(parsing: "-1")                     // 18446744073709551615
    /// try TorchGenerator.seed(parsing: "18446744073709551616")   // throws: out of range
    /// ```
    ///
    /// - Throws: ``RandomStateError/seedOutOfRange(generator:seed:accepted:)``
    ///   for text that is not a decimal integer (optional sign, digits only) or
    ///   lies outside the accepted range (PyTorch: "Overflow when unpacking long").
    public static func seed(parsing text: String) throws(RandomStateError) -> UInt64 {
        let accepted = "integers in [-2^63, 2^64 - 1]"
        var digits = Substring(text)
        var negative = false
        if let first = digits.first, first == "-" || first == "+" {
            negative = first == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let magnitude = UInt64(digits)
        else { throw .seedOutOfRange(generator: "TorchGenerator", seed: text, accepted: accepted) }
        guard negative else { return magnitude }
        guard magnitude <= 1 << 63 else {
            throw .seedOutOfRange(generator: "TorchGenerator", seed: text, accepted: accepted)
        }
        return 0 &- magnitude
    }

    /// One 32-bit draw: PyTorch's `random()` (the tempered MT19937 output).
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 0)
    /// g.random()   // 2357136044
    /// ```
    @inlinable
    public mutating func random() -> UInt32 { engine.next32() }

    /// One 64-bit draw: PyTorch's `random64()`, two 32-bit draws with the
    /// **first in the high half**.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 0)
    /// let w = g.random64()   // (first << 32) | second
    /// ```
    @inlinable
    public mutating func random64() -> UInt64 { engine.next64HighFirst() }

    /// `RandomNumberGenerator` conformance: ``random64()``.
    @inlinable
    public mutating func next() -> UInt64 { random64() }

    /// The cached second Box–Muller value of the scalar normal path, if any.
    ///
    /// A scalar-path `randn` of odd length leaves one value here; the next
    /// scalar-path normal returns it without drawing (docs/random.md, "Normal", scalar path).
    public var cachedNormal: Double? { doubleNormalCache }
}
