@_spi(Kernels) import ReproTensor

/// One parameter an optimizer updates: its state-dict name and shape.
public struct OptimizedParameter: Codable, Sendable, Hashable {
    /// The state-dict key (`layer1.0.conv1.weight`).
    public var name: String
    /// The shape every value and gradient of it must have.
    public var shape: [Int]

    /// Creates the description.
    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

/// A parameter group: parameters that share hyper-parameters (PyTorch's `param_groups` entry).
public struct ParameterGroup<Options: OptimizerOptions>: Codable, Sendable, Equatable {
    /// The parameters, in the order they are updated.
    public var parameters: [OptimizedParameter]
    /// The group's hyper-parameters.
    public var options: Options

    /// Creates a group.
    public init(parameters: [OptimizedParameter], options: Options) {
        self.parameters = parameters
        self.options = options
    }
}

/// The hyper-parameters of one optimizer kind.
public protocol OptimizerOptions: Codable, Sendable, Equatable {
    /// The learning rate (a Python float in torch; rounded to float32 where a kernel uses it).
    var learningRate: Double { get set }
    /// What `OneCycleLR`'s momentum cycling writes: SGD's `momentum`, Adam's `betas.0`.
    var cycledMomentum: Double { get set }
    /// Throws what PyTorch's constructor raises as `ValueError`.
    func validate() throws(OptimizerError)
}

/// An optimizer whose step is bit-identical to PyTorch's default CPU implementation (the
/// single-tensor loop) given the same gradients, for either of torch's kernel sets
/// (``TorchArithmetic``).
///
/// Parameters are float32 tensors addressed by name; ``step(_:gradients:)`` takes them in the
/// order of ``parameters`` (groups in order, each group's parameters in order), and
/// ``step(_:gradients:)-(M,_)`` updates a ``Module`` in place. A `nil` gradient skips that
/// parameter exactly as torch skips `p.grad is None` (no update, no state, no step count).
public protocol Optimizer: Sendable {
    /// The hyper-parameter type.
    associatedtype Options: OptimizerOptions
    /// The parameter groups with their hyper-parameters (`Codable`: save them with the state).
    var groups: [ParameterGroup<Options>] { get set }
    /// Momentum buffers, moments and step counts.
    var state: OptimizerState { get set }
    /// The torch kernel set reproduced.
    var arithmetic: TorchArithmetic { get set }
    /// An optimizer over parameter groups, checked as torch's constructor checks them.
    ///
    /// - Throws: ``OptimizerError/emptyParameterList``, ``OptimizerError/duplicateParameter(_:)``,
    ///   ``OptimizerError/invalidHyperparameter(_:)``.
    init(groups: [ParameterGroup<Options>], arithmetic: TorchArithmetic) throws(OptimizerError)
    /// The state field names this group's parameters carry after a step (torch's keys).
    static func stateFields(for options: Options) -> [String]
    /// Updates one parameter in place (inputs already validated: same shape, float32, finite).
    static func update(_ parameter: inout Tensor, gradient: Tensor, state: inout ParameterState,
                       options: Options, arithmetic: TorchArithmetic)
}

extension Optimizer {
    /// An optimizer over one group of named parameters (name, shape).
    public init(parameters: [(String, [Int])], options: Options, arithmetic: TorchArithmetic = .fused) throws(OptimizerError) {
        try self.init(groups: [ParameterGroup(parameters: parameters.map { OptimizedParameter(name: $0.0, shape: $0.1) },
                                              options: options)], arithmetic: arithmetic)
    }

    /// An optimizer over every learnable parameter (buffers excluded) of a model, in state-dict order.
    public init<M: Module>(model: M, options: Options, arithmetic: TorchArithmetic = .fused) throws(OptimizerError) {
        let specs = model.parameterSpecs.filter { !$0.isBuffer }.map { OptimizedParameter(name: $0.name, shape: $0.shape) }
        try self.init(groups: [ParameterGroup(parameters: specs, options: options)], arithmetic: arithmetic)
    }

    /// Every parameter, groups in order.
    public var parameters: [OptimizedParameter] { groups.flatMap(\.parameters) }

