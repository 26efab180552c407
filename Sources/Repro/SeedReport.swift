/// What ``Reproducibility/seed(_:)-(IntegerSeed)`` seeded, and every source of run-to-run
/// variation it could not reach, with the reason.
///
/// ```swift
/// let report = Reproducibility.seed(42)
/// report.seeded.map(\.source)        // [.pythonRandom, .philox4x32, …]
/// report.unreachable.map(\.source)   // [.systemRandom, .gpuGenerators, …]
/// print(report)                      // one line per entry
/// ```
public struct SeedReport: Sendable, Equatable, CustomStringConvertible {
    /// A source of randomness or nondeterminism a training or inference script meets.
    public enum Source: String, Sendable, Equatable, CaseIterable {
        /// CPython's global `random`.
        case pythonRandom = "python.random"
        /// Repro's default Philox4x32-10 stream.
        case philox4x32 = "philox4x32"
        /// PyTorch's default CPU generator (`torch.manual_seed`).
        case torchCPU = "torch.cpu"
        /// NumPy's global legacy `RandomState` (`np.random.seed`).
        case numpyLegacy = "numpy.legacy"
        /// A NumPy `Generator` (`np.random.default_rng`).
        case numpyDefaultRNG = "numpy.default_rng"
        /// Swift's per-process `Hasher` seed (`Dictionary`/`Set` order).
        case swiftHashing = "swift.hashing"
        /// The OS entropy source behind `SystemRandomNumberGenerator`.
        case systemRandom = "swift.SystemRandomNumberGenerator"
        /// GPU generators (CUDA/MPS) and cuDNN's algorithm choice.
        case gpuGenerators = "gpu"
        /// Thread scheduling and timing.
        case threadScheduling = "threads"
    }

    /// One line of the report: a source and what happened to it (or why nothing could).
    public struct Entry: Sendable, Equatable {
        /// The source.
        public let source: Source
        /// What was done (the equivalent library call) or why it could not be.
        public let detail: String

        /// Creates an entry.
        public init(_ source: Source, _ detail: String) {
            self.source = source
            self.detail = detail
        }
    }

    /// The seed that was applied.
    public let seed: IntegerSeed
    /// Generators reset from ``seed``, in a fixed order.
    public let seeded: [Entry]
    /// Sources this call did not reset, with the reason, in a fixed order.
    public let unreachable: [Entry]
    /// Whether Swift's hashing is deterministic in this process (see ``HashingDeterminism``).
    public let hashingIsDeterministic: Bool

    /// Creates a report.
    public init(seed: IntegerSeed, seeded: [Entry], unreachable: [Entry], hashingIsDeterministic: Bool) {
        self.seed = seed
        self.seeded = seeded
        self.unreachable = unreachable
        self.hashingIsDeterministic = hashingIsDeterministic
    }

    /// One line per entry: `seeded  <source>: <detail>` or `not seeded  <source>: <detail>`.
    public var description: String {
        var lines = ["Reproducibility.seed(\(seed))"]
        lines += seeded.map { "  seeded      \($0.source.rawValue): \($0.detail)" }
        lines += unreachable.map { "  not seeded  \($0.source.rawValue): \($0.detail)" }
        return lines.joined(separator: "\n")
    }

    /// The sources no seed reaches, as they stand in this process.
    static func sourcesNoSeedReaches() -> [Entry] {
        var out: [Entry] = []
        if !HashingDeterminism.isDeterministic {
            out.append(.init(.swiftHashing,
                             "Hasher is seeded per process; set SWIFT_DETERMINISTIC_HASHING=1 before launch "
                                 + "(the repro tool re-executes itself with it). Repro's own outputs never depend on hash order"))
        }
        out.append(.init(.systemRandom, "reads OS entropy and cannot be seeded; Repro never uses it"))
        out.append(.init(.gpuGenerators, "no GPU backend in this build (no CUDA/MPS generator, no cuDNN algorithm choice)"))
        out.append(.init(.threadScheduling,
                         "thread timing cannot be seeded; Repro's results do not depend on it (work is split over outputs only)"))
        return out
    }
}
