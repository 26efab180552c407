import ReproTensor

/// `nn.Sequential`: layers run in order, named `0`, `1`, … in the state dict.
///
/// Preparation fuses what eval mode allows, without changing any key: a ``Conv2d`` followed by a
/// ``FoldableNormalization`` folds the norm into the convolution's epilogue, a following ``ReLU``
/// is fused too, and a ``GroupNorm`` followed by a ``ReLU`` runs as one in-place pass. The hook
/// then reports a fused group's output once, under the path of its last layer (e.g. `…conv.0.2`),
/// with an operation that names every fused layer (`Conv2d 1x1/2 256->512, gemm + BatchNorm2d + ReLU (fused)`).
///
/// When nobody observes the scope, a group norm + ReLU whose output goes straight into a
/// convolution (in this sequence or, through nested sequences, in a later one) is not applied
/// on its own: its statistics give a per-sample, per-channel affine map that the convolution
/// applies while it copies its input into its padded buffer — one pass over the activation
/// instead of two, the same bits.
///
/// ```swift
/// var block = Sequential([try Conv2d(inChannels: 64, outChannels: 64, kernelSize: 3, padding: 1, bias: false, generator: &g),
///                         try BatchNorm2d(numFeatures: 64), ReLU()])
/// try block.prepare(in: .root)
/// let y = try block(x)
/// ```
public struct Sequential: Layer {
    /// The layers in order.
    public var layers: [any Layer]
    private var steps: [Step] = []

    private enum Step: Sendable {
        /// A convolution with a folded norm and/or ReLU covering layers `first ... last`.
        case conv(PreparedConv2d, first: Int, last: Int)
        /// A group norm with the following ReLU fused (layers `index`, `index + 1`).
        case groupNormReLU(index: Int)
        /// One layer on its own.
        case layer(index: Int)
    }

    /// A sequence of layers.
    public init(_ layers: [any Layer]) { self.layers = layers }

    /// Visits each layer under its index.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        for i in layers.indices {
            try walker.child(String(i)) { (w: inout ModuleWalker<V>) throws(ModuleError) in try layers[i].walk(&w) }
        }
    }

    /// Builds the fused plan (see the type's description).
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        var plan: [Step] = []
        var i = 0
        while i < layers.count {
            if let conv = layers[i] as? Conv2d {
                var j = i + 1
                var affine: ChannelAffine?
                if j < layers.count, let norm = layers[j] as? any FoldableNormalization {
                    affine = try norm.foldedAffine(in: scope.child(String(j)))
                    j += 1
                }
                let relu = j < layers.count && layers[j] is ReLU
                if relu { j += 1 }
                plan.append(.conv(try conv.prepared(normalization: affine, relu: relu, in: scope.child(String(i))), first: i, last: j - 1))
                i = j
            } else if layers[i] is GroupNorm, i + 1 < layers.count, layers[i + 1] is ReLU {
                plan.append(.groupNormReLU(index: i))
                i += 2
            } else {
                try layers[i].prepare(in: scope.child(String(i)))
                plan.append(.layer(index: i))
                i += 1
            }
        }
        steps = plan
    }

    /// The operation of a fused convolution group, naming each folded layer.
    private func fusedOperation(_ conv: PreparedConv2d, first: Int, last: Int) -> String {
        var op = conv.operationDescription
        guard last > first else { return op }
        for i in (first + 1)...last {
            if let norm = layers[i] as? any FoldableNormalization { op += " + " + norm.operationName } else { op += " + ReLU" }
        }
        return op + " (fused)"
    }

    /// Runs the prepared plan.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        let (x, pending) = try forwardDeferringNormalization(input, in: scope)
        guard let pending else { return x }
        return try scope.run { () throws(TensorError) in try x.applying(pending) }
    }

    /// Runs the prepared plan, but may return its output as a raw activation plus a group
    /// normalisation (+ ReLU) still to apply (`pending`): the caller hands both to the next
    /// convolution (``PreparedConv2d/run(_:inputAffine:in:)``), which applies it while copying its
    /// input, or applies it itself. Nothing is held back when the scope is observed, so every
    /// observer sees every output as ``forward(_:in:)`` reports it.
    package func forwardDeferringNormalization(
        _ input: Tensor, pending incoming: SampleChannelAffine? = nil, in scope: ModuleScope
    ) throws(ModuleError) -> (raw: Tensor, pending: SampleChannelAffine?) {
        guard steps.count > 0 || layers.isEmpty else { throw .notPrepared(path: scope.path) }
        let deferring = !scope.isObserved
        var x = input
        var pending = incoming
        /// Applies a held-back normalisation before a step that cannot take it.
        func settle() throws(ModuleError) {
            guard let p = pending else { return }
            x = try scope.run { () throws(TensorError) in try x.applying(p) }
            pending = nil
        }
        for step in steps {
            switch step {
            case .conv(let conv, let first, let last):
                x = try conv.run(x, inputAffine: pending, in: scope.child(String(first)))
                pending = nil
                scope.child(String(last)).report(x, operation: fusedOperation(conv, first: first, last: last))
            case .groupNormReLU(let index):
                guard let norm = layers[index] as? GroupNorm else { throw .notPrepared(path: scope.child(String(index)).path) }
                try settle()
                if deferring {
                    pending = try norm.affine(of: x, relu: true, in: scope.child(String(index)))
                } else {
                    // Out of place: the observer may hold the convolution's output, which an in-place norm would
                    // copy first. The statistics pass and the affine pass are the in-place norm's own (same bits).
                    let affine = try norm.affine(of: x, relu: true, in: scope.child(String(index)))
                    x = try scope.run { () throws(TensorError) in try x.applying(affine) }
                    scope.child(String(index + 1)).report(x, operation: norm.operationName + " + ReLU (fused)")
                }
            case .layer(let index):
                if deferring, let nested = layers[index] as? Sequential {
                    (x, pending) = try nested.forwardDeferringNormalization(x, pending: pending, in: scope.child(String(index)))
                } else {
                    try settle()
                    x = try layers[index].forward(x, in: scope.child(String(index)))
                }
            }
        }
        if pending == nil { scope.report(x, operation: "Sequential(\(layers.count))") }
        return (x, pending)
    }
}

