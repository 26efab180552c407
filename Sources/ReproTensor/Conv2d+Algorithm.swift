extension PreparedConv2d {
    /// How a ``PreparedConv2d`` computes its outputs. Every algorithm is deterministic
    /// (the same bits for any thread count, batch and build), but **different
    /// algorithms give different bits** for the same layer.
    ///
    /// ```swift
    /// let conv = try PreparedConv2d(weight: w, padding: (1, 1))          // the shape rule decides
    /// conv.algorithm                                            // .winograd for 3×3 256→256
    /// let exact = try PreparedConv2d(weight: w, padding: (1, 1), algorithm: .direct)
    /// ```
    public enum Algorithm: String, Sendable, CaseIterable {
        /// One fused multiply-add chain per output over `(ky, kx, ic)` (direct NHWC
        /// kernel, or the GEMM for pointwise convolutions). Any shape.
        case direct
        /// Winograd F(4×4, 3×3) (``WinogradKernel``): 4× fewer multiplications;
        /// rounding differs from ``direct`` by a few ulps of the largest
        /// intermediate (see docs/tensor.md). 3×3, stride 1, dilation 1, one group.
        case winograd
        /// Winograd F(2×2, 3×3): 2.25× fewer multiplications, error closer to
        /// ``direct``. Same shapes as ``winograd``; never chosen by the rule.
        case winogradF2x3
        /// Winograd F(6×6, 3×3): 5.06× fewer multiplications, less on small maps (tiles overhang
        /// the image); its transforms scale by up to 32 and 5.25, so its rounding error is 1.5–2×
        /// ``winograd``'s (see docs/tensor.md). Same shapes as ``winograd``; never chosen by the
        /// rule: on large maps with few channels it is faster, on small maps slower, and a
        /// RetinaNet pass with it as the rule's choice was no faster (docs/performance.md).
        case winogradF6x3

        /// The Winograd tile, if this is a Winograd algorithm.
        var winogradVariant: WinogradTransform.Variant? {
            switch self {
            case .direct: nil
            case .winograd: .f4x3
            case .winogradF2x3: .f2x3
            case .winogradF6x3: .f6x3
            }
        }
    }

    /// The kernel path a forward call runs, in words: `gemm` (a pointwise convolution on the
    /// GEMM), `direct`, `winograd F(4x4,3x3)`, `winograd F(2x2,3x3)`, `winograd F(6x6,3x3)`, or — with ``Runtime/benchmark``
    /// on and no algorithm forced — `autotuned (…)` naming the autotuner's candidates.
    ///
    /// ```swift
    /// let conv = try PreparedConv2d(weight: Tensor(zeros: [8, 8, 1, 1]))
    /// conv.kernelDescription   // "gemm"
    /// ```
    public var kernelDescription: String {
        if Runtime.settings.benchmark, !algorithmForced, winogradVariant != nil { return "autotuned (direct or winograd F(4x4,3x3))" }
        switch algorithm {
        case .direct: return packedTransposed != nil ? "gemm" : "direct"
        case .winograd: return "winograd F(4x4,3x3)"
        case .winogradF2x3: return "winograd F(2x2,3x3)"
        case .winogradF6x3: return "winograd F(6x6,3x3)"
        }
    }

    /// The layer in PyTorch's words plus its kernel path, e.g. `Conv2d 3x3 256->256, winograd F(4x4,3x3)`
    /// or `Conv2d 1x1/2 256->512, direct` (`/s` for a stride other than 1).
    ///
    /// ```swift
    /// let conv = try PreparedConv2d(weight: Tensor(zeros: [8, 3, 3, 3]), stride: (2, 2), padding: (1, 1))
    /// conv.operationDescription   // "Conv2d 3x3/2 3->8, direct"
    /// ```
    public var operationDescription: String {
        let s = weightShape
        var d = "Conv2d \(s[2])x\(s[3])"
        if stride != (1, 1) { d += stride.h == stride.w ? "/\(stride.h)" : "/\(stride.h)x\(stride.w)" }
        d += " \(s[1] * groups)->\(s[0])"
        if groups != 1 { d += " groups \(groups)" }
        if dilation != (1, 1) { d += " dilation \(dilation.h)" }
        return d + ", " + kernelDescription
    }

    /// The fixed rule that picks a layer's algorithm from its shape alone:
    /// ``Algorithm/winograd`` for 3×3 kernels with stride 1, dilation 1, one
    /// group and at least ``winogradMinimumChannels`` input and output channels;
    /// ``Algorithm/direct`` otherwise. Never timing (unless ``Runtime/benchmark``
    /// is on, see ``init(weight:bias:stride:padding:dilation:groups:normalization:relu:algorithm:)``).
    ///
    /// ```swift
    /// PreparedConv2d.defaultAlgorithm(weightShape: [256, 256, 3, 3], stride: (1, 1), dilation: (1, 1), groups: 1)  // .winograd
    /// ```
    public static func defaultAlgorithm(weightShape s: [Int], stride: (Int, Int), dilation: (Int, Int), groups: Int) -> Algorithm {
        guard s.count == 4, winogradApplies(weightShape: s, stride: stride, dilation: dilation, groups: groups) else { return .direct }
        return s[0] >= winogradMinimumChannels && s[1] >= winogradMinimumChannels ? .winograd : .direct
    }

    /// The smallest input and output channel counts for which the rule picks Winograd.
    public static let winogradMinimumChannels = 24

    /// Whether a Winograd algorithm can compute a layer of this shape
    /// (``WinogradKernel/isApplicable(kernelHeight:kernelWidth:stride:dilation:groups:)``).
    static func winogradApplies(weightShape s: [Int], stride: (Int, Int), dilation: (Int, Int), groups: Int) -> Bool {
        s.count == 4
            && WinogradKernel.isApplicable(kernelHeight: s[2], kernelWidth: s[3], stride: stride, dilation: dilation, groups: groups)
    }

    /// The algorithm a call runs: the layer's own, or — with ``Runtime/benchmark``
    /// on and no algorithm forced — the faster of direct and Winograd for this
    /// input shape and thread count, timed once and recorded in
    /// ``Runtime/autotuneChoices``. `run` computes the output with an algorithm.
    func runChoosingAlgorithm(
        inputShape: [Int], threads: Int, _ run: (Algorithm) throws(TensorError) -> Void
    ) throws(TensorError) {
        guard Runtime.settings.benchmark, !algorithmForced, winogradVariant != nil else {
            try run(algorithm)
            return
        }
        let key = "conv2d input \(inputShape) weight \(weightShape) padding \(padding) threads \(threads)"
        var failure: TensorError?
        _ = Autotuner.choose(key: key, candidates: [Algorithm.direct, .winograd]) { a in
            do throws(TensorError) { try run(a) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Winograd on an NCHW (`nhwc == false`) or NHWC input; output in the same layout.
    /// `inputAffine` (NHWC input only) is applied to the input while it is padded.
    func forwardWinograd(_ g: ConvGeometry, input: UnsafePointer<Float>, nhwc: Bool, output: UnsafeMutablePointer<Float>,
                         epilogue e: Epilogue, inputAffine: SampleChannelAffine? = nil, threads: Int) throws(TensorError) {
        try forwardWinograd(levels: [WinogradLevel(g: g, input: input, output: output, inputAffine: inputAffine)],
                            nhwc: nhwc, epilogue: e, threads: threads)
    }

    /// One input of ``forwardWinograd(levels:nhwc:epilogue:threads:)``: its geometry, input, output
    /// (both in the call's layout) and the affine map (NHWC only) applied while it is padded.
    struct WinogradLevel {
        let g: ConvGeometry
        let input: UnsafePointer<Float>
        let output: UnsafeMutablePointer<Float>
        let inputAffine: SampleChannelAffine?
    }

    /// Winograd on several inputs with these weights (a pyramid's levels): each level's output has
    /// the bits of a call on that level alone (``WinogradKernel/forward(levels:weights:layout:epilogue:threads:scratch:)``).
    ///
    /// The weights are transformed once at the start of the call (nothing transformed stays resident);
    /// the transformed weights, the padded inputs and every thread's scratch share one request of
    /// the pool's reused workspace (a fresh allocation per call costs page faults and the
    /// kernel's zeroing of every new page).
    func forwardWinograd(levels: [WinogradLevel], nhwc: Bool, epilogue e: Epilogue, threads: Int) throws(TensorError) {
        guard let v = winogradVariant else {
            throw .invalidArgument(op: "conv2d", reason: "Winograd weights were not prepared for this layer")
        }
        let levels = levels.filter { $0.g.batch > 0 }
        guard let g0 = levels.first?.g else { return }
        let weightBytes = (WinogradKernel.PackedWeights.byteCount(outChannels: g0.outChannels, inChannels: g0.inChannels,
                                                                  variant: v) + 63) / 64 * 64
        var paddedOffsets: [Int] = [], paddedBytes = 0
        for level in levels {
            let (hp, wp, cp) = WinogradKernel.paddedSize(level.g, variant: v)
            paddedOffsets.append(weightBytes + paddedBytes)
            paddedBytes += (level.g.batch * hp * wp * cp * 4 + 63) / 64 * 64
        }
        let scratchBytes = WinogradKernel.scratchBytes(levels: levels.map(\.g), variant: v, threads: threads)
        ThreadPool.current.withWorkspace(bytes: weightBytes + paddedBytes + scratchBytes) { raw in
            let w = WinogradKernel.PackedWeights(oihw: weight.floatBase, outChannels: g0.outChannels, inChannels: g0.inChannels,
                                                 variant: v, threads: threads,
                                                 storage: raw.bindMemory(to: Float.self, capacity: weightBytes / 4), owned: false)
            var kernelLevels: [WinogradKernel.Level] = []
            for (level, offset) in zip(levels, paddedOffsets) {
                let g = level.g, input = level.input
                let (hp, wp, cp) = WinogradKernel.paddedSize(g, variant: v)
                let padded = (raw + offset).bindMemory(to: Float.self, capacity: g.batch * hp * wp * cp)
                if let a = level.inputAffine {
                    a.scale.withUnsafeBufferPointer { sp in a.shift.withUnsafeBufferPointer { tp in
                        WinogradKernel.pad(g, variant: v, nhwc: input, scales: sp.baseAddress!, shifts: tp.baseAddress!,
                                           relu: a.relu, into: padded, threads: threads)
                    }}
                } else if nhwc {
                    WinogradKernel.pad(g, variant: v, nhwc: input, into: padded, threads: threads)
                } else {
                    WinogradKernel.pad(g, variant: v, nchw: input, into: padded, threads: threads)
                }
                kernelLevels.append(WinogradKernel.Level(g, paddedInput: padded, output: level.output))
            }
            WinogradKernel.forward(levels: kernelLevels, weights: w, layout: nhwc ? .nhwc : .nchw,
                                   epilogue: e, threads: threads, scratch: raw + weightBytes + paddedBytes)
        }
    }
}
