import Foundation

// Repro's one piece of global mutable state: the default generators that
// `Reproducibility.seed(_:)` resets. It is runtime configuration (like PyTorch's default
// CPU generator or `np.random`'s global `RandomState`), guarded by a lock, and
// library code only draws from it when the caller asks for the default. Every
// other generator in Repro is a value the caller owns.

extension Reproducibility {
    /// Seeds every default generator from one integer, each the way its own
    /// library's seeding call would, and reports what it could not reach.
    ///
    /// This is the whole `set_seed` routine of a PyTorch project in one call:
    ///
    /// | library call it replaces | default generator |
    /// | --- | --- |
    /// | `random.seed(s)` | ``DefaultGenerators/python`` (any integer) |
    /// | `at::Philox4_32(s)` (Repro's own counter-based stream) | ``DefaultGenerators/philox`` (`-2^63 ≤ s < 2^64`, negatives as two's complement) |
    /// | `torch.manual_seed(s)` | ``DefaultGenerators/torch`` (`-2^63 ≤ s < 2^64`, as torch) |
    /// | `np.random.seed(s)` | ``DefaultGenerators/numpyLegacy`` (only `0 ≤ s < 2^32`, as NumPy) |
    /// | `np.random.default_rng(s)` | ``DefaultGenerators/numpy`` (any `s ≥ 0`) |
    ///
    /// A generator whose library would refuse `s` keeps its previous state and is
    /// listed in ``SeedReport/unreachable``. So are the sources no seed reaches:
    /// Swift's per-process hash seed (unless `SWIFT_DETERMINISTIC_HASHING` was set
    /// at launch), `SystemRandomNumberGenerator`, GPU generators, thread timing.
    /// cuDNN's `deterministic`/`benchmark` flags have no counterpart here: Repro's
    /// kernels are deterministic by construction.
    ///
    /// ```swift
    /// let report = Reproducibility.seed(3407)
    /// Reproducibility.withDefaultGenerators { $0.python.random() }   // random.seed(3407); random.random()
    /// print(report.unreachable.map(\.source))
    /// ```
    @discardableResult
    public static func seed(_ seed: IntegerSeed) -> SeedReport {
        store.lock.lock()
        defer { store.lock.unlock() }
        let report = store.generators.reseed(seed)
        store.lastReport = report
        return report
    }

    /// ``seed(_:)-(IntegerSeed)`` for any binary integer (`Int`, `Int64`, `UInt64`…).
    @discardableResult
    public static func seed(_ seed: some BinaryInteger) -> SeedReport {
        self.seed(IntegerSeed(seed))
    }

    /// A copy of the default generators as they are now.
    ///
    /// Before the first ``seed(_:)-(IntegerSeed)`` they hold the state `Reproducibility.seed(0)`
    /// gives (Repro never seeds from entropy).
    public static var defaultGenerators: DefaultGenerators {
        store.lock.lock()
        defer { store.lock.unlock() }
        return store.generators
    }

    /// Runs `body` with exclusive access to the default generators; draws made in
    /// `body` advance them.
    ///
    /// ```swift
    /// let x = Reproducibility.withDefaultGenerators { $0.python.random() }
    /// ```
    public static func withDefaultGenerators<Result, Failure: Error>(
        _ body: (inout DefaultGenerators) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        store.lock.lock()
        defer { store.lock.unlock() }
        return try body(&store.generators)
    }

    /// The report of the last ``seed(_:)-(IntegerSeed)`` call, or `nil` if it was never called.
    public static var lastSeedReport: SeedReport? {
        store.lock.lock()
        defer { store.lock.unlock() }
        return store.lastReport
    }

    private static let store = _DefaultGeneratorStore()
}

/// The lock-protected storage behind ``Reproducibility/defaultGenerators``.
private final class _DefaultGeneratorStore: @unchecked Sendable {
    // Invariant: `generators` and `lastReport` are only touched with `lock` held.
    let lock = NSLock()
    var generators = DefaultGenerators()
    var lastReport: SeedReport?
}