extension Sequential {
    /// The note that an operation ran over every level in one call, for reports of that call.
    package static func levelsNote(_ count: Int) -> String { " [\(count) levels in one call]" }

    /// ``forwardDeferringNormalization(_:pending:in:)`` on several inputs that share this sequence's
    /// weights (a feature pyramid's levels), step by step: each convolution runs once over all levels
    /// (``PreparedConv2d/run(levels:inputAffines:in:)``: one Winograd weight transform, one team of
    /// threads), the other steps level by level. Every level's result has the bits of the
    /// single-input call.
    ///
    /// Reports: with `levelScopes` (one per input, same path as `scope`; e.g. a ``LevelReports``'
    /// collecting scopes) each level's outputs are reported to its own scope — every output the
    /// single-input observed call reports, with the same bits, under the same names, in the same
    /// order within the level. A held-back group norm + ReLU is then also applied out of place so
    /// that its output (and the sequence's, when it ends with it) can be reported; the next
    /// convolution still applies it while copying its input. Without `levelScopes`, an observed
    /// `scope` runs the levels one after another through the single-input call (observers see the
    /// same outputs in the same order), an unobserved one reports nothing.
    ///
    /// - Parameters:
    ///   - shown: per level, the held-back normalisation already applied (what observers were
    ///     shown), used instead of applying it again when a step cannot take it.
    /// - Returns: per level the raw output, the normalisation still to apply, and (when reporting)
    ///   that normalisation applied, as reported.
    package func forwardDeferringNormalization(
        levels inputs: [Tensor], pending incoming: [SampleChannelAffine?]? = nil, shown incomingShown: [Tensor?]? = nil,
        in scope: ModuleScope, levelScopes: [ModuleScope]? = nil
    ) throws(ModuleError) -> [(raw: Tensor, pending: SampleChannelAffine?, shown: Tensor?)] {
        var pending = incoming ?? Array(repeating: nil, count: inputs.count)
        var shown = incomingShown ?? Array(repeating: nil, count: inputs.count)
        guard pending.count == inputs.count, shown.count == inputs.count, levelScopes.map({ $0.count == inputs.count }) ?? true else {
            throw .invalidConfiguration("\(scope.path): \(inputs.count) levels but \(pending.count) pending normalisations, "
                + "\(shown.count) shown outputs and \(levelScopes?.count ?? inputs.count) level scopes")
        }
        if levelScopes == nil, scope.isObserved {
            var results: [(raw: Tensor, pending: SampleChannelAffine?, shown: Tensor?)] = []
            for (x, p) in zip(inputs, pending) {
                let r = try forwardDeferringNormalization(x, pending: p, in: scope)
                results.append((r.raw, r.pending, nil))
            }
            return results
        }
        guard steps.count > 0 || layers.isEmpty else { throw .notPrepared(path: scope.path) }
        let note = Self.levelsNote(inputs.count)
        var xs = inputs
        /// Applies level `i`'s held-back normalisation before a step that cannot take it.
        func settle(_ i: Int) throws(ModuleError) {
            guard let p = pending[i] else { return }
            let x = xs[i]
            if let y = shown[i] { xs[i] = y } else { xs[i] = try scope.run { () throws(TensorError) in try x.applying(p) } }
            pending[i] = nil
            shown[i] = nil
        }
        for step in steps {
            switch step {
            case .conv(let conv, let first, let last):
                xs = try conv.run(levels: xs, inputAffines: pending, in: scope.child(String(first)))
                pending = Array(repeating: nil, count: xs.count)
                shown = Array(repeating: nil, count: xs.count)
                if let levelScopes {
                    let op = fusedOperation(conv, first: first, last: last) + note
                    for i in xs.indices { levelScopes[i].child(String(last)).report(xs[i], operation: op) }
                }
            case .groupNormReLU(let index):
                guard let norm = layers[index] as? GroupNorm else { throw .notPrepared(path: scope.child(String(index)).path) }
                for i in xs.indices {
                    try settle(i)
                    let affine = try norm.affine(of: xs[i], relu: true, in: scope.child(String(index)))
                    pending[i] = affine
                    if let levelScopes {
                        // Out of place (observers may hold the convolution's output); the bits of the in-place norm.
                        let x = xs[i]
                        let y = try scope.run { () throws(TensorError) in try x.applying(affine) }
                        shown[i] = y
                        levelScopes[i].child(String(index + 1)).report(
                            y, operation: norm.operationName + " + ReLU (fused; held back for the next convolution, recorded out of place)")
                    }
                }
            case .layer(let index):
                if let nested = layers[index] as? Sequential {
                    let results = try nested.forwardDeferringNormalization(
                        levels: xs, pending: pending, shown: shown, in: scope.child(String(index)),
                        levelScopes: levelScopes?.map { $0.child(String(index)) })
                    xs = results.map(\.raw)
                    pending = results.map(\.pending)
                    shown = results.map(\.shown)
                } else {
                    for i in xs.indices {
                        try settle(i)
                        xs[i] = try layers[index].forward(xs[i], in: (levelScopes?[i] ?? scope).child(String(index)))
                    }
                }
            }
        }
        if let levelScopes {
            for i in xs.indices { levelScopes[i].report(shown[i] ?? xs[i], operation: "Sequential(\(layers.count))") }
        }
        return xs.indices.map { (xs[$0], pending[$0], shown[$0]) }
    }
}

/// `nn.ModuleList` (or a `Sequential` of one layer type): children named `0`, `1`, … with
/// typed access.
///
/// ```swift
/// var blocks = ModuleList<Conv2d>([c0, c1])
/// let second = blocks[1]
/// ```
public struct ModuleList<Element: Module>: Module, RandomAccessCollection {
    /// The children in order.
    public var elements: [Element]

    /// A list of modules.
    public init(_ elements: [Element]) { self.elements = elements }

    /// The first index (0).
    public var startIndex: Int { elements.startIndex }
    /// One past the last index.
    public var endIndex: Int { elements.endIndex }
    /// The child at `i`.
    public subscript(i: Int) -> Element {
        get { elements[i] }
        set { elements[i] = newValue }
    }

    /// Visits each child under its index.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        for i in elements.indices { try walker.child(String(i), &elements[i]) }
    }

    /// Prepares each child.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        for i in elements.indices { try elements[i].prepare(in: scope.child(String(i))) }
    }
}