    /// The learning rate of each group (what a schedule drives).
    public var learningRates: [Double] { groups.map(\.options.learningRate) }

    /// Checks groups as torch's constructor does: options in range, no empty list, no duplicates.
    static func validate(_ groups: [ParameterGroup<Options>]) throws(OptimizerError) {
        guard !groups.isEmpty else { throw .emptyParameterList }
        var seen: Set<String> = []
        for g in groups {
            guard !g.parameters.isEmpty else { throw .emptyParameterList }
            try g.options.validate()
            for p in g.parameters {
                guard seen.insert(p.name).inserted else { throw .duplicateParameter(p.name) }
                guard p.shape.allSatisfy({ $0 >= 0 }) else {
                    throw .invalidHyperparameter("\(p.name): negative dimension in shape \(p.shape)")
                }
            }
        }
    }

    /// Sets each group's learning rate and, when given, its cycled momentum (what a schedule
    /// computed), after checking them as the constructor would.
    public mutating func setHyperparameters(learningRates: [Double], momenta: [Double]? = nil) throws(OptimizerError) {
        guard learningRates.count == groups.count else {
            throw .countMismatch(expected: groups.count, actual: learningRates.count, what: "learning rates")
        }
        if let m = momenta, m.count != groups.count {
            throw .countMismatch(expected: groups.count, actual: m.count, what: "momenta")
        }
        var copy = groups
        for i in copy.indices {
            copy[i].options.learningRate = learningRates[i]
            if let m = momenta { copy[i].options.cycledMomentum = m[i] }
            try copy[i].options.validate()
        }
        groups = copy
    }

    /// Performs one optimizer step.
    ///
    /// - Parameters:
    ///   - parameters: the values, in the order of ``parameters``; updated in place.
    ///   - gradients: one per parameter; `nil` skips the parameter (frozen, or unused this step).
    /// - Throws: ``OptimizerError/countMismatch(expected:actual:what:)``,
    ///   ``OptimizerError/shapeMismatch(parameter:expected:actual:)``,
    ///   ``OptimizerError/notFloat32(parameter:)``, and
    ///   ``OptimizerError/nonFiniteGradient(parameter:step:index:)`` for a NaN or infinite gradient
    ///   element. Everything is checked before anything changes: a refused step leaves the
    ///   parameters and the state as they were.
    public mutating func step(_ parameters: inout [Tensor], gradients: [Tensor?]) throws(OptimizerError) {
        let specs = self.parameters
        guard parameters.count == specs.count else {
            throw .countMismatch(expected: specs.count, actual: parameters.count, what: "parameters")
        }
        guard gradients.count == specs.count else {
            throw .countMismatch(expected: specs.count, actual: gradients.count, what: "gradients")
        }
        let stepNumber = state.steps + 1
        for (i, spec) in specs.enumerated() {
            try Self.check(parameters[i], spec, spec.name)
            if let g = gradients[i] {
                try Self.check(g, spec, spec.name)
                if let bad = Self.firstNonFinite(g) {
                    throw .nonFiniteGradient(parameter: spec.name, step: stepNumber, index: bad)
                }
            }
        }
        var k = 0
        for group in groups {
            for spec in group.parameters {
                defer { k += 1 }
                guard let g = gradients[k] else { continue }
                var st = state.parameters[spec.name] ?? ParameterState()
                Self.update(&parameters[k], gradient: g, state: &st, options: group.options, arithmetic: arithmetic)
                state.parameters[spec.name] = st
            }
        }
        state.steps = stepNumber
    }

