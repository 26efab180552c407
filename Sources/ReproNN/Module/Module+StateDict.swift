import ReproTensor

/// Collects the specifications and ignorable keys of a tree.
private struct SpecCollector: ModuleVisitor {
    var specs: [ParameterSpec] = []
    var ignored: Set<String> = []
    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        specs.append(ParameterSpec(name: key, shape: tensor.shape, dtype: tensor.dtype, isBuffer: info.isBuffer))
    }
    mutating func ignore(_ key: String) { ignored.insert(key) }
}

/// Reads the current values of a tree.
private struct ValueCollector: ModuleVisitor {
    var values: [String: Tensor] = [:]
    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        values[key] = tensor
    }
}

/// Writes staged values into a tree.
private struct Assigner: ModuleVisitor {
    var staged: [String: Tensor]
    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        if let t = staged.removeValue(forKey: key) { tensor = t }
    }
}

extension Module {
    /// Runs a visitor over the tree and returns it (the module itself may be changed by it).
    public mutating func visit<V: ModuleVisitor>(with visitor: V) throws(ModuleError) -> V {
        var walker = ModuleWalker(visitor)
        try walk(&walker)
        return walker.visitor
    }

    /// Every parameter and buffer, in PyTorch's `state_dict()` order, with its current shape and type.
    public var parameterSpecs: [ParameterSpec] {
        var copy = self
        return (try? copy.visit(with: SpecCollector()).specs) ?? []
    }

    /// Checkpoint keys that ``load(stateDict:strict:)`` ignores on purpose instead of calling them
    /// unexpected (e.g. `num_batches_tracked` of a ``FrozenBatchNorm2d``).
    public var ignorableKeys: Set<String> {
        var copy = self
        return (try? copy.visit(with: SpecCollector()).ignored) ?? []
    }

    /// The current values, keyed like PyTorch's `state_dict()`.
    public var stateDict: [String: Tensor] {
        var copy = self
        return (try? copy.visit(with: ValueCollector()).values) ?? [:]
    }

    /// Number of learnable parameters (buffers excluded), as PyTorch counts them.
    public var parameterCount: Int {
        parameterSpecs.filter { !$0.isBuffer }.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// Strict loading: every key must match.
    public mutating func load(stateDict: StateDict) throws(ModuleError) -> LoadReport {
        try load(stateDict: stateDict, strict: true)
    }

    /// Loads, then prepares again; nothing changes unless both succeed.
    public mutating func load(stateDict: StateDict, strict: Bool) throws(ModuleError) -> LoadReport {
        var copy = self
        let report = try copy.replaceParameters(from: stateDict, strict: strict)
        try copy.prepare(in: .root)
        self = copy
        return report
    }

    /// Matches a checkpoint against the tree's parameters and buffers and replaces what matches,
    /// without preparing (``load(stateDict:strict:)`` prepares).
    ///
    /// Rules: a key the tree lacks is *unexpected* unless a layer declares it ignorable (then it is
    /// listed in ``LoadReport/ignored``); a key the checkpoint lacks is *missing*; shapes must be
    /// equal. Float32 and integer tensors load bit for bit, float16 and bfloat16 ones are widened
    /// exactly to float32; a float32 checkpoint tensor becomes an int64 buffer by conversion, and
    /// float64 is refused. Shape mismatches are
    /// always an error; with `strict` any missing or unexpected key is too. Nothing is changed
    /// unless the whole load succeeds.
    ///
    /// - Throws: ``ModuleError/incompatibleStateDict(_:)`` with the full report,
    ///   ``ModuleError/unsupportedDType(key:dtype:)``.
    @discardableResult
    public mutating func replaceParameters(from dict: StateDict, strict: Bool = true) throws(ModuleError) -> LoadReport {
        var copy = self
        let collected = try copy.visit(with: SpecCollector())
        var report = LoadReport()
        var known: Set<String> = []
        for spec in collected.specs {
            guard known.insert(spec.name).inserted else { throw .invalidConfiguration("duplicate parameter name \(spec.name)") }
        }
        for key in dict.keys where !known.contains(key) {
            if collected.ignored.contains(key) { report.ignored.append(key) } else { report.unexpected.append(key) }
        }
        var staged: [String: Tensor] = [:]
        for spec in collected.specs {
            guard let t = dict[spec.name] else { report.missing.append(spec.name); continue }
            guard t.shape == spec.shape else {
                report.shapeMismatches.append(.init(key: spec.name, expected: spec.shape, actual: t.shape))
                continue
            }
            var tensor = try Tensor(checkpoint: t, name: spec.name)
            // The copy is the tensor's final storage; a mapped file's pages are not needed twice.
            t.releaseResidentPages()
            if tensor.dtype != spec.dtype {
                guard spec.dtype == .int64 || t.dtype == .float32 else {
                    throw .unsupportedDType(key: spec.name, dtype: t.dtype.rawValue)
                }
                do { tensor = try tensor.converted(to: spec.dtype) } catch { throw .tensor(error) }
            }
            staged[spec.name] = tensor
        }
        report.matched = staged.count
        if !report.shapeMismatches.isEmpty || (strict && !report.isExact) {
            throw .incompatibleStateDict(report)
        }
        report.loaded = staged.count
        _ = try copy.visit(with: Assigner(staged: staged))
        self = copy
        return report
    }
}
