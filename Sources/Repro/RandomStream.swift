/// A library-compatible random stream, named as `repro random` names it:
/// the library call after a seeding, with parameters after colons
/// (`torch.randint:0:10`, `python.getrandbits:100`).
///
/// ```swift
/// let s = try RandomStream(parsing: "torch.randint:-5:5")   // .torchRandint(low: -5, high: 5)
/// s.name                                                     // "torch.randint:-5:5"
/// s.fixedLength                                              // nil: any count
/// ```
///
/// For `torch.*` streams the count is the tensor's length (so PyTorch's
/// 16-element vectorised normal path is used exactly when torch uses it); for
/// permutations and samplers the length `N` is part of the name and the count
/// is how many of its values to take.
public enum RandomStream: Hashable, Sendable, CustomStringConvertible {
    // PyTorch CPU, after torch.manual_seed(S)
    /// `torch.rand(N)` (float32).
    case torchRand
    /// `torch.rand(N, dtype=torch.float64)`.
    case torchRand64
    /// `torch.randn(N)` (float32).
    case torchRandn
    /// `torch.randint(low, high, (N,))` (int64).
    case torchRandint(low: Int64, high: Int64)
    /// `torch.randperm(n)`.
    case torchRandperm(n: Int)
    /// `torch.empty(N).bernoulli_(p)` (float32 zeros and ones).
    case torchBernoulli(p: Double)
    /// `list(torch.utils.data.RandomSampler(range(n)))`.
    case torchRandomSampler(n: Int)
    // NumPy legacy, after np.random.seed(S)
    /// `np.random.random_sample(N)`.
    case numpyLegacyRandomSample
    /// `np.random.standard_normal(N)`.
    case numpyLegacyStandardNormal
    /// `np.random.randint(low, high, N)` (int64).
    case numpyLegacyRandint(low: Int64, high: Int64)
    /// `np.random.permutation(n)`.
    case numpyLegacyPermutation(n: Int)
    // NumPy Generator, g = np.random.default_rng(S)
    /// `g.random(N)`.
    case numpyDefaultRNGRandom
    /// `g.standard_normal(N)`.
    case numpyDefaultRNGStandardNormal
    /// `g.integers(low, high, N)` (int64).
    case numpyDefaultRNGIntegers(low: Int64, high: Int64)
    /// `g.permutation(n)`.
    case numpyDefaultRNGPermutation(n: Int)
    // NumPy bit generators, seeded through SeedSequence(S)
    /// `np.random.MT19937(S).random_raw(N)`.
    case numpyMT19937Raw
    /// `np.random.PCG64(S).random_raw(N)`.
    case numpyPCG64Raw
    /// `np.random.PCG64DXSM(S).random_raw(N)`.
    case numpyPCG64DXSMRaw
    /// `np.random.Philox(S).random_raw(N)` (Philox4x64-10).
    case numpyPhiloxRaw
    /// `np.random.SFC64(S).random_raw(N)`.
    case numpySFC64Raw
    // CPython 3.11, after random.seed(S)
    /// `random.random()`, N times.
    case pythonRandom
    /// `random.getrandbits(bits)`, N times.
    case pythonGetrandbits(bits: Int)
    /// `random.randrange(n)`, N times.
    case pythonRandrange(n: Int)
    /// `x = list(range(n)); random.shuffle(x)`.
    case pythonShuffle(n: Int)
    /// `random.gauss()`, N times.
    case pythonGauss
    // Repro
    /// The 32-bit words of `Philox4x32(seed: S)` (`at::Philox4_32(S, 0, 0)`).
    case philox4x32Raw

    /// The accepted stream names, parameters in capitals, in a fixed order.
    public static var acceptedNames: [String] { templates.map(\.pattern) }

    /// The largest `--count` accepted (the values are held in memory before printing).
    public static let maximumCount = 10_000_000
    /// The largest `N` of a permutation, shuffle or sampler stream: above torch's
    /// `randperm` switch to 64-bit draws at `n = 214748364` (docs/random.md, "`randperm(n)`"), so both
    /// branches are reachable; a permutation of `N` takes `8·N` bytes.
    public static let maximumLength = 300_000_000
    /// The largest `K` of `python.getrandbits:K`.
    public static let maximumBits = 1_000_000