    /// Performs one step on a model's parameters, found by name through its walk.
    ///
    /// - Parameters:
    ///   - model: updated in place, then prepared again (``Module/prepare(in:)``).
    ///   - gradients: gradients by parameter name; a parameter without one is skipped (frozen).
    /// - Throws: ``OptimizerError/unknownParameter(_:)`` when a gradient names a parameter this
    ///   optimizer does not update or the model lacks one it does; the errors of
    ///   ``step(_:gradients:)``; ``OptimizerError/module(_:)`` when preparing fails. The model
    ///   changes only when everything succeeds.
    public mutating func step<M: Module>(_ model: inout M, gradients: [String: Tensor]) throws(OptimizerError) {
        let specs = self.parameters
        let known = Set(specs.map(\.name))
        if let unknown = gradients.keys.sorted().first(where: { !known.contains($0) }) {
            throw .unknownParameter(unknown)
        }
        let values = model.stateDict
        var params: [Tensor] = []
        for s in specs {
            guard let t = values[s.name] else { throw .unknownParameter(s.name) }
            params.append(t)
        }
        var copy = self
        try copy.step(&params, gradients: specs.map { gradients[$0.name] })
        var updated = model
        do {
            _ = try updated.visit(with: ParameterWriter(values: Dictionary(uniqueKeysWithValues: zip(specs.map(\.name), params))))
            try updated.prepare(in: .root)
        } catch { throw .module(error) }
        model = updated
        self = copy
    }

    /// The state as named tensors, parameters in order: `state.<name>.<field>` (torch's field
    /// names; `step` is a 0-d float32 tensor) and `optimizer.steps` (a 0-d int64 tensor).
    public func savedState() -> [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = []
        for p in parameters {
            guard let st = state.parameters[p.name] else { continue }
            for (field, t) in st.fields { out.append(("state.\(p.name).\(field)", t)) }
        }
        if let t = try? Tensor(repeating: Int64(state.steps), shape: []) { out.append(("optimizer.steps", t)) }
        return out
    }

    /// Replaces the state with a saved one (from ``savedState()``), after checking that it fits
    /// this optimizer: every key names one of its parameters and a field its options keep, each
    /// tensor has the parameter's shape (`step` and `optimizer.steps` are 0-d), and a parameter has
    /// either all its fields or none.
    ///
    /// - Throws: ``OptimizerError/stateMismatch(key:reason:)`` naming the first offending key (in
    ///   parameter order); nothing changes.
    public mutating func restoreState(_ saved: [(name: String, tensor: Tensor)]) throws(OptimizerError) {
        var byKey: [String: Tensor] = [:]
        for (k, t) in saved {
            guard byKey.updateValue(t, forKey: k) == nil else { throw .stateMismatch(key: k, reason: "appears twice") }
        }
        guard let stepsTensor = byKey.removeValue(forKey: "optimizer.steps") else {
            throw .stateMismatch(key: "optimizer.steps", reason: "missing")
        }
        guard stepsTensor.dtype == .int64, stepsTensor.count == 1, let steps = try? stepsTensor.scalars(as: Int64.self)[0], steps >= 0 else {
            throw .stateMismatch(key: "optimizer.steps", reason: "expected a non-negative 0-d int64 tensor")
        }
        var restored: [String: ParameterState] = [:]
        for group in groups {
            let fields = Self.stateFields(for: group.options)
            for p in group.parameters {
                var st = ParameterState()
                var present: [String] = []
                for f in fields {
                    let key = "state.\(p.name).\(f)"
                    guard let t = byKey.removeValue(forKey: key) else { continue }
                    present.append(f)
                    guard t.dtype == .float32 else { throw .stateMismatch(key: key, reason: "dtype \(t.dtype), expected float32") }
                    if f == "step" {
                        guard t.count == 1, let v = try? t.scalars(as: Float.self)[0], v >= 1, v.isFinite else {
                            throw .stateMismatch(key: key, reason: "expected a 0-d step count of at least 1")
                        }
                        st.step = v
                        continue
                    }
                    guard t.shape == p.shape else {
                        throw .stateMismatch(key: key, reason: "shape \(t.shape), the parameter's is \(p.shape)")
                    }
                    let c = t.contiguous()
                    switch f {
                    case "momentum_buffer": st.momentumBuffer = c
                    case "exp_avg": st.expAvg = c
                    case "exp_avg_sq": st.expAvgSq = c
                    default: st.maxExpAvgSq = c
                    }
                }
                if present.isEmpty { continue }
                if let missing = fields.first(where: { !present.contains($0) }) {
                    throw .stateMismatch(key: "state.\(p.name).\(missing)", reason: "missing while other fields of \(p.name) are present")
                }
                restored[p.name] = st
            }
        }
        if let extra = saved.map(\.name).first(where: { byKey[$0] != nil }) {
            throw .stateMismatch(key: extra, reason: "not a state field of any parameter of this optimizer")
        }
        state = OptimizerState(parameters: restored, steps: Int(steps))
    }

