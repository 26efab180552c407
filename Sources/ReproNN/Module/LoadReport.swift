import ReproTensor

/// One named tensor a module expects in its state dict.
///
/// ```swift
/// let spec = ParameterSpec(name: "conv1.weight", shape: [64, 3, 7, 7])
/// ```
public struct ParameterSpec: Sendable, Hashable {
    /// The state-dict key, e.g. `backbone.body.conv1.weight`.
    public var name: String
    /// The expected shape (`[]` for a scalar).
    public var shape: [Int]
    /// The element type the module stores it as.
    public var dtype: DType
    /// `true` for buffers (running statistics, counters), `false` for learnable parameters.
    public var isBuffer: Bool

    /// Creates a specification.
    public init(name: String, shape: [Int], dtype: DType = .float32, isBuffer: Bool = false) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.isBuffer = isBuffer
    }
}

/// What `load(stateDict:strict:)` found when matching a checkpoint against a module.
///
/// ```swift
/// let report = try model.load(stateDict: dict, strict: false)
/// if !report.missing.isEmpty { print("left at their initial values:", report.missing) }
/// ```
public struct LoadReport: Sendable, Equatable, CustomStringConvertible {
    /// A key present in both whose shapes differ.
    public struct ShapeMismatch: Sendable, Equatable {
        /// The state-dict key.
        public var key: String
        /// The shape the module expects.
        public var expected: [Int]
        /// The shape the checkpoint holds.
        public var actual: [Int]
    }

    /// Keys the module expects that the checkpoint lacks (sorted in module order).
    public var missing: [String] = []
    /// Keys in the checkpoint the module does not know (checkpoint order).
    public var unexpected: [String] = []
    /// Keys whose shapes differ.
    public var shapeMismatches: [ShapeMismatch] = []
    /// Keys in the checkpoint ignored on purpose (e.g. `num_batches_tracked` of a frozen norm).
    public var ignored: [String] = []
    /// Number of tensors loaded (0 when the load failed: a failed load changes nothing).
    public var loaded = 0
    /// Number of checkpoint entries that match an expected key with the right shape, whether or
    /// not the load went through (a partial checkpoint refused by a strict load still says how
    /// much of it matched).
    public var matched = 0
    /// Number of tensors the module expects (``matched`` + missing + mismatched).
    public var expected: Int { matched + missing.count + shapeMismatches.count }

    /// `true` when every expected key was loaded and nothing was left over or mismatched.
    public var isExact: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }

    /// A multi-line summary naming at most the first ten keys of each kind.
    public var description: String {
        func list(_ keys: [String]) -> String {
            keys.prefix(10).joined(separator: ", ") + (keys.count > 10 ? ", … (\(keys.count) in all)" : "")
        }
        var lines = [loaded > 0 || expected == 0 ? "loaded \(loaded) tensors" : "\(matched) of \(expected) expected tensors matched; nothing was loaded"]
        if !missing.isEmpty { lines.append("missing \(missing.count): \(list(missing))") }
        if !unexpected.isEmpty { lines.append("unexpected \(unexpected.count): \(list(unexpected))") }
        if !shapeMismatches.isEmpty {
            lines.append("shape mismatches \(shapeMismatches.count): "
                + list(shapeMismatches.map { "\($0.key) expected \($0.expected) got \($0.actual)" }))
        }
        return lines.joined(separator: "\n")
    }
}
