import ReproTensor

/// The geometry of a differentiable NHWC convolution.
struct ConvShape {
    var h, w, c, o, kh, kw, oh, ow, groups: Int
    var stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    var cg: Int { c / groups }
    var og: Int { o / groups }
    /// Columns of one group's patch matrix: `(kh, kw, c)` with `c` fastest.
    var k: Int { kh * kw * cg }
    var p: Int { oh * ow }
}

/// Minimal convolution gradients on the autograd engine's own im2col + GEMM path (per sample,
/// per group): `dx` = col2im(`dy · Wᵀ`), per-sample `dW = colsᵀ · dy`, `db = Σ_p dy`.
///
/// This is the engine's reference wiring until the dedicated backward kernels replace it; every
/// product has a per-sample shape, so its bits never depend on the micro-batch split or threads.
enum ConvolutionGradient {
    /// Calls `body(column, input)` for every in-bounds tap of one sample and group: the offset of
    /// the first of its `C/groups` channels in the patch matrix `[P, K]` and in the NHWC input,
    /// output positions in row-major order, taps `(kh, kw)` inside.
    static func forEachTap(sample s: Int, group gi: Int, _ g: ConvShape, _ body: (Int, Int) -> Void) {
        for oy in 0..<g.oh { for ox in 0..<g.ow {
            let row = (oy * g.ow + ox) * g.k
            for ky in 0..<g.kh {
                let iy = oy * g.stride.0 - g.padding.0 + ky * g.dilation.0
                guard iy >= 0, iy < g.h else { continue }
                for kx in 0..<g.kw {
                    let ix = ox * g.stride.1 - g.padding.1 + kx * g.dilation.1
                    guard ix >= 0, ix < g.w else { continue }
                    body(row + (ky * g.kw + kx) * g.cg, ((s * g.h + iy) * g.w + ix) * g.c + gi * g.cg)
                }
            }
        } }
    }

    /// One sample's patch matrix `[P, K]` of group `gi` (zeros in the padding).
    static func im2col(_ x: UnsafeBufferPointer<Float>, sample s: Int, group gi: Int, _ g: ConvShape) -> [Float] {
        var cols = [Float](repeating: 0, count: g.p * g.k)
        cols.withUnsafeMutableBufferPointer { d in
            forEachTap(sample: s, group: gi, g) { col, src in for ch in 0..<g.cg { d[col + ch] = x[src + ch] } }
        }
        return cols
    }

    /// Adds a patch-matrix gradient `[P, K]` back onto one sample's input gradient (positions in order).
    static func col2im(_ cols: [Float], into dx: UnsafeMutableBufferPointer<Float>, sample s: Int, group gi: Int, _ g: ConvShape) {
        cols.withUnsafeBufferPointer { src in
            forEachTap(sample: s, group: gi, g) { col, d in for ch in 0..<g.cg { dx[d + ch] = dx[d + ch] + src[col + ch] } }
        }
    }

    /// Group `gi`'s weight as a `[K, Og]` matrix (rows `(kh, kw, c)`).
    static func weightMatrix(_ w: [Float], group gi: Int, _ g: ConvShape) -> [Float] {
        var m = [Float](repeating: 0, count: g.k * g.og)
        for o in 0..<g.og { for ch in 0..<g.cg { for ky in 0..<g.kh { for kx in 0..<g.kw {
            let src = (((gi * g.og + o) * g.cg + ch) * g.kh + ky) * g.kw + kx
            m[((ky * g.kw + kx) * g.cg + ch) * g.og + o] = w[src]
        } } } }
        return m
    }
}

extension Variable {
    /// `nn.Conv2d` on an NHWC activation `[n, H, W, C]` with a torch-layout weight
    /// `[O, C/groups, KH, KW]` and optional bias `[O]` → `[n, OH, OW, O]`.
    ///
    /// The forward runs ``PreparedConv2d`` (the inference kernels); the backward is described at
    /// `ConvolutionGradient`.
    public func conv2d(weight: Variable, bias: Variable?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                       dilation: (Int, Int) = (1, 1), groups: Int = 1) throws(AutogradError) -> Variable {
        guard shape.count == 4, weight.shape.count == 4, groups > 0, shape[3] == weight.shape[1] * groups,
              weight.shape[0] % groups == 0, bias.map({ $0.shape == [weight.shape[0]] }) ?? true else {
            throw .invalidOperation(op: "conv2d", reason: "input \(shape), weight \(weight.shape), groups \(groups)")
        }
        let prepared = try AutogradError.wrap("conv2d") { () throws(TensorError) in
            try PreparedConv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding,
                               dilation: dilation, groups: groups)
        }
        let y = try AutogradError.wrap("conv2d") { () throws(TensorError) in
            try prepared.forward(nhwc: value, threads: Runtime.settings.threads)
        }
        let yData: [Float] = try AutogradError.wrap("conv2d") { () throws(TensorError) in try y.scalars() }
        let n = shape[0]
        let g = ConvShape(h: shape[1], w: shape[2], c: shape[3], o: weight.shape[0], kh: weight.shape[2], kw: weight.shape[3],
                          oh: y.shape[1], ow: y.shape[2], groups: groups, stride: stride, padding: padding, dilation: dilation)
        let x = data, w = weight.data, total = count
        let wantsWeight = weight.parameterKey != nil
        let out = tape.record(y.shape, yData, rule: { [id] (t: GradientTape, dy: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: total)
            var dw = wantsWeight ? [Float](repeating: 0, count: n * g.o * g.cg * g.kh * g.kw) : []
            var db = bias?.parameterKey != nil ? [Float](repeating: 0, count: n * g.o) : []
            let wmT = (0..<groups).map { gi in transposed(ConvolutionGradient.weightMatrix(w, group: gi, g), g.k, g.og) }
            for s in 0..<n {
                for gi in 0..<groups {
                    // This sample's and group's output gradient [P, Og].
                    var dyg = [Float](repeating: 0, count: g.p * g.og)
                    for p in 0..<g.p { for o in 0..<g.og { dyg[p * g.og + o] = dy[(s * g.p + p) * g.o + gi * g.og + o] } }
                    let dcols = try gemm(dyg, g.p, g.og, wmT[gi], g.k, "conv2d input gradient")
                    dx.withUnsafeMutableBufferPointer { ConvolutionGradient.col2im(dcols, into: $0, sample: s, group: gi, g) }
                    if wantsWeight {
                        let cols = x.withUnsafeBufferPointer { ConvolutionGradient.im2col($0, sample: s, group: gi, g) }
                        let dwm = try gemm(transposed(cols, g.p, g.k), g.k, g.p, dyg, g.og, "conv2d weight gradient")  // [K, Og]
                        let per = g.o * g.cg * g.kh * g.kw
                        for o in 0..<g.og { for ch in 0..<g.cg { for ky in 0..<g.kh { for kx in 0..<g.kw {
                            dw[s * per + (((gi * g.og + o) * g.cg + ch) * g.kh + ky) * g.kw + kx] =
                                dwm[((ky * g.kw + kx) * g.cg + ch) * g.og + o]
                        } } } }
                    }
                }
                if !db.isEmpty {
                    for p in 0..<g.p { for o in 0..<g.o { db[s * g.o + o] = db[s * g.o + o] + dy[(s * g.p + p) * g.o + o] } }
                }
            }
            t.accumulate(id, dx)
            if wantsWeight { t.accumulatePerSample(weight, dw) }
            if let bias, !db.isEmpty { t.accumulatePerSample(bias, db) }
        })
        tape.consume(weight, by: out.id)
        if let bias { tape.consume(bias, by: out.id) }
        return out
    }
}