/// The generators ``Reproducibility/seed(_:)-(IntegerSeed)`` resets: one per library whose
/// global generator a PyTorch project seeds.
///
/// A value type: take a copy to fork every stream at once, or build one
/// directly for code that should not touch the process-wide defaults.
///
/// ```swift
/// var mine = DefaultGenerators(seed: 42)
/// let u = mine.python.random()
/// ```
public struct DefaultGenerators: Sendable, Equatable {
    /// CPython's global `random` (`random.seed(s)`).
    public var python: PythonRandom
    /// Repro's counter-based Philox4x32-10 stream: `at::Philox4_32(seed: s)`.
    public var philox: Philox4x32
    /// PyTorch's default CPU generator (`torch.manual_seed(s)`).
    public var torch: TorchGenerator
    /// NumPy's global legacy `RandomState` (`np.random.seed(s)`).
    public var numpyLegacy: NumPyRandomState
    /// A NumPy `Generator` as `np.random.default_rng(s)` makes it.
    public var numpy: NumPyGenerator<PCG64>

    /// The state `Reproducibility.seed(0)` gives.
    public init() {
        self.init(seed: 0)
    }

    /// Every generator seeded from `seed` as ``Reproducibility/seed(_:)-(IntegerSeed)`` does
    /// (a generator that cannot take `seed` keeps the `Reproducibility.seed(0)` state).
    public init(seed: some BinaryInteger) {
        python = PythonRandom(seed: 0)
        philox = Philox4x32(seed: 0)
        torch = TorchGenerator(seed: UInt64(0))
        numpyLegacy = NumPyRandomState(seed: 0)
        numpy = NumPyGenerator(seed: 0)
        _ = reseed(IntegerSeed(seed))
    }

    /// Reseeds every member from `seed`; the members a library would refuse
    /// `seed` for keep their state. Returns what was done.
    ///
    /// To add a generator: one stored property above, one block below.
    @discardableResult
    public mutating func reseed(_ seed: IntegerSeed) -> SeedReport {
        var seeded: [SeedReport.Entry] = []
        var unreachable: [SeedReport.Entry] = []

        // CPython `random.seed(s)`: any integer, |s| is used.
        python = PythonRandom(seedWords: seed.magnitudeWords)
        seeded.append(.init(.pythonRandom, "random.seed(\(seed))"))

        // Repro's Philox4x32: the key is s as torch maps a seed to 64 bits.
        if let key = seed.torchSeed {
            philox = Philox4x32(seed: key)
            seeded.append(.init(.philox4x32, "Philox4x32(seed: \(key))"))
        } else {
            unreachable.append(.init(.philox4x32, "seed \(seed) is outside -2^63...2^64-1; state kept"))
        }

        // torch.manual_seed(s): -2^63 ≤ s < 2^64, negatives mapped to s + 2^64.
        if let s = seed.torchSeed {
            torch.manualSeed(s)
            seeded.append(.init(.torchCPU, "torch.manual_seed(\(seed))"))
        } else {
            unreachable.append(.init(.torchCPU, "torch.manual_seed(\(seed)) raises: outside -2^63...2^64-1; state kept"))
        }
        // np.random.seed(s): 0 ≤ s < 2^32, otherwise NumPy raises.
        if let s = seed.uint64, s <= UInt64(UInt32.max) {
            numpyLegacy = NumPyRandomState(seed: UInt32(s))
            seeded.append(.init(.numpyLegacy, "np.random.seed(\(seed))"))
        } else {
            unreachable.append(.init(.numpyLegacy, "np.random.seed(\(seed)) raises: legacy seeds must be in 0...2^32-1; state kept"))
        }
        // np.random.default_rng(s): SeedSequence takes any non-negative integer.
        if !seed.isNegative {
            numpy = NumPyGenerator(seedSequence: SeedSequence(bigEntropy: seed.magnitudeWords))
            seeded.append(.init(.numpyDefaultRNG, "np.random.default_rng(\(seed))"))
        } else {
            unreachable.append(.init(.numpyDefaultRNG, "SeedSequence rejects negative seeds; state kept"))
        }

        unreachable += SeedReport.sourcesNoSeedReaches()
        return SeedReport(seed: seed, seeded: seeded, unreachable: unreachable,
                          hashingIsDeterministic: HashingDeterminism.isDeterministic)
    }
}

extension IntegerSeed {
    /// The 64-bit value `torch.manual_seed(s)` keeps: `s` for `0 ≤ s < 2^64`,
    /// `s + 2^64` for `-2^63 ≤ s < 0`, `nil` outside (torch raises).
    public var torchSeed: UInt64? {
        if let u = uint64 { return u }
        if let i = int64 { return UInt64(bitPattern: i) }
        return nil
    }
}
