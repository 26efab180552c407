/// A prepared 2-D convolution: OIHW weights converted once to the kernels'
/// layout (Winograd layers excepted: they keep only the weights and transform
/// them at each call), with optional bias, folded batch norm and ReLU fused in.
///
/// The public layout is PyTorch's: input `[N, C, H, W]`, weights
/// `[O, C/groups, KH, KW]`, output `[N, O, OH, OW]`. Each output element is
/// computed in one fixed order by the layer's ``algorithm``, then `+ bias`,
/// then `· scale + shift`, then ReLU — so the result is the same bits for any
/// thread count, for a sample alone or inside a batch, and for every build.
/// Algorithm (a fixed rule on the shape, ``defaultAlgorithm(weightShape:stride:dilation:groups:)``):
/// 3×3 / stride 1 / dilation 1 / one group with ≥ 24 input and output channels →
/// Winograd F(4×4, 3×3) (``WinogradKernel``); otherwise ``Algorithm/direct``:
/// one fused multiply-add chain over `(ky, kx, ic)` from zero per output —
/// 1×1/stride 1/no padding/one group through ``GEMM``, everything else through
/// the direct NHWC kernel ``Conv2dKernel``.
///
/// ```swift
/// let conv = try PreparedConv2d(weight: w, bias: b, stride: (2, 2), padding: (3, 3), relu: true)
/// let y = try conv(x)
/// ```
public struct PreparedConv2d: Sendable {
    /// `[O, C/groups, KH, KW]`.
    public let weightShape: [Int]
    /// Vertical and horizontal stride.
    public let stride: (h: Int, w: Int)
    /// Zero padding per side.
    public let padding: (h: Int, w: Int)
    /// Tap spacing.
    public let dilation: (h: Int, w: Int)
    /// Channel groups.
    public let groups: Int
    /// Whether ReLU is fused.
    public let relu: Bool
    /// The algorithm this layer runs (forced, or chosen by the shape rule).
    public let algorithm: Algorithm
    /// Whether `algorithm` was forced by the caller (then the autotuner never overrides it).
    let algorithmForced: Bool
    /// The OIHW weights as given, contiguous: the caller's tensor (sharing its storage, not a
    /// copy) unless it was a non-contiguous view. The NCHW pointwise path, the scalar reference
    /// and a direct fallback read it; the algorithm's own form is in ``preparedBytes``.
    public let weight: Tensor
    let bias: [Float]?
    let affine: ChannelAffine?
    /// The direct kernel's packed weights: prepared where the direct NHWC kernel is this layer's
    /// algorithm (or may be chosen by ``Runtime/benchmark``), `nil` otherwise (pointwise layers
    /// run through ``packedTransposed``, Winograd layers transform ``weight`` per call).
    let packed: Conv2dKernel.PackedWeights?
    /// Wᵀ packed for the NHWC pointwise path (`nil` unless the convolution is pointwise).
    let packedTransposed: GEMM.PackedMatrix?
    /// The Winograd tile size this layer can run (`nil` unless Winograd can run on it). Its
    /// transformed weights (4× the raw ones for F(4×4, 3×3)) are not kept: each call transforms
    /// ``weight`` into the thread pool's reused workspace (`forwardWinograd`), so a model holds
    /// every 3×3 weight once.
    let winogradVariant: WinogradTransform.Variant?

