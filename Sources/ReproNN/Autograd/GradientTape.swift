@_spi(Kernels) import ReproTensor

/// The record of one differentiable forward pass over a micro-batch: every operation appends a
/// node with its backward rule, and ``backward(from:seed:)`` runs them in reverse.
///
/// A tape is created by ``valueAndGradient(of:batchSize:microBatches:options:_:)`` (or a ``GradientAccumulator``
/// run) for one call and handed to the loss closure through a ``TrainingScope``: there is no
/// global tape, and the inference paths (`forward(_:in:)` on tensors) never record anything.
///
/// Activations carry the sample axis first (`[n, …]`, `n` = samples of this micro-batch). The
/// gradient of a **parameter** is never summed over samples on the tape: each rule that consumes a
/// parameter hands over one contribution per sample, and the tape reduces them with
/// ``SampleTreeSum`` over the global sample indices as soon as the parameter's last use in the
/// backward pass has run (so at most one layer's per-sample contributions are alive at a time).
public final class GradientTape {
    typealias Rule = (GradientTape, [Float]) throws(AutogradError) -> Void

    struct Node {
        var shape: [Int]
        var rule: Rule?
        /// Parameters whose per-sample contributions are complete once this node's rule ran.
        var completes: [String] = []
    }

    /// The samples this tape covers, as global indices.
    public let samples: Range<Int>
    /// Training or evaluation behaviour of mode-dependent layers.
    public let mode: TrainingMode
    /// Which parameters receive gradients.
    public let selection: GradientSelection
    /// Seed and step of the counter-based dropout masks.
    public let randomness: DropoutRandomness

    var nodes: [Node] = []
    var grads: [[Float]?] = []
    var parameterNodes: [String: Int] = [:]
    var parameterOrder: [String] = []
    var parameterShapes: [String: [Int]] = [:]
    /// Per-sample contributions `[n · count]`, alive between a parameter's last and first use.
    var perSample: [String: [Float]] = [:]
    /// Reduced gradients (tree blocks over this tape's samples).
    var reduced: [String: SampleTreeSum] = [:]
    /// Buffers the forward pass replaced (BatchNorm running statistics in training mode).
    public internal(set) var bufferUpdates: [String: Tensor] = [:]
    /// `true` once a layer normalised with statistics of the whole micro-batch.
    public internal(set) var usesBatchStatistics = false

    /// A tape for the samples `samples` of a global batch.
    public init(samples: Range<Int>, mode: TrainingMode = .training, selection: GradientSelection = .init(),
                randomness: DropoutRandomness = .init()) {
        self.samples = samples
        self.mode = mode
        self.selection = selection
        self.randomness = randomness
    }

    /// Samples in this micro-batch.
    public var sampleCount: Int { samples.count }

    // MARK: recording

    func record(_ shape: [Int], _ data: [Float], rule: Rule?) -> Variable {
        nodes.append(Node(shape: shape, rule: rule))
        grads.append(nil)
        return Variable(tape: self, id: nodes.count - 1, shape: shape, data: data)
    }

    /// A batched input that needs no gradient (images, targets).
    public func constant(_ tensor: Tensor) throws(AutogradError) -> Variable {
        let t = try AutogradError.wrap("input") { () throws(TensorError) in try tensor.converted(to: .float32).contiguous() }
        let data: [Float] = try AutogradError.wrap("input") { () throws(TensorError) in try t.scalars() }
        return record(t.shape, data, rule: nil)
    }

    /// A batched input whose gradient the backward pass keeps (``gradient(of:)``): for saliency
    /// maps and for testing a rule's input gradient.
    public func watched(_ tensor: Tensor) throws(AutogradError) -> Variable {
        let c = try constant(tensor)
        nodes[c.id].rule = { [id = c.id] (t: GradientTape, g: [Float]) throws(AutogradError) in t.kept[id] = g }
        return c
    }
    var kept: [Int: [Float]] = [:]

    /// The gradient of a ``watched(_:)`` input after ``backward(from:seed:)`` (`nil` when none reached it).
    public func gradient(of input: Variable) -> Tensor? {
        guard let g = kept[input.id] else { return nil }
        return try? Tensor(shape: input.shape, scalars: g)
    }

    /// A parameter's gradient after ``backward(from:seed:)``: the canonical sum over this tape's samples.
    public func gradient(ofParameter key: String) -> Tensor? {
        guard let tree = reduced[key], let shape = parameterShapes[key] else { return nil }
        return try? Tensor(shape: shape, scalars: tree.total())
    }