    /// Throws unless `t` is a float32 tensor of the parameter's shape.
    static func check(_ t: Tensor, _ spec: OptimizedParameter, _ name: String) throws(OptimizerError) {
        guard t.dtype == .float32 else { throw .notFloat32(parameter: name) }
        guard t.shape == spec.shape else { throw .shapeMismatch(parameter: name, expected: spec.shape, actual: t.shape) }
    }

    /// The index of the first NaN or infinite element, if any: each fixed chunk
    /// (``OptimKernels/forEachRange(_:_:)``) finds its own first one on the pool's threads, and the
    /// smallest wins, so the answer is the first index whatever the thread count.
    static func firstNonFinite(_ t: Tensor) -> Int? {
        let c = t.contiguous()
        return try? c.withUnsafeBufferPointer(as: Float.self) { (b: UnsafeBufferPointer<Float>) throws(TensorError) in
            let chunks = OptimKernels.chunkCount(b.count)
            guard chunks > 0 else { return nil }
            var first = [Int](repeating: Int.max, count: chunks)
            first.withUnsafeMutableBufferPointer { first in
                OptimKernels.forEachRange(b.count) { k, range in
                    // An exponent of all ones is NaN or ±∞; the OR over the chunk finds one without branching.
                    var any: UInt32 = 0
                    for i in range { any |= ~b[i].bitPattern & 0x7f80_0000 == 0 ? 1 : 0 }
                    if any != 0, let i = b[range].firstIndex(where: { !$0.isFinite }) { first[k] = i }
                }
            }
            return first.first { $0 != Int.max }
        } ?? nil
    }
}

/// Writes updated parameter values into a model tree.
private struct ParameterWriter: ModuleVisitor {
    var values: [String: Tensor]
    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        if !info.isBuffer, let t = values[key] { tensor = t }
    }
}

/// Element-wise loops over contiguous float32 buffers (the parameter is made unique first).
enum OptimKernels {
    /// Elements per chunk of an element-wise update (128 KiB of float32).
    static let chunk = 1 << 15

    /// The number of chunks of `count` elements.
    static func chunkCount(_ count: Int) -> Int { (count + chunk - 1) / chunk }

    /// Runs `body(range)` over fixed chunks of `count` elements on up to ``Runtime/threads`` of the
    /// pool's threads — for element-wise updates only, where no value depends on the chunks.
    static func forEachRange(_ count: Int, _ body: (Range<Int>) -> Void) {
        forEachRange(count) { _, range in body(range) }
    }

    /// ``forEachRange(_:_:)`` with the chunk's index.
    static func forEachRange(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
        ThreadPool.current.forEachChunk(chunkCount(count), threads: Runtime.settings.threads) { k in
            body(k, k * chunk ..< min(count, (k + 1) * chunk))
        }
    }

    /// Calls `body` with the parameter's mutable elements and the other tensors' elements.
    static func withBuffers(
        _ p: inout Tensor, _ g: Tensor,
        _ body: (UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>) -> Void
    ) {
        let gc = g.contiguous()
        _ = try? p.withUnsafeMutableBufferPointer(as: Float.self) { (pb: UnsafeMutableBufferPointer<Float>) throws(TensorError) in
            try gc.withUnsafeBufferPointer(as: Float.self) { (gb: UnsafeBufferPointer<Float>) throws(TensorError) in body(pb, gb) }
        }
    }

    /// A zero-filled float32 tensor shaped like `t` (a copy of its storage, cleared: no
    /// allocation check can fail for a tensor that already exists).
    static func zeros(like t: Tensor) -> Tensor {
        var z = t
        mutable(&z) { $0.update(repeating: 0) }
        return z
    }

    /// Mutable elements of a state tensor.
    static func mutable(_ t: inout Tensor, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        _ = try? t.withUnsafeMutableBufferPointer(as: Float.self) { (b: UnsafeMutableBufferPointer<Float>) throws(TensorError) in body(b) }
    }
}