    /// Prepares the convolution.
    ///
    /// - Parameters:
    ///   - weight: float tensor `[O, C/groups, KH, KW]`.
    ///   - bias: optional `[O]`.
    ///   - normalization: optional folded batch norm applied after the bias.
    ///   - relu: fuse a ReLU at the end.
    ///   - algorithm: force an algorithm; `nil` applies the shape rule
    ///     ``defaultAlgorithm(weightShape:stride:dilation:groups:)``. With
    ///     ``Runtime/benchmark`` on and no algorithm forced, a Winograd-capable
    ///     layer times direct against Winograd once per input shape and thread
    ///     count and keeps the faster (recorded in ``Runtime/autotuneChoices``):
    ///     the bits then depend on that recorded choice.
    /// - Throws: ``TensorError`` naming `conv2d` for bad shapes or arguments, or
    ///   for a Winograd algorithm forced on a shape it cannot compute.
    public init(
        weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1, normalization: ChannelAffine? = nil, relu: Bool = false,
        algorithm: Algorithm? = nil
    ) throws(TensorError) {
        let op = "conv2d"
        guard weight.dtype == .float32 else { throw .dtypeMismatch(op: op, expected: .float32, actual: weight.dtype) }
        guard weight.rank == 4 else { throw .invalidShape(op: op, shape: weight.shape, reason: "weight must be [O, C/groups, KH, KW]") }
        let s = weight.shape
        // Validates strides, dilation and groups against a minimal input.
        let g = try ConvGeometry(
            batch: 1, inChannels: s[1] * groups, height: (s[2] - 1) * dilation.0 + 1, width: (s[3] - 1) * dilation.1 + 1,
            outChannels: s[0], kernelHeight: s[2], kernelWidth: s[3], stride: stride, padding: padding,
            dilation: dilation, groups: groups)
        if let bias, bias.shape != [s[0]] {
            throw .shapeMismatch(op: op, shapes: [s, bias.shape], reason: "bias must be [\(s[0])]")
        }
        if let normalization, normalization.scale.count != s[0] {
            throw .shapeMismatch(op: op, shapes: [s, [normalization.scale.count]], reason: "normalization must have \(s[0]) channels")
        }
        let eligible = Self.winogradApplies(weightShape: s, stride: stride, dilation: dilation, groups: groups)
        if let algorithm, algorithm != .direct, !eligible {
            throw .invalidArgument(op: op, reason: "algorithm \(algorithm.rawValue) needs a 3×3 kernel, stride 1, dilation 1 and one group (weight \(s), stride \(stride), dilation \(dilation), groups \(groups))")
        }
        self.algorithm = algorithm ?? Self.defaultAlgorithm(weightShape: s, stride: stride, dilation: dilation, groups: groups)
        algorithmForced = algorithm != nil
        weightShape = s
        self.stride = (stride.0, stride.1)
        self.padding = (padding.0, padding.1)
        self.dilation = (dilation.0, dilation.1)
        self.groups = groups
        self.relu = relu
        let w = weight.contiguous()
        self.weight = w
        self.bias = try bias?.scalars(as: Float.self)
        affine = normalization
        // Each form is packed on up to Runtime.threads threads, split over output channels: every
        // packed value is a copy or a per-filter transform, so the thread count cannot change it.
        let threads = Runtime.settings.threads
        let mayRunDirect = self.algorithm == .direct || (Runtime.settings.benchmark && algorithm == nil && eligible)
        packed = !g.isPointwise && mayRunDirect ? Conv2dKernel.PackedWeights(oihw: w.floatBase, geometry: g, threads: threads) : nil
        packedTransposed = g.isPointwise
            ? GEMM.PackedMatrix(.init(w.floatBase, rowStride: 1, colStride: s[1]), k: s[1], n: s[0], threads: threads)
            : nil
        winogradVariant = self.algorithm.winogradVariant ?? (eligible && algorithm == nil ? .f4x3 : nil)
    }

    /// The bytes this layer holds beyond the weight tensor it was given (which it shares): the
    /// packed weights of its algorithm (none for Winograd, which transforms per call), bias and
    /// folded affine.
    public var preparedBytes: Int {
        (packed?.byteCount ?? 0) + (packedTransposed?.byteCount ?? 0)
            + 4 * ((bias?.count ?? 0) + (affine.map { $0.scale.count + $0.shift.count } ?? 0))
    }

