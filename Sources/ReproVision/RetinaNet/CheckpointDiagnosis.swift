import ReproNN
import ReproTensor

/// What a checkpoint would do to a RetinaNet, found without loading it into a model: which
/// entries match, which parameters and buffers would keep their random initialisation, whether
/// a key prefix or a wrapper hides a complete checkpoint, its dtypes and non-finite values, and
/// one verdict — ``Verdict/complete`` (outputs do not depend on the seed) or
/// ``Verdict/seedDependent`` (some tensors stay random: the usual reason why a detector's labels
/// change from run to run). `repro doctor --weights` prints it.
///
/// The expected keys and shapes come from the architecture's ``ReproNN/Module/parameterSpecs``;
/// which of them are random is decided by building the architecture from two seeds and
/// comparing (a buffer such as a running variance starts at a constant and is not random). The
/// checkpoint's tensors are only matched and scanned, never loaded into a model.
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
    /// - Throws: ``RetinaNetError`` when the configuration is invalid or a tensor has a dtype no
    ///   model can hold (float64).
    public init(stateDict: StateDict, configuration: RetinaNetConfiguration) throws(RetinaNetError) {
        let reference = try RetinaNet(configuration: configuration, seed: 0)
        let other = try RetinaNet(configuration: configuration, seed: 1)
        let a = reference.stateDict, b = other.stateDict
        let specs = reference.parameterSpecs
        let seedDependent = Set(specs.map(\.name).filter { a[$0]?.bitsHash != b[$0]?.bitsHash })
        try self.init(stateDict: stateDict, reference: reference, specs: specs, seedDependent: seedDependent)
        if verdict == .seedDependent, let candidate = stateDict.sharedKeyPrefix {
            let stripped: StateDict
            do { stripped = try stateDict.strippingPrefix(candidate) } catch { throw .module(.checkpoint(error)) }
            let after = try CheckpointDiagnosis(stateDict: stripped, reference: reference, specs: specs, seedDependent: seedDependent)
            if after.matched > matched {
                prefix = candidate
                verdictAfterStripping = after.verdict
                matchedAfterStripping = after.matched
            }
        }
    }

    private init(stateDict: StateDict, reference: RetinaNet, specs: [ParameterSpec],
                 seedDependent: Set<String>) throws(RetinaNetError) {
        let dict = reference.configuration.style == .v1 ? stateDict.upgradingLegacyRetinaNetKeys() : stateDict
        var model = reference
        var report: LoadReport
        do {
            report = try model.replaceParameters(from: dict, strict: false)
        } catch .incompatibleStateDict(let r) {
            report = r
        } catch {
            throw .module(error)
        }
        entries = dict.count
        matched = report.matched
        missing = report.missing
        unexpected = report.unexpected
        mismatched = report.shapeMismatches.map { Mismatch(name: $0.key, expected: $0.expected, found: $0.actual) }
        ignored = report.ignored
        expectedCount = specs.count
        let notLoaded = Set(report.missing).union(report.shapeMismatches.map(\.key))
        random = specs.map(\.name).filter { notLoaded.contains($0) && seedDependent.contains($0) }
        wrapperKey = dict.wrapperKey
        let names = Set(specs.map(\.name))
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
