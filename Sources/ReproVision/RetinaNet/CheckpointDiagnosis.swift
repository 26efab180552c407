import ReproNN
import ReproTensor
import Synchronization

/// What a checkpoint would do to a RetinaNet, found without loading it into a model: which
/// entries match, which parameters and buffers would keep their random initialisation, whether
/// a key prefix or a wrapper hides a complete checkpoint, its dtypes and non-finite values, and
/// one verdict — ``Verdict/complete`` (outputs do not depend on the seed) or
/// ``Verdict/seedDependent`` (some tensors stay random: the usual reason why a detector's labels
/// change from run to run). `repro doctor --weights` prints it.
///
/// The expected keys and shapes come from the architecture's ``ReproNN/Module/parameterSpecs``;
/// which of them are random is decided by building the architecture from two seeds and
/// comparing (a buffer such as a running variance starts at a constant and is not random) — once
/// per configuration and process (the last four are remembered: names and shapes only). The
/// checkpoint's tensors are only matched by name and shape and scanned, never loaded into a model;
/// float64 entries are reported in ``dtypes`` (a load refuses them).
///
/// ```swift
/// let dict = try StateDict(contentsOf: "finetuned.pth")
/// let d = try CheckpointDiagnosis(stateDict: dict, configuration: .v2)
/// print(d.verdict, d.random.count, d.prefix ?? "no prefix")
/// ```
public struct CheckpointDiagnosis: Sendable, Equatable {
    /// One-line outcome.
    public enum Verdict: String, Sendable, Equatable {
        /// Every seed-dependent tensor is loaded: outputs do not depend on the seed.
        case complete
        /// Some tensors would keep their random initialisation (``CheckpointDiagnosis/random``).
        case seedDependent = "seed-dependent"
    }

    /// An entry whose shape differs from the architecture's.
    public struct Mismatch: Sendable, Equatable {
        /// The state-dict key.
        public var name: String
        /// The shape the architecture expects.
        public var expected: [Int]
        /// The shape in the checkpoint.
        public var found: [Int]
    }

    /// The number of tensors in the checkpoint.
    public var entries: Int
    /// Entries that match a parameter or buffer by name and shape.
    public var matched: Int
    /// Parameters and buffers the checkpoint lacks (architecture order).
    public var missing: [String]
    /// Checkpoint keys the architecture does not have (checkpoint order).
    public var unexpected: [String]
    /// Keys present in both whose shapes differ (e.g. a classification head with other classes).
    public var mismatched: [Mismatch]
    /// Checkpoint keys ignored on purpose (e.g. `num_batches_tracked` of a frozen norm).
    public var ignored: [String]
    /// Parameters and buffers that would keep a seed-dependent initial value: missing or
    /// mismatched ones whose initialisation draws random numbers (architecture order).
    public var random: [String]
    /// The number of tensors the architecture has.
    public var expectedCount: Int
    /// A prefix every key shares whose removal makes more entries match (`"module."` from
    /// `DataParallel`/`DistributedDataParallel`, `"model."`), or nil.
    public var prefix: String?
    /// The verdict with ``prefix`` stripped (`repro detect --strip-prefix`), when there is a prefix.
    public var verdictAfterStripping: Verdict?
    /// The entries that match with ``prefix`` stripped, when there is a prefix.
    public var matchedAfterStripping: Int?
    /// The key of the wrapper dict the tensors were found in (`"state_dict"`, `"model"`), or nil.
    public var wrapperKey: String?
    /// Whether the entries look like a classification ResNet (`conv1.weight`, `layer1.0…`, `fc.…`)
    /// rather than RetinaNet's `backbone.body.…`: a backbone for training, not a detector.
    public var classificationBackbone: Bool
    /// How many tensors of each dtype the checkpoint holds (`"float32"`, `"float16"`…); float16
    /// and bfloat16 tensors load, widened exactly to float32.
    public var dtypes: [String: Int]
    /// Float entries holding NaN or an infinity (checkpoint order).
    public var nonfinite: [String]
    /// The outcome.
    public var verdict: Verdict

    /// Diagnoses `stateDict` against the architecture of `configuration` (its
    /// ``RetinaNetConfiguration/numClasses`` included). For the v1 layout legacy key names are
    /// upgraded first, as ``RetinaNet/load(stateDict:strict:)`` does.
    ///
    /// - Throws: ``RetinaNetError`` when the configuration is invalid.
    public init(stateDict: StateDict, configuration: RetinaNetConfiguration) throws(RetinaNetError) {
        try self.init(stateDict: stateDict, checkingPrefixWith: try Layout.of(configuration))
    }

    /// Diagnoses `stateDict` like ``init(stateDict:configuration:)``, but learns which tensors are
    /// seed-dependent from two models the caller has already built from different seeds (of one
    /// configuration) instead of building two: `repro demo` passes its two unseeded models.
    ///
    /// ```swift
    /// let a = try RetinaNet(configuration: .mini, seed: 1), b = try RetinaNet(configuration: .mini, seed: 2)
    /// let d = try CheckpointDiagnosis(stateDict: StateDict([]), comparing: a, b)
    /// print(d.random.count, d.missing.count)   // random ones, and all missing (constant-initialised too)
    /// ```
    /// - Throws: ``RetinaNetError/invalidConfiguration(_:)`` when the two models have different configurations.
    public init(stateDict: StateDict, comparing a: RetinaNet, _ b: RetinaNet) throws(RetinaNetError) {
        guard a.configuration == b.configuration else {
            throw .invalidConfiguration("the two models compared for seed-dependent tensors have different configurations")
        }
        try self.init(stateDict: stateDict, checkingPrefixWith: Layout.comparing(a, b))
    }