    /// A constant from raw values (no gradient).
    func constant(shape: [Int], _ data: [Float]) -> Variable { record(shape, data, rule: nil) }

    /// The variable of parameter `key` (created on first use, shared by later uses). A parameter
    /// that ``selection`` freezes comes back as a constant.
    public func parameter(_ key: String, _ tensor: Tensor) throws(AutogradError) -> Variable {
        if let id = parameterNodes[key] {
            return Variable(tape: self, id: id, shape: nodes[id].shape, data: parameterValues[key]!, parameterKey: key)
        }
        let t = try AutogradError.wrap(key) { () throws(TensorError) in try tensor.converted(to: .float32).contiguous() }
        let data: [Float] = try AutogradError.wrap(key) { () throws(TensorError) in try t.scalars() }
        guard selection.requiresGradient(key) else { return record(t.shape, data, rule: nil) }
        let v = record(t.shape, data, rule: nil)
        parameterNodes[key] = v.id
        parameterOrder.append(key)
        parameterShapes[key] = t.shape
        parameterValues[key] = data
        return Variable(tape: self, id: v.id, shape: v.shape, data: data, parameterKey: key)
    }
    var parameterValues: [String: [Float]] = [:]

    /// Marks that `parameter` (if trainable) is consumed by the node `consumer`. Its
    /// contributions are complete after the rule of its **first** consumer (the last one the
    /// reverse pass reaches), so only the first use is recorded.
    func consume(_ parameter: Variable, by consumer: Int) {
        guard let key = parameter.parameterKey, !consumed.contains(key) else { return }
        consumed.insert(key)
        nodes[consumer].completes.append(key)
    }
    private var consumed: Set<String> = []

    // MARK: backward

    /// Adds `g` to the gradient of activation node `id`, element by element.
    func accumulate(_ id: Int, _ g: [Float]) {
        if nodes[id].rule == nil { return }
        Self.add(g, into: &grads[id])
    }

    /// `slot += g` element by element (`slot = g` when empty), without copying the buffer; large
    /// gradients in fixed chunks on up to ``RuntimeSettings/threads`` threads (one rounding per
    /// element, so the split cannot change a bit: ``ParallelMemory/add(_:into:count:threads:)``).
    static func add(_ g: [Float], into slot: inout [Float]?) {
        guard var existing = slot else { slot = g; return }
        slot = nil
        let threads = Runtime.settings.threads
        existing.withUnsafeMutableBufferPointer { e in g.withUnsafeBufferPointer { s in
            guard let eb = e.baseAddress, let sb = s.baseAddress else { return }
            ParallelMemory.add(sb, into: eb, count: e.count, threads: threads)
        } }
        slot = existing
    }

    /// Adds per-sample contributions `[n · count]` of parameter `v` (sample-major), element by element.
    func accumulatePerSample(_ v: Variable, _ contributions: [Float]) {
        guard let key = v.parameterKey else { return }
        precondition(contributions.count == sampleCount * v.count, "per-sample contribution size")
        Self.add(contributions, into: &perSample[key])
    }

    /// Hands parameter `v` one contribution of `count` floats per sample, written by
    /// `produce(n, buffer)` for the tape's samples `n = 0, 1, …` in order.
    ///
    /// When these are the parameter's only contributions (the running rule is its last consumer
    /// and no other consumer added any), they go straight into the canonical tree
    /// (``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``: the same nodes and
    /// bits as ``reduce(_:)``, with `O(log n)` buffers alive instead of `n`); otherwise they are
    /// written out `[n · count]` and added like ``accumulatePerSample(_:_:)``.
    ///
    /// `tree(firstSample)`, when given, computes those same tree nodes directly (a kernel that
    /// reduces inside itself, such as the convolution's weight gradient); it replaces `produce`
    /// in the first case.
    func accumulatePerSample(_ v: Variable, count: Int, threads: Int, tree: ((Int) -> SampleTreeSum)? = nil,
                             _ produce: (Int, UnsafeMutablePointer<Float>) -> Void) {
        guard let key = v.parameterKey else { return }
        precondition(count == v.count, "per-sample contribution size")
        if perSample[key] == nil, let r = running, nodes[r].completes.contains(key) {
            reduced[key] = tree?(samples.lowerBound)
                ?? SampleGradients.accumulate(count: count, firstSample: samples.lowerBound, samples: sampleCount,
                                              threads: threads, produce)
            return
        }
        // `produce` writes every element of each sample's slice: no zero-fill first.
        let total = sampleCount * count
        let all = total == 0 ? [] : [Float](unsafeUninitializedCapacity: total) { p, initialized in
            for n in 0..<sampleCount { produce(n, p.baseAddress! + n * count) }
            initialized = total
        }
        accumulatePerSample(v, all)
    }

