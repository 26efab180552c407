import ReproRandom
@_spi(Kernels) import ReproTensor

/// `nn.Conv2d`: owns `weight` `[O, C/groups, KH, KW]` and an optional `bias` `[O]`.
///
/// Constructed from a ``TorchGenerator`` it draws PyTorch's default initialisation
/// (`kaiming_uniform_(a=√5)` on the weight, then the bias), so a parent that constructs its
/// children in PyTorch's order consumes the generator exactly as PyTorch does. ``prepare(in:)``
/// builds a ``PreparedConv2d`` (packed weights, Winograd transform where the shape rule picks it);
/// a parent that folds a following norm and ReLU into this convolution uses
/// ``prepared(normalization:relu:in:)`` instead.
///
/// ```swift
/// var g = TorchGenerator(seed: 0)
/// var conv = try Conv2d(inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1, generator: &g)
/// try conv.prepare(in: .root)
/// let y = try conv(x)   // x: NHWC [N, H, W, 3]
/// ```
public struct Conv2d: Layer {
    /// `[O, C/groups, KH, KW]`.
    public var weight: Tensor
    /// `[O]`, or `nil` for `bias=False`.
    public var bias: Tensor?
    /// Vertical and horizontal stride.
    public let stride: (Int, Int)
    /// Zero padding per side.
    public let padding: (Int, Int)
    /// Tap spacing.
    public let dilation: (Int, Int)
    /// Channel groups.
    public let groups: Int
    private var prepared: PreparedConv2d?
    /// The weight's state-dict name (what init loops such as `nn.init.kaiming_normal_(m.weight)` address).
    public static let weightName = "weight"
    /// The bias's state-dict name.
    public static let biasName = "bias"

    /// A convolution with PyTorch's default initialisation drawn from `generator`.
    ///
    /// - Throws: ``ModuleError/invalidConfiguration(_:)`` for non-positive sizes or groups that do
    ///   not divide the channel counts.
    public init(
        inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        dilation: Int = 1, groups: Int = 1, bias: Bool = true, generator: inout TorchGenerator
    ) throws(ModuleError) {
        if ParameterPlaceholders.isActive {
            guard inChannels > 0, outChannels > 0, kernelSize > 0, groups > 0,
                  inChannels % groups == 0, outChannels % groups == 0 else {
                throw .invalidConfiguration("Conv2d(\(inChannels), \(outChannels), \(kernelSize)): sizes must be positive and divisible by groups \(groups)")
            }
            try self.init(weight: ParameterPlaceholders.tensor([outChannels, inChannels / groups, kernelSize, kernelSize]),
                          bias: bias ? ParameterPlaceholders.tensor([outChannels]) : nil,
                          stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation), groups: groups)
            return
        }
        if ParameterPlaceholders.discardsConvolutionDraws {
            let shape: [Int]
            do {
                shape = try TorchInit.discardConv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
                                                    groups: groups, bias: bias, using: &generator)
            } catch { throw .invalidConfiguration("Conv2d(\(inChannels), \(outChannels), \(kernelSize)): \(error)") }
            try self.init(weight: ParameterPlaceholders.tensor(shape), bias: bias ? ParameterPlaceholders.tensor([outChannels]) : nil,
                          stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation), groups: groups)
            return
        }
        let p: TorchInit.LayerParameters
        do {
            p = try TorchInit.conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
                                     groups: groups, bias: bias, using: &generator)
        } catch { throw .invalidConfiguration("Conv2d(\(inChannels), \(outChannels), \(kernelSize)): \(error)") }
        try self.init(weight: Tensor.parameter(shape: p.weightShape, p.weight),
                      bias: try p.bias.map { (b) throws(ModuleError) in try Tensor.parameter(shape: [outChannels], b) },
                      stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation), groups: groups)
    }

    /// A convolution holding the given tensors (no draws).
    ///
    /// - Throws: ``ModuleError/invalidConfiguration(_:)`` when the weight is not a 4-d float
    ///   tensor or the bias does not have `O` elements.
    public init(
        weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) throws(ModuleError) {
        guard weight.rank == 4, weight.dtype == .float32 else {
            throw .invalidConfiguration("Conv2d weight must be a float32 [O, C/groups, KH, KW] tensor, got \(weight.shape)")
        }
        if let bias, bias.shape != [weight.shape[0]] {
            throw .invalidConfiguration("Conv2d bias must be [\(weight.shape[0])], got \(bias.shape)")
        }
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// Output channels.
    public var outChannels: Int { weight.shape[0] }

    /// Visits `weight` and (when present) `bias`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.parameter(Self.weightName, &weight, layer: .conv2d)
        if var b = bias {
            try walker.parameter(Self.biasName, &b, layer: .conv2d)
            bias = b
        }
    }

    /// The inference form with a folded per-channel affine (an eval-mode norm) and ReLU fused in.
    ///
    /// The algorithm is the shape rule's unless `scope` forces one for this convolution's path
    /// (``ModuleScope/algorithmOverrides``).
    public func prepared(normalization: ChannelAffine? = nil, relu: Bool = false, in scope: ModuleScope) throws(ModuleError) -> PreparedConv2d {
        let forced = scope.algorithmOverrides[scope.path]
        return try scope.run { () throws(TensorError) in
            try PreparedConv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                               groups: groups, normalization: normalization, relu: relu, algorithm: forced)
        }
    }

    /// Prepares the convolution on its own (no folded norm).
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        prepared = try prepared(in: scope)
    }

    /// Convolves an NHWC activation `[N, H, W, C]` into `[N, OH, OW, O]` with ``Runtime``'s threads.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        guard let prepared else { throw .notPrepared(path: scope.path) }
        let y = try prepared.run(input, in: scope)
        scope.report(y, operation: prepared.operationDescription)
        return y
    }
}