    /// Parses a stream name such as `torch.randn` or `numpy.legacy.randint:0:100`.
    ///
    /// - Throws: ``RandomStreamError`` naming the problem: an unknown name (with the
    ///   list of accepted ones), a wrong number of parameters, or a parameter that
    ///   is malformed or out of range.
    public init(parsing text: String) throws(RandomStreamError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let base = String(parts[0])
        guard let template = Self.templates.first(where: { $0.base == base }) else {
            throw .unknownStream(text, accepted: Self.acceptedNames)
        }
        let parameters = Array(parts.dropFirst())
        guard parameters.count == template.parameters.count else {
            throw .wrongParameterCount(text, expected: template.pattern)
        }
        self = try template.make(text, parameters)
    }

    /// The canonical name; ``init(parsing:)`` of it gives this stream back.
    public var name: String {
        switch self {
        case .torchRand: return "torch.rand"
        case .torchRand64: return "torch.rand64"
        case .torchRandn: return "torch.randn"
        case let .torchRandint(low, high): return "torch.randint:\(low):\(high)"
        case let .torchRandperm(n): return "torch.randperm:\(n)"
        case let .torchBernoulli(p): return "torch.bernoulli:\(p)"
        case let .torchRandomSampler(n): return "torch.RandomSampler:\(n)"
        case .numpyLegacyRandomSample: return "numpy.legacy.random_sample"
        case .numpyLegacyStandardNormal: return "numpy.legacy.standard_normal"
        case let .numpyLegacyRandint(low, high): return "numpy.legacy.randint:\(low):\(high)"
        case let .numpyLegacyPermutation(n): return "numpy.legacy.permutation:\(n)"
        case .numpyDefaultRNGRandom: return "numpy.default_rng.random"
        case .numpyDefaultRNGStandardNormal: return "numpy.default_rng.standard_normal"
        case let .numpyDefaultRNGIntegers(low, high): return "numpy.default_rng.integers:\(low):\(high)"
        case let .numpyDefaultRNGPermutation(n): return "numpy.default_rng.permutation:\(n)"
        case .numpyMT19937Raw: return "numpy.MT19937.raw"
        case .numpyPCG64Raw: return "numpy.PCG64.raw"
        case .numpyPCG64DXSMRaw: return "numpy.PCG64DXSM.raw"
        case .numpyPhiloxRaw: return "numpy.Philox.raw"
        case .numpySFC64Raw: return "numpy.SFC64.raw"
        case .pythonRandom: return "python.random"
        case let .pythonGetrandbits(bits): return "python.getrandbits:\(bits)"
        case let .pythonRandrange(n): return "python.randrange:\(n)"
        case let .pythonShuffle(n): return "python.shuffle:\(n)"
        case .pythonGauss: return "python.gauss"
        case .philox4x32Raw: return "philox4x32.raw"
        }
    }

    /// Same as ``name``.
    public var description: String { name }

    /// The length fixed by the name for permutation, shuffle and sampler streams
    /// (the count may not exceed it), else `nil`.
    public var fixedLength: Int? {
        switch self {
        case let .torchRandperm(n), let .torchRandomSampler(n), let .numpyLegacyPermutation(n),
             let .numpyDefaultRNGPermutation(n), let .pythonShuffle(n):
            return n
        default:
            return nil
        }
    }
}

// MARK: - Name templates

extension RandomStream {
    /// One accepted name: base, parameter names, and how to build the stream.
    struct Template: Sendable {
        let base: String
        let parameters: [String]
        let make: @Sendable (String, [Substring]) throws(RandomStreamError) -> RandomStream

        var pattern: String { ([base] + parameters).joined(separator: ":") }

        init(_ base: String, _ parameters: [String] = [],
             _ make: @escaping @Sendable (String, [Substring]) throws(RandomStreamError) -> RandomStream) {
            self.base = base
            self.parameters = parameters
            self.make = make
        }

        init(_ base: String, _ stream: RandomStream) {
            self.init(base) { _, _ in stream }
        }
    }

