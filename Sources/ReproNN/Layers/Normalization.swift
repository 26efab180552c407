import ReproTensor

/// A per-channel normalisation that folds into an eval-mode affine map `x · scale + shift`
/// (``BatchNorm2d``, ``FrozenBatchNorm2d``): a preceding ``Conv2d`` absorbs it at preparation.
public protocol FoldableNormalization: Layer {
    /// The eval-mode map `scale = γ · rsqrt(σ² + eps)`, `shift = β − μ · scale`.
    func foldedAffine(in scope: ModuleScope) throws(ModuleError) -> ChannelAffine
    /// The PyTorch class name shown in traces (`BatchNorm2d`, `FrozenBatchNorm2d`).
    var operationName: String { get }
}

extension FoldableNormalization {
    /// The type's name.
    public var operationName: String { String(describing: Self.self) }
}

/// `scale = γ · rsqrt(σ² + eps)`, `shift = β − μ · scale`, in float32: FrozenBatchNorm2d's arithmetic, which
/// BatchNorm2d in eval mode shares (see ``ChannelAffine``).
func foldedStatistics(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float,
                      in scope: ModuleScope) throws(ModuleError) -> ChannelAffine {
    try scope.run { () throws(TensorError) in
        try ChannelAffine.frozenBatchNorm(weight: weight, bias: bias, runningMean: runningMean,
                                          runningVariance: runningVar, eps: eps)
    }
}

/// A norm's standalone forward: the folded map on the channel axis, reported to the scope's observer.
func normalizedForward(_ input: Tensor, _ affine: ChannelAffine?, name: String, in scope: ModuleScope) throws(ModuleError) -> Tensor {
    guard let affine else { throw .notPrepared(path: scope.path) }
    let y = try applyingChannelsLast(input, affine, in: scope)
    scope.report(y, operation: "\(name)(\(affine.scale.count)) eval")
    return y
}

/// Applies a per-channel affine map on the last axis of an NHWC activation.
func applyingChannelsLast(_ x: Tensor, _ affine: ChannelAffine, in scope: ModuleScope) throws(ModuleError) -> Tensor {
    try scope.run { () throws(TensorError) in
        guard x.dtype == .float32, let c = x.shape.last, c == affine.scale.count else {
            throw .shapeMismatch(op: "batchNorm", shapes: [x.shape, [affine.scale.count]], reason: "the last (channel) axis must match")
        }
        var v: [Float] = try x.contiguous().scalars()
        for i in v.indices { v[i] = v[i] * affine.scale[i % c] + affine.shift[i % c] }
        return try Tensor(shape: x.shape, scalars: v)
    }
}

/// `nn.BatchNorm2d` in eval mode: owns `weight`, `bias` (learnable), `running_mean`,
/// `running_var` and the int64 counter `num_batches_tracked` (buffers).
///
/// Training-mode statistics are not computed yet; ``momentum`` and ``eps`` are kept for it.
///
/// ```swift
/// let bn = try BatchNorm2d(numFeatures: 64)    // γ = 1, β = 0, μ = 0, σ² = 1, like PyTorch
/// ```
public struct BatchNorm2d: FoldableNormalization {
    /// γ `[C]`.
    public var weight: Tensor
    /// β `[C]`.
    public var bias: Tensor
    /// μ `[C]`.
    public var runningMean: Tensor
    /// σ² `[C]`.
    public var runningVar: Tensor
    /// Batches seen in training (int64 scalar).
    public var numBatchesTracked: Tensor
    /// Added to the variance (PyTorch's default 1e-5).
    public var eps: Float
    /// Running-statistics momentum (PyTorch's default 0.1; `nil` is the cumulative average).
    public var momentum: Float?
    private var affine: ChannelAffine?

    /// A freshly constructed norm (no random draws, as in PyTorch).
    public init(numFeatures: Int, eps: Float = 1e-5, momentum: Float? = 0.1) throws(ModuleError) {
        guard numFeatures > 0 else { throw .invalidConfiguration("BatchNorm2d needs a positive feature count") }
        weight = try .parameter(filled: 1, shape: [numFeatures])
        bias = try .parameter(filled: 0, shape: [numFeatures])
        runningMean = try .parameter(filled: 0, shape: [numFeatures])
        runningVar = try .parameter(filled: 1, shape: [numFeatures])
        do { numBatchesTracked = try Tensor(shape: [], scalars: [Int64(0)]) } catch { throw .tensor(error) }
        self.eps = eps
        self.momentum = momentum
    }

    /// Visits the five tensors under torchvision's names.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.parameter("weight", &weight, layer: .batchNorm2d)
        try walker.parameter("bias", &bias, layer: .batchNorm2d)
        try walker.parameter("running_mean", &runningMean, buffer: true, layer: .batchNorm2d)
        try walker.parameter("running_var", &runningVar, buffer: true, layer: .batchNorm2d)
        try walker.parameter("num_batches_tracked", &numBatchesTracked, buffer: true, layer: .batchNorm2d)
    }

    /// The eval-mode map `scale = γ · rsqrt(σ² + eps)`, `shift = β − μ · scale`, in float32.
    public func foldedAffine(in scope: ModuleScope) throws(ModuleError) -> ChannelAffine {
        try foldedStatistics(weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar, eps: eps, in: scope)
    }

    /// Folds the statistics for a standalone forward.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) { affine = try foldedAffine(in: scope) }

    /// Normalises an NHWC activation with the running statistics.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        try normalizedForward(input, affine, name: operationName, in: scope)
    }
}