extension PreparedConv2d {
    /// Runs on an NHWC activation and names `scope`'s module in a failure.
    public func run(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        try scope.run { () throws(TensorError) in try forward(nhwc: input, threads: Runtime.settings.threads) }
    }

    /// ``run(_:in:)`` of `inputAffine` applied to `input` (a held-back group normalisation, applied
    /// while the input is copied; the same bits as applying it first).
    package func run(_ input: Tensor, inputAffine: SampleChannelAffine?, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        try scope.run { () throws(TensorError) in
            try forward(nhwc: input, inputAffine: inputAffine, threads: Runtime.settings.threads)
        }
    }
}

extension PreparedConv2d {
    /// ``run(_:inputAffine:in:)`` on several inputs that share this layer (a feature pyramid's
    /// levels; ``PreparedConv2d/forward(nhwcLevels:inputAffines:threads:)``): one weight transform
    /// and one team of threads for all of them, each output bit-identical to a call on its own.
    package func run(levels inputs: [Tensor], inputAffines: [SampleChannelAffine?], in scope: ModuleScope) throws(ModuleError) -> [Tensor] {
        try scope.run { () throws(TensorError) in
            try forward(nhwcLevels: inputs, inputAffines: inputAffines, threads: Runtime.settings.threads)
        }
    }
}

extension Tensor {
    /// A float32 parameter tensor from row-major values (a count mismatch is a typed error).
    public static func parameter(shape: [Int], _ values: [Float]) throws(ModuleError) -> Tensor {
        do { return try Tensor(shape: shape, scalars: values) } catch { throw .tensor(error) }
    }

    /// A float32 parameter of `shape` whose values `fill` writes straight into the new storage (no
    /// intermediate array, no zeroing first); a failure of `fill` is reported prefixed by `context`.
    package static func parameter(
        shape: [Int], context: @autoclosure () -> String,
        filling fill: (UnsafeMutableBufferPointer<Float>) throws(TorchRandomError) -> Void
    ) throws(ModuleError) -> Tensor {
        var failure: TorchRandomError?
        let t: Tensor
        do {
            t = try Tensor(unsafeUninitializedShape: shape, dtype: .float32) { raw in
                do throws(TorchRandomError) {
                    guard let base = raw.baseAddress else { return try fill(raw.bindMemory(to: Float.self)) }
                    // Another thread faults the fresh pages in while `fill` writes them (same bytes).
                    try ParallelMemory.fill(base, byteCount: raw.count, threads: Runtime.settings.threads) {
                        () throws(TorchRandomError) in try fill(raw.bindMemory(to: Float.self))
                    }
                } catch { failure = error }
            }
        } catch { throw .tensor(error) }
        if let failure { throw .invalidConfiguration("\(context()): \(failure)") }
        return t
    }

    /// A float32 parameter of `shape` drawn from a normal distribution in two steps: `draw` takes
    /// the serial part of the stream straight into the new storage (``TorchGenerator/drawNormal(_:mean:std:)``),
    /// then the Box–Muller blocks it leaves pending run on up to `Runtime.settings.threads` threads,
    /// ``pendingNormalChunk`` blocks per chunk. Each block depends on its own words only, so the
    /// values are those of the serial fill for any thread count.
    package static func parameter(
        shape: [Int], context: @autoclosure () -> String,
        drawing draw: (UnsafeMutableBufferPointer<Float>) throws(TorchRandomError) -> PendingNormalBlocks?
    ) throws(ModuleError) -> Tensor {
        var pending: PendingNormalBlocks?
        let t = try parameter(shape: shape, context: context()) { (w) throws(TorchRandomError) in pending = try draw(w) }
        if let pending {
            let chunk = pendingNormalChunk, blocks = pending.blocks
            ThreadPool.current.forEachChunk((blocks + chunk - 1) / chunk, threads: Runtime.settings.threads) { k in
                pending.transform(blocks: (k * chunk)..<min(blocks, (k + 1) * chunk))
            }
            pending.finish()
        }
        return t
    }

    /// Box–Muller blocks of 16 values per chunk of ``parameter(shape:context:drawing:)`` (128 KiB).
    package static let pendingNormalChunk = 2048

    /// A float32 tensor filled with `value`.
    public static func parameter(filled value: Float, shape: [Int]) throws(ModuleError) -> Tensor {
        do { return try Tensor(repeating: value, shape: shape) } catch { throw .tensor(error) }
    }
}