    /// The diagnosis against `layout`, with a shared key prefix tried when the verdict is seed-dependent.
    private init(stateDict: StateDict, checkingPrefixWith layout: Layout) throws(RetinaNetError) {
        self.init(stateDict: stateDict, layout: layout)
        if verdict == .seedDependent, let candidate = stateDict.sharedKeyPrefix {
            let stripped: StateDict
            do { stripped = try stateDict.strippingPrefix(candidate) } catch { throw .module(.checkpoint(error)) }
            let after = CheckpointDiagnosis(stateDict: stripped, layout: layout)
            if after.matched > matched {
                prefix = candidate
                verdictAfterStripping = after.verdict
                matchedAfterStripping = after.matched
            }
        }
    }

    /// What an architecture expects: its parameters and buffers, the keys it ignores, and which of
    /// its tensors are seed-dependent (found once per configuration by building it from two seeds).
    struct Layout: Sendable {
        var configuration: RetinaNetConfiguration
        var specs: [ParameterSpec]
        var ignorable: Set<String>
        var seedDependent: Set<String>

        private static let cache = Mutex<[Layout]>([])

        /// The layout of `configuration`, built while holding the cache (concurrent callers wait
        /// instead of building it again).
        static func of(_ configuration: RetinaNetConfiguration) throws(RetinaNetError) -> Layout {
            let result = cache.withLock { list -> Result<Layout, RetinaNetError> in
                if let known = list.first(where: { $0.configuration == configuration }) { return .success(known) }
                let built = Result { () throws(RetinaNetError) in try build(configuration) }
                if case .success(let layout) = built { list = Array((list + [layout]).suffix(4)) }
                return built
            }
            return try result.get()
        }

        private static func build(_ configuration: RetinaNetConfiguration) throws(RetinaNetError) -> Layout {
            comparing(try RetinaNet(configuration: configuration, seed: 0), try RetinaNet(configuration: configuration, seed: 1))
        }

        /// The layout of `a`'s configuration, seed-dependent where `a` and `b` (built from different seeds) differ.
        static func comparing(_ a: RetinaNet, _ b: RetinaNet) -> Layout {
            let valuesA = a.stateDict, valuesB = b.stateDict
            let specs = a.parameterSpecs
            return Layout(
                configuration: a.configuration, specs: specs, ignorable: a.ignorableKeys,
                seedDependent: Set(specs.map(\.name).filter { valuesA[$0]?.bitsHash != valuesB[$0]?.bitsHash }))
        }
    }

    /// Matches the checkpoint by name and shape, by the rules of ``ReproNN/Module/load(stateDict:strict:)``.
    private init(stateDict: StateDict, layout: Layout) {
        let dict = layout.configuration.style == .v1 ? stateDict.upgradingLegacyRetinaNetKeys() : stateDict
        let names = Set(layout.specs.map(\.name))
        entries = dict.count
        unexpected = dict.keys.filter { !names.contains($0) && !layout.ignorable.contains($0) }
        ignored = dict.keys.filter { !names.contains($0) && layout.ignorable.contains($0) }
        missing = []
        mismatched = []
        matched = 0
        for spec in layout.specs {
            guard let t = dict[spec.name] else { missing.append(spec.name); continue }
            if t.shape == spec.shape { matched += 1 } else { mismatched.append(Mismatch(name: spec.name, expected: spec.shape, found: t.shape)) }
        }
        expectedCount = layout.specs.count
        let notLoaded = Set(missing).union(mismatched.map(\.name))
        random = layout.specs.map(\.name).filter { notLoaded.contains($0) && layout.seedDependent.contains($0) }
        wrapperKey = dict.wrapperKey
        let asBody = dict.keys.filter { names.contains("backbone.body." + $0) }.count
        classificationBackbone = asBody > 0 && 2 * asBody >= dict.count && !dict.keys.contains { $0.hasPrefix("backbone.") }
        dtypes = dict.dtypeCounts
        nonfinite = dict.keys.filter { key in dict[key].map(Self.hasNonFinite) ?? false }
        verdict = random.isEmpty ? .complete : .seedDependent
    }

    /// Whether a float tensor holds NaN or an infinity.
    static func hasNonFinite(_ t: CheckpointTensor) -> Bool {
        t.bytes.withUnsafeBytes { raw in
            switch t.dtype {
            case .float32:
                return (0..<t.elementCount).contains { raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian & 0x7F80_0000 == 0x7F80_0000 }
            case .float64:
                return (0..<t.elementCount).contains {
                    raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self).littleEndian & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000
                }
            case .float16:
                return (0..<t.elementCount).contains { raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian & 0x7C00 == 0x7C00 }
            case .bfloat16:
                return (0..<t.elementCount).contains { raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian & 0x7F80 == 0x7F80 }
            default:
                return false
            }
        }
    }
}