    /// The node whose rule ``backward(from:seed:)`` is running.
    private var running: Int?

    /// Hands the per-sample `dγ = Σ dy·x̂` and `dβ = Σ dy` of a per-channel affine norm to its
    /// parameters (NHWC, channels last).
    func accumulateAffine(weight: Variable, bias: Variable, dy: [Float], xhat: [Float], samples n: Int, channels c: Int) {
        var gx = dy
        for i in gx.indices { gx[i] = dy[i] * xhat[i] }
        accumulatePerSample(weight, channelSums(gx, samples: n, channels: c))
        accumulatePerSample(bias, channelSums(dy, samples: n, channels: c))
    }

    /// Runs the backward pass from `output` (a `[n]` per-sample value) with `seed` as the gradient
    /// of every element, then reduces every parameter's contributions over the samples. Runs once
    /// per tape.
    ///
    /// - Throws: ``AutogradError/lossNotPerSample(shape:samples:)`` when `output` is not `[n]`.
    public func backward(from output: Variable, seed: Float = 1) throws(AutogradError) {
        guard output.tape === self, output.shape == [sampleCount] else {
            throw .lossNotPerSample(shape: output.shape, samples: sampleCount)
        }
        defer { releaseRules() }
        grads[output.id] = [Float](repeating: seed, count: output.count)
        for id in stride(from: output.id, through: 0, by: -1) {
            // Every node that feeds `id` has a larger index and has run: `id`'s gradient is complete.
            if let rule = nodes[id].rule, let g = grads[id] {
                grads[id] = nil
                running = id
                defer { running = nil }
                try rule(self, g)
            } else {
                grads[id] = nil
            }
            // Nothing reaches this node any more: free what its rule kept (saved activations).
            nodes[id].rule = nil
            for key in nodes[id].completes { reduce(key) }
        }
        for key in parameterOrder where reduced[key] == nil { reduce(key) }
    }

    /// Whether node `id` takes a gradient (a constant does not: a rule may skip computing it).
    func needsGradient(_ id: Int) -> Bool { nodes[id].rule != nil }

    /// Drops every remaining rule, and with them the activations they kept. The rules capture
    /// variables, which reference the tape: without this the tape and everything it recorded
    /// would stay alive after the pass. Also called by ``partialGradients(of:samples:globalBatchSize:options:_:)``
    /// when the forward fails.
    func releaseRules() {
        for i in nodes.indices { nodes[i].rule = nil }
        for i in grads.indices { grads[i] = nil }
    }

    /// Pushes the per-sample contributions of `key` into its tree (zeros for an unused parameter).
    private func reduce(_ key: String) {
        // Already reduced by a streaming last contribution, and nothing added since.
        if reduced[key] != nil, perSample[key] == nil { return }
        let count = parameterShapes[key]!.reduce(1, *)
        var tree = SampleTreeSum(count: count, startIndex: samples.lowerBound)
        if let c = perSample[key] {
            c.withUnsafeBufferPointer { p in
                for s in 0..<sampleCount { tree.append(sample: UnsafeBufferPointer(rebasing: p[(s * count)..<((s + 1) * count)])) }
            }
        } else {
            let zero = [Float](repeating: 0, count: count)
            for _ in 0..<sampleCount { tree.append(sample: zero) }
        }
        perSample[key] = nil
        reduced[key] = tree
    }
}

/// A value on a ``GradientTape``: float32 data with the sample axis first for activations.
public struct Variable {
    let tape: GradientTape
    let id: Int
    /// The shape (`[n, …]` for activations).
    public let shape: [Int]
    /// Row-major values.
    public let data: [Float]
    /// The state-dict key when this is a trainable parameter.
    let parameterKey: String?

    init(tape: GradientTape, id: Int, shape: [Int], data: [Float], parameterKey: String? = nil) {
        self.tape = tape
        self.id = id
        self.shape = shape
        self.data = data
        self.parameterKey = parameterKey
    }

    /// Number of elements.
    public var count: Int { data.count }

    /// The values as a tensor.
    public var value: Tensor {
        // Shape and count agree by construction.
        try! Tensor(shape: shape, scalars: data)
    }
}