/// torchvision's `FrozenBatchNorm2d`: fixed statistics and affine parameters, all buffers
/// (`weight`, `bias`, `running_mean`, `running_var`); a checkpoint's `num_batches_tracked`
/// is ignored on load, as its `_load_from_state_dict` does.
///
/// ```swift
/// let bn = try FrozenBatchNorm2d(numFeatures: 64, eps: 0)   // the COCO v1 checkpoint's eps
/// ```
public struct FrozenBatchNorm2d: FoldableNormalization {
    /// γ `[C]`.
    public var weight: Tensor
    /// β `[C]`.
    public var bias: Tensor
    /// μ `[C]`.
    public var runningMean: Tensor
    /// σ² `[C]`.
    public var runningVar: Tensor
    /// Added to the variance (torchvision's default 1e-5).
    public var eps: Float
    private var affine: ChannelAffine?

    /// γ = 1, β = 0, μ = 0, σ² = 1 (no random draws).
    public init(numFeatures: Int, eps: Float = 1e-5) throws(ModuleError) {
        guard numFeatures > 0 else { throw .invalidConfiguration("FrozenBatchNorm2d needs a positive feature count") }
        weight = try .parameter(filled: 1, shape: [numFeatures])
        bias = try .parameter(filled: 0, shape: [numFeatures])
        runningMean = try .parameter(filled: 0, shape: [numFeatures])
        runningVar = try .parameter(filled: 1, shape: [numFeatures])
        self.eps = eps
    }

    /// Visits the four buffers and declares `num_batches_tracked` ignorable.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.parameter("weight", &weight, buffer: true, layer: .frozenBatchNorm2d)
        try walker.parameter("bias", &bias, buffer: true, layer: .frozenBatchNorm2d)
        try walker.parameter("running_mean", &runningMean, buffer: true, layer: .frozenBatchNorm2d)
        try walker.parameter("running_var", &runningVar, buffer: true, layer: .frozenBatchNorm2d)
        walker.ignore("num_batches_tracked")
    }

    /// The eval-mode map `scale = γ · rsqrt(σ² + eps)`, `shift = β − μ · scale`, in float32.
    public func foldedAffine(in scope: ModuleScope) throws(ModuleError) -> ChannelAffine {
        try foldedStatistics(weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar, eps: eps, in: scope)
    }

    /// Folds the statistics for a standalone forward.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) { affine = try foldedAffine(in: scope) }

    /// Normalises an NHWC activation.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        try normalizedForward(input, affine, name: operationName, in: scope)
    }
}

/// `nn.GroupNorm` with an affine `weight` and `bias` `[C]`, on NHWC activations.
///
/// ```swift
/// let gn = try GroupNorm(numGroups: 32, numChannels: 256)
/// ```
public struct GroupNorm: Layer {
    /// Channel groups.
    public let numGroups: Int
    /// γ `[C]`.
    public var weight: Tensor
    /// β `[C]`.
    public var bias: Tensor
    /// Added to the variance (1e-5).
    public var eps: Float

    /// γ = 1, β = 0 (no random draws).
    public init(numGroups: Int, numChannels: Int, eps: Float = 1e-5) throws(ModuleError) {
        guard numGroups > 0, numChannels > 0, numChannels % numGroups == 0 else {
            throw .invalidConfiguration("GroupNorm: \(numGroups) groups must divide \(numChannels) channels")
        }
        self.numGroups = numGroups
        weight = try .parameter(filled: 1, shape: [numChannels])
        bias = try .parameter(filled: 0, shape: [numChannels])
        self.eps = eps
    }

    /// Visits `weight` and `bias`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.parameter("weight", &weight, layer: .groupNorm)
        try walker.parameter("bias", &bias, layer: .groupNorm)
    }

    /// Nothing to prepare.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {}

    /// `GroupNorm(groups, channels)`, as traces name it.
    public var operationName: String { "GroupNorm(\(numGroups), \(weight.count))" }

    /// Normalises `x` in place (optionally with a fused ReLU) — what a fused sequence runs.
    public func apply(to x: inout Tensor, relu: Bool, in scope: ModuleScope) throws(ModuleError) {
        try scope.run { () throws(TensorError) in
            try x.formGroupNormNHWC(groups: numGroups, weight: weight, bias: bias, eps: eps, relu: relu)
        }
    }

    /// The per-sample, per-channel affine map that normalises `x` (optionally with a fused ReLU),
    /// not yet applied — for the next convolution to apply while it copies its input.
    package func affine(of x: Tensor, relu: Bool, in scope: ModuleScope) throws(ModuleError) -> SampleChannelAffine {
        try scope.run { () throws(TensorError) in
            try x.groupNormNHWCAffine(groups: numGroups, weight: weight, bias: bias, eps: eps, relu: relu)
        }
    }

    /// Normalises an NHWC activation.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        var y = input
        try apply(to: &y, relu: false, in: scope)
        scope.report(y, operation: operationName)
        return y
    }
}