    /// The direct kernel's packed weights: the prepared ones, or packed now for a layer whose
    /// algorithm is not direct (the same values either way; only ``Runtime/benchmark`` switched on
    /// after preparation makes a Winograd layer run direct, and its timing then includes this).
    func directWeights(_ g: ConvGeometry) -> Conv2dKernel.PackedWeights {
        packed ?? Conv2dKernel.PackedWeights(oihw: weight.floatBase, geometry: g, threads: Runtime.settings.threads)
    }

    /// The geometry for an input shape `[N, C, H, W]`.
    @_spi(Kernels) public func geometry(for inputShape: [Int]) throws(TensorError) -> ConvGeometry {
        guard inputShape.count == 4, inputShape[1] == weightShape[1] * groups else {
            throw .shapeMismatch(op: "conv2d", shapes: [inputShape, weightShape],
                                 reason: "input must be [N, \(weightShape[1] * groups), H, W]")
        }
        return try ConvGeometry(
            batch: inputShape[0], inChannels: inputShape[1], height: inputShape[2], width: inputShape[3],
            outChannels: weightShape[0], kernelHeight: weightShape[2], kernelWidth: weightShape[3],
            stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// Runs the convolution on `[N, C, H, W]` with ``Runtime/threads``.
    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor {
        try forward(input, threads: Runtime.settings.threads)
    }

    /// Runs the convolution with an explicit thread count (results do not depend on it).
    public func forward(_ input: Tensor, threads: Int) throws(TensorError) -> Tensor {
        let op = "conv2d"
        guard input.dtype == .float32 else { throw .dtypeMismatch(op: op, expected: .float32, actual: input.dtype) }
        let g = try geometry(for: input.shape)
        let oh = g.outHeight, ow = g.outWidth
        let out = try Tensor.uninitialized([g.batch, g.outChannels, oh, ow], op: op)
        guard g.batch > 0 else { return out }
        let x = input.contiguous()
        try withEpilogue { e throws(TensorError) in try runChoosingAlgorithm(inputShape: input.shape, threads: threads) { a throws(TensorError) in
            if a != .direct {
                try forwardWinograd(g, input: x.floatBase, nhwc: false, output: out.floatBase, epilogue: e, threads: threads)
            } else if g.isPointwise {
                let hw = g.height * g.width
                let a = GEMM.Operand(weight.floatBase, rowStride: g.inChannels)
                for n in 0..<g.batch {
                    // GEMM packs the activation into its reused workspace (no per-call allocation).
                    GEMM.multiply(m: g.outChannels, n: hw, k: g.inChannels, a: a,
                                  b: .init(x.floatBase + n * g.inChannels * hw, rowStride: hw),
                                  c: out.floatBase + n * g.outChannels * hw, ldc: hw,
                                  epilogue: e, epilogueAxis: .rows, threads: threads)
                }
            } else {
                let hp = g.height + 2 * g.padding.h, wp = g.width + 2 * g.padding.w
                let padded = try Tensor.uninitialized([g.batch, hp, wp, g.inChannels], op: op)
                Conv2dKernel.padToNHWC(g, nchw: x.floatBase, into: padded.floatBase, threads: threads)
                Conv2dKernel.forward(g, paddedInput: padded.floatBase, weights: directWeights(g), output: out.floatBase,
                                     layout: .nchw, epilogue: e, threads: threads)
            }
        }}
        return out
    }

    /// Runs the convolution on an NHWC activation `[N, H, W, C]` and returns NHWC
    /// `[N, OH, OW, O]` — the layout the kernels use, so no transposition happens
    /// (keep activations NHWC between layers and convert once at the model's
    /// boundary). Bits are identical to ``forward(_:threads:)`` after permuting.
    ///
    /// ```swift
    /// let y = try conv.forward(nhwc: x, threads: 2)   // x: [1, 100, 136, 256]
    /// ```
    public func forward(nhwc input: Tensor, threads: Int) throws(TensorError) -> Tensor {
        try forward(nhwc: input, inputAffine: nil, threads: threads)
    }

    /// ``forward(nhwc:threads:)`` of `inputAffine` applied to `input` (a held-back group
    /// normalisation): Winograd layers apply it while padding their input, the other algorithms
    /// apply it first. The bits equal `forward(nhwc: input.applying(inputAffine))`.
    package func forward(nhwc input: Tensor, inputAffine: SampleChannelAffine?, threads: Int) throws(TensorError) -> Tensor {
        let op = "conv2d"
        guard input.dtype == .float32 else { throw .dtypeMismatch(op: op, expected: .float32, actual: input.dtype) }
        guard input.rank == 4 else { throw .invalidShape(op: op, shape: input.shape, reason: "NHWC input must be [N, H, W, C]") }
        try inputAffine?.check(input.shape, op: op)
        let s = input.shape
        let g = try geometry(for: [s[0], s[3], s[1], s[2]])
        let out = try Tensor.uninitialized([g.batch, g.outHeight, g.outWidth, g.outChannels], op: op)
        guard g.batch > 0 else { return out }
        let raw = input.contiguous()
        try withEpilogue { e throws(TensorError) in try runChoosingAlgorithm(inputShape: [g.batch, g.inChannels, g.height, g.width], threads: threads) { a throws(TensorError) in
            if a != .direct {
                try forwardWinograd(g, input: raw.floatBase, nhwc: true, output: out.floatBase, epilogue: e,
                                    inputAffine: inputAffine, threads: threads)
                return
            }
            let x = try inputAffine.map { affine throws(TensorError) in try raw.applying(affine) } ?? raw
            forwardDirect(g, nhwc: x.floatBase, output: out.floatBase, epilogue: e, threads: threads)
        }}
        return out
    }

    /// ``forward(nhwc:threads:)`` followed by `relu(y + residual)` (a residual block's shortcut
    /// and final ReLU; `residual` has the output's shape `[N, OH, OW, O]`). A pointwise layer
    /// adds it in its GEMM, block by block while the outputs are in cache
    /// (``GEMM/multiply(m:a:packedB:c:ldc:epilogue:addingReLU:threads:)``); other layers add it
    /// after. The bits equal `forward(nhwc: input, threads:).adding(residual, relu: true)`.
    package func forward(nhwc input: Tensor, addingReLU residual: Tensor, threads: Int) throws(TensorError) -> Tensor {
        let op = "conv2d"
        guard input.dtype == .float32 else { throw .dtypeMismatch(op: op, expected: .float32, actual: input.dtype) }
        guard input.rank == 4 else { throw .invalidShape(op: op, shape: input.shape, reason: "NHWC input must be [N, H, W, C]") }
        let s = input.shape
        let g = try geometry(for: [s[0], s[3], s[1], s[2]])
        let shape = [g.batch, g.outHeight, g.outWidth, g.outChannels]
        guard residual.shape == shape else {
            throw .shapeMismatch(op: "add", shapes: [shape, residual.shape], reason: "element-wise add needs equal shapes")
        }
        guard let packedTransposed, algorithm == .direct, residual.dtype == .float32, g.batch > 0 else {
            var y = try forward(nhwc: input, threads: threads)
            try y.add(residual, relu: true)
            return y
        }
        let out = try Tensor.uninitialized(shape, op: op)
        let x = input.contiguous(), r = residual.contiguous()
        try withEpilogue { e in
            GEMM.multiply(m: g.batch * g.height * g.width, a: .init(x.floatBase, rowStride: g.inChannels),
                          packedB: packedTransposed, c: out.floatBase, ldc: g.outChannels, epilogue: e,
                          addingReLU: .init(r.floatBase, rowStride: g.outChannels), threads: threads)
        }
        withExtendedLifetime((x, r)) {}
        return out
    }

    /// ``forward(nhwc:inputAffine:threads:)`` on several NHWC inputs (a feature pyramid's levels,
    /// `inputAffines[i]` applied to `inputs[i]`): a Winograd layer transforms its weights once and
    /// runs every level in one team of threads
    /// (``WinogradKernel/forward(levels:weights:layout:epilogue:threads:scratch:)``); other
    /// algorithms run level by level. Each output has the bits of ``forward(nhwc:inputAffine:threads:)``
    /// on that level alone.
    package func forward(nhwcLevels inputs: [Tensor], inputAffines: [SampleChannelAffine?], threads: Int) throws(TensorError) -> [Tensor] {
        let op = "conv2d"
        guard inputAffines.count == inputs.count else {
            throw .invalidArgument(op: op, reason: "\(inputs.count) inputs but \(inputAffines.count) input affine maps")
        }
        let autotuned = Runtime.settings.benchmark && !algorithmForced
        guard inputs.count > 1, algorithm != .direct, winogradVariant != nil, !autotuned else {
            var outputs: [Tensor] = []
            for (x, a) in zip(inputs, inputAffines) { outputs.append(try forward(nhwc: x, inputAffine: a, threads: threads)) }
            return outputs
        }
        var raws: [Tensor] = [], outputs: [Tensor] = [], geometries: [ConvGeometry] = []
        for (input, affine) in zip(inputs, inputAffines) {
            guard input.dtype == .float32 else { throw .dtypeMismatch(op: op, expected: .float32, actual: input.dtype) }
            guard input.rank == 4 else { throw .invalidShape(op: op, shape: input.shape, reason: "NHWC input must be [N, H, W, C]") }
            try affine?.check(input.shape, op: op)
            let s = input.shape
            let g = try geometry(for: [s[0], s[3], s[1], s[2]])
            geometries.append(g)
            outputs.append(try Tensor.uninitialized([g.batch, g.outHeight, g.outWidth, g.outChannels], op: op))
            raws.append(input.contiguous())
        }
        try withExtendedLifetime(raws) { () throws(TensorError) in
            let levels = (0..<raws.count).map {
                WinogradLevel(g: geometries[$0], input: raws[$0].floatBase, output: outputs[$0].floatBase,
                              inputAffine: inputAffines[$0])
            }
            try withEpilogue { e throws(TensorError) in
                try forwardWinograd(levels: levels, nhwc: true, epilogue: e, threads: threads)
            }
        }
        return outputs
    }

    /// ``forward(nhwc:threads:)`` on raw buffers: `input` holds `[batch, height, width, C]`
    /// contiguous, `output` receives `[batch, OH, OW, O]` (every element written). The same
    /// algorithm and bits as the tensor entry point, without wrapping the buffers in tensors
    /// (the training forward keeps its activations in arrays).
    ///
    /// - Throws: ``TensorError`` naming `conv2d` when the sizes do not fit the weights.
    @_spi(Kernels) public func forward(
        nhwc input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) throws(TensorError) {
        let g = try geometry(for: [batch, weightShape[1] * groups, height, width])
        guard g.batch > 0 else { return }
        try withEpilogue { e throws(TensorError) in try runChoosingAlgorithm(inputShape: [g.batch, g.inChannels, g.height, g.width], threads: threads) { a throws(TensorError) in
            if a != .direct {
                try forwardWinograd(g, input: input, nhwc: true, output: output, epilogue: e, threads: threads)
            } else {
                forwardDirect(g, nhwc: input, output: output, epilogue: e, threads: threads)
            }
        }}
    }

    /// The direct algorithm on NHWC buffers: the pointwise GEMM for 1×1 layers, else the padded
    /// direct kernel (the padded copy in the pool's reused workspace: no page faults per call).
    private func forwardDirect(_ g: ConvGeometry, nhwc x: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                               epilogue e: Epilogue, threads: Int) {
        if let packedTransposed {
            GEMM.multiply(m: g.batch * g.height * g.width, a: .init(x, rowStride: g.inChannels),
                          packedB: packedTransposed, c: output, ldc: g.outChannels, epilogue: e, threads: threads)
            return
        }
        if g.padding == (0, 0) {
            // Without padding the padded input is the input itself: no copy.
            Conv2dKernel.forward(g, paddedInput: x, weights: directWeights(g), output: output,
                                 layout: .nhwc, epilogue: e, threads: threads)
            return
        }
        let hp = g.height + 2 * g.padding.h, wp = g.width + 2 * g.padding.w
        ThreadPool.current.withWorkspace(bytes: g.batch * hp * wp * g.inChannels * 4) { raw in
            let padded = raw.bindMemory(to: Float.self, capacity: g.batch * hp * wp * g.inChannels)
            Conv2dKernel.pad(g, nhwc: x, into: padded, threads: threads)
            Conv2dKernel.forward(g, paddedInput: padded, weights: directWeights(g), output: output,
                                 layout: .nhwc, epilogue: e, threads: threads)
        }
    }

    /// The scalar reference of ``algorithm`` on the same inputs: the same bits
    /// as ``forward(_:threads:)`` (slow; for tests).
    public func reference(_ input: Tensor) throws(TensorError) -> Tensor {
        try reference(input, algorithm: algorithm)
    }

    /// The scalar reference of `algorithm` (``Algorithm/direct`` works for every
    /// layer; a Winograd algorithm only for the one this layer prepared).
    public func reference(_ input: Tensor, algorithm: Algorithm) throws(TensorError) -> Tensor {
        guard input.dtype == .float32 else { throw .dtypeMismatch(op: "conv2d", expected: .float32, actual: input.dtype) }
        let g = try geometry(for: input.shape)
        let out = try Tensor.uninitialized([g.batch, g.outChannels, g.outHeight, g.outWidth], op: "conv2d")
        let x = input.contiguous()
        if let v = algorithm.winogradVariant, winogradVariant != v {
            throw .invalidArgument(op: "conv2d", reason: "this layer has no \(algorithm.rawValue) weights (its algorithm is \(self.algorithm.rawValue))")
        }
        try withEpilogue { e in
            if algorithm != .direct, let v = winogradVariant {
                let w = WinogradKernel.PackedWeights(oihw: weight.floatBase, outChannels: weightShape[0],
                                                     inChannels: weightShape[1], variant: v)
                WinogradKernel.reference(g, input: x.floatBase, weights: w, output: out.floatBase, epilogue: e)
                return
            }
            Conv2dKernel.reference(g, input: x.floatBase, weight: weight.floatBase, output: out.floatBase, epilogue: e)
        }
        return out
    }

    private func withEpilogue<R>(_ body: (Epilogue) throws(TensorError) -> R) throws(TensorError) -> R {
        let none: [Float] = []
        return try (bias ?? none).withUnsafeBufferPointer { b throws(TensorError) in
            try (affine?.scale ?? none).withUnsafeBufferPointer { s throws(TensorError) in
                try (affine?.shift ?? none).withUnsafeBufferPointer { t throws(TensorError) in
                    try body(Epilogue(bias: bias == nil ? nil : b.baseAddress, scale: affine == nil ? nil : s.baseAddress,
                                      shift: affine == nil ? nil : t.baseAddress, relu: relu))
                }
            }
        }
    }
}

extension Tensor {
    /// One-shot convolution (prepares the weights each call; keep a ``PreparedConv2d`` to reuse them).
    ///
    /// ```swift
    /// let y = try x.conv2d(weight: w, padding: (1, 1))
    /// ```
    public func conv2d(
        weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1, relu: Bool = false
    ) throws(TensorError) -> Tensor {
        try PreparedConv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                   groups: groups, relu: relu)(self)
    }
}
