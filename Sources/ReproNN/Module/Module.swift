import ReproTensor

/// A model or layer with named parameters and buffers, loadable from a ``StateDict``.
///
/// Conforming types list what they expect (``parameterSpecs``), expose their current
/// values (``stateDict``) and accept new ones through ``load(stateDict:strict:)``.
/// The matching rules live in ``ParameterStore``; a module usually keeps one and
/// rebuilds its prepared layers after a load.
///
/// ```swift
/// var model = try RetinaNet(configuration: .mini, seed: 0)
/// let report = try model.load(stateDict: StateDict(contentsOf: "weights.safetensors"))
/// ```
public protocol Module {
    /// Every parameter and buffer, in PyTorch's `state_dict()` order.
    var parameterSpecs: [ParameterSpec] { get }
    /// The current values, keyed like PyTorch's `state_dict()`.
    var stateDict: [String: Tensor] { get }
    /// Replaces parameters from a checkpoint.
    ///
    /// - Parameter strict: when `true` (the default) any missing, unexpected or
    ///   shape-mismatched key is an error; when `false` only shape mismatches are,
    ///   and missing keys keep their current values (listed in the report).
    /// - Returns: what was loaded, missing, unexpected and ignored.
    mutating func load(stateDict: StateDict, strict: Bool) throws(ModuleError) -> LoadReport
}

extension Module {
    /// Strict loading: every key must match.
    public mutating func load(stateDict: StateDict) throws(ModuleError) -> LoadReport {
        try load(stateDict: stateDict, strict: true)
    }
}

/// Named tensors with fixed expected shapes; implements the state-dict matching rules.
///
/// ```swift
/// var store = try ParameterStore(specs: [ParameterSpec(name: "w", shape: [2])])
/// let report = try store.load(dict, strict: true)
/// ```
public struct ParameterStore: Sendable {
    /// The expected tensors in order.
    public let specs: [ParameterSpec]
    /// Checkpoint keys silently skipped when the module does not have them
    /// (matched as suffixes, e.g. `.num_batches_tracked` for frozen batch norms).
    public var ignorableSuffixes: [String]
    /// Current values.
    public private(set) var values: [String: Tensor]

    /// A store with every tensor zero-filled.
    public init(specs: [ParameterSpec], ignorableSuffixes: [String] = []) throws(ModuleError) {
        self.specs = specs
        self.ignorableSuffixes = ignorableSuffixes
        var v: [String: Tensor] = [:]
        for s in specs {
            guard v[s.name] == nil else { throw .invalidConfiguration("duplicate parameter name \(s.name)") }
            do { v[s.name] = try Tensor(zeros: s.shape, dtype: s.dtype) } catch { throw .tensor(error) }
        }
        values = v
    }

    /// The tensor for a key (zeros until set or loaded).
    public subscript(name: String) -> Tensor? { values[name] }

    /// Sets one tensor; its shape must match the specification.
    public mutating func set(_ name: String, _ tensor: Tensor) throws(ModuleError) {
        guard let spec = specs.first(where: { $0.name == name }) else {
            throw .incompatibleStateDict(LoadReport(unexpected: [name]))
        }
        guard spec.shape == tensor.shape else {
            throw .incompatibleStateDict(LoadReport(shapeMismatches: [.init(key: name, expected: spec.shape, actual: tensor.shape)]))
        }
        values[name] = tensor
    }

    /// Compares a checkpoint with the specifications and loads what matches.
    ///
    /// Nothing is changed unless the whole load succeeds.
    public mutating func load(_ dict: StateDict, strict: Bool = true) throws(ModuleError) -> LoadReport {
        var report = LoadReport()
        let known = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
        for key in dict.keys where known[key] == nil {
            if ignorableSuffixes.contains(where: { key.hasSuffix($0) }) { report.ignored.append(key) } else { report.unexpected.append(key) }
        }
        var staged: [String: Tensor] = [:]
        for spec in specs {
            guard let t = dict[spec.name] else { report.missing.append(spec.name); continue }
            guard t.shape == spec.shape else {
                report.shapeMismatches.append(.init(key: spec.name, expected: spec.shape, actual: t.shape))
                continue
            }
            var tensor = try Tensor(checkpoint: t, name: spec.name)
            if tensor.dtype != spec.dtype {
                guard spec.dtype == .int64 || t.dtype == .float32 else {
                    throw .unsupportedDType(key: spec.name, dtype: t.dtype.rawValue)
                }
                do { tensor = try tensor.converted(to: spec.dtype) } catch { throw .tensor(error) }
            }
            staged[spec.name] = tensor
        }
        if !report.shapeMismatches.isEmpty || (strict && !report.isExact) {
            throw .incompatibleStateDict(report)
        }
        for (k, v) in staged { values[k] = v }
        report.loaded = staged.count
        return report
    }
}