    static let templates: [Template] = [
        Template("torch.rand", .torchRand),
        Template("torch.rand64", .torchRand64),
        Template("torch.randn", .torchRandn),
        Template("torch.randint", ["LOW", "HIGH"]) { name, p throws(RandomStreamError) in
            let (low, high) = try bounds(name, p)
            return .torchRandint(low: low, high: high)
        },
        Template("torch.randperm", ["N"]) { name, p throws(RandomStreamError) in
            .torchRandperm(n: try length(name, p[0], minimum: 0))
        },
        Template("torch.bernoulli", ["P"]) { name, p throws(RandomStreamError) in
            .torchBernoulli(p: try probability(name, p[0]))
        },
        Template("torch.RandomSampler", ["N"]) { name, p throws(RandomStreamError) in
            .torchRandomSampler(n: try length(name, p[0], minimum: 1))
        },
        Template("numpy.legacy.random_sample", .numpyLegacyRandomSample),
        Template("numpy.legacy.standard_normal", .numpyLegacyStandardNormal),
        Template("numpy.legacy.randint", ["LOW", "HIGH"]) { name, p throws(RandomStreamError) in
            let (low, high) = try bounds(name, p)
            return .numpyLegacyRandint(low: low, high: high)
        },
        Template("numpy.legacy.permutation", ["N"]) { name, p throws(RandomStreamError) in
            .numpyLegacyPermutation(n: try length(name, p[0], minimum: 0))
        },
        Template("numpy.default_rng.random", .numpyDefaultRNGRandom),
        Template("numpy.default_rng.standard_normal", .numpyDefaultRNGStandardNormal),
        Template("numpy.default_rng.integers", ["LOW", "HIGH"]) { name, p throws(RandomStreamError) in
            let (low, high) = try bounds(name, p)
            return .numpyDefaultRNGIntegers(low: low, high: high)
        },
        Template("numpy.default_rng.permutation", ["N"]) { name, p throws(RandomStreamError) in
            .numpyDefaultRNGPermutation(n: try length(name, p[0], minimum: 0))
        },
        Template("numpy.MT19937.raw", .numpyMT19937Raw),
        Template("numpy.PCG64.raw", .numpyPCG64Raw),
        Template("numpy.PCG64DXSM.raw", .numpyPCG64DXSMRaw),
        Template("numpy.Philox.raw", .numpyPhiloxRaw),
        Template("numpy.SFC64.raw", .numpySFC64Raw),
        Template("python.random", .pythonRandom),
        Template("python.getrandbits", ["K"]) { name, p throws(RandomStreamError) in
            let k = try integer(name, "K", p[0])
            guard (0...Int64(maximumBits)).contains(k) else {
                throw .invalidParameter(name, parameter: "K", detail: "must be in 0...\(maximumBits), got \(k)")
            }
            return .pythonGetrandbits(bits: Int(k))
        },
        Template("python.randrange", ["N"]) { name, p throws(RandomStreamError) in
            let n = try integer(name, "N", p[0])
            guard n >= 1 else {
                throw .invalidParameter(name, parameter: "N", detail: "must be at least 1 (randrange(N) needs a non-empty range), got \(n)")
            }
            return .pythonRandrange(n: Int(n))
        },
        Template("python.shuffle", ["N"]) { name, p throws(RandomStreamError) in
            .pythonShuffle(n: try length(name, p[0], minimum: 0))
        },
        Template("python.gauss", .pythonGauss),
        Template("philox4x32.raw", .philox4x32Raw),
    ]

    // MARK: Parameter parsers

    static func integer(_ name: String, _ parameter: String, _ text: Substring) throws(RandomStreamError) -> Int64 {
        guard let v = Int64(text) else {
            throw .malformedParameter(name, parameter: parameter, value: String(text),
                                      expected: "a decimal integer in -2^63...2^63-1")
        }
        return v
    }

    static func bounds(_ name: String, _ p: [Substring]) throws(RandomStreamError) -> (Int64, Int64) {
        let low = try integer(name, "LOW", p[0])
        let high = try integer(name, "HIGH", p[1])
        guard low < high else {
            throw .invalidParameter(name, parameter: "HIGH", detail: "LOW must be less than HIGH (the range is LOW..<HIGH), got \(low) and \(high)")
        }
        return (low, high)
    }

    static func length(_ name: String, _ text: Substring, minimum: Int) throws(RandomStreamError) -> Int {
        let n = try integer(name, "N", text)
        guard n >= Int64(minimum), n <= Int64(maximumLength) else {
            throw .invalidParameter(name, parameter: "N", detail: "must be in \(minimum)...\(maximumLength), got \(n)")
        }
        return Int(n)
    }

    static func probability(_ name: String, _ text: Substring) throws(RandomStreamError) -> Double {
        let isDecimal = !text.isEmpty && text.utf8.allSatisfy { "0123456789.eE+-".utf8.contains($0) }
        guard isDecimal, let p = Double(text) else {
            throw .malformedParameter(name, parameter: "P", value: String(text), expected: "a decimal number in 0...1")
        }
        guard p >= 0, p <= 1 else {
            throw .invalidParameter(name, parameter: "P", detail: "must be in 0...1, got \(text)")
        }
        return p
    }
}
