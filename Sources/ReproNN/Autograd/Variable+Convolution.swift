@_spi(Kernels) import ReproTensor

extension Variable {
    /// `nn.Conv2d` on an NHWC activation `[n, H, W, C]` with a torch-layout weight
    /// `[O, C/groups, KH, KW]` and optional bias `[O]` → `[n, OH, OW, O]`.
    ///
    /// The forward runs ``PreparedConv2d`` (the inference kernels); the backward runs
    /// `Conv2dBackward` (input gradient by the path its shape rule picks — one GEMM for 1×1,
    /// Winograd F(4×4, 3×3) on `dy` with flipped weights where the forward's rule picks Winograd
    /// (3×3 at stride 1, 24+ channels each way), the forward
    /// convolution kernel on `dy` with flipped weights for other stride-1 shapes, GEMM + fixed-order
    /// gather otherwise; per sample the weight gradient — `dyₙᵀ · im2col(xₙ)`, or Winograd F(2×2, 3×3)
    /// in dual form for 3×3 stride-1 layers the forward runs by Winograd with 196+ output pixels — and
    /// bias gradient as per-sample contributions, reduced over the samples by the tape).
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
        let geometry = try AutogradError.wrap("conv2d") { () throws(TensorError) in
            try ConvGeometry(batch: shape[0], inChannels: shape[3], height: shape[1], width: shape[2],
                             outChannels: weight.shape[0], kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
                             stride: stride, padding: padding, dilation: dilation, groups: groups)
        }
        // The inference kernels straight from this activation's buffer into the output's (no tensor copies).
        var failure: TensorError?
        let yData = data.withUnsafeBufferPointer { x in
            kernelOutput(geometry.batch * geometry.outHeight * geometry.outWidth * geometry.outChannels) { y in
                do throws(TensorError) {
                    try prepared.forward(nhwc: x.baseAddress!, batch: geometry.batch, height: geometry.height,
                                         width: geometry.width, output: y, threads: Runtime.settings.threads)
                } catch { failure = error }
            }
        }
        if let failure { throw .tensor(context: "conv2d", failure) }
        let x = data, w = weight.data, total = count, n = shape[0]
        let wantsWeight = weight.parameterKey != nil, wantsBias = bias?.parameterKey != nil
        let out = tape.record([geometry.batch, geometry.outHeight, geometry.outWidth, geometry.outChannels], yData, rule: { [id] (t: GradientTape, dy: [Float]) throws(AutogradError) in
            let threads = Runtime.settings.threads
            if t.needsGradient(id) {   // not for the images: their gradient would be discarded
                t.accumulate(id, filled(total, dy, w) { dy, w, dx in
                    Conv2dBackward.inputGradient(geometry, outputGradient: dy, weight: w, inputGradient: dx, threads: threads)
                })
            }
            if wantsWeight {
                x.withUnsafeBufferPointer { x in dy.withUnsafeBufferPointer { dy in
                    Conv2dBackward.withSampleWeightGradients(geometry, input: x.baseAddress!, outputGradient: dy.baseAddress!,
                                                             threads: threads) { produce in
                        t.accumulatePerSample(weight, count: Conv2dBackward.weightCount(geometry), threads: threads, tree: { first in
                            Conv2dBackward.weightGradientSum(geometry, input: x.baseAddress!, outputGradient: dy.baseAddress!,
                                                             firstSample: first, threads: threads)
                        }, produce)
                    }
                } }
            }
            if let bias, wantsBias {
                let oc = geometry.outChannels
                dy.withUnsafeBufferPointer { dyp in
                    t.accumulatePerSample(bias, count: oc, threads: threads, tree: { first in
                        Conv2dBackward.biasGradientSum(geometry, outputGradient: dyp.baseAddress!, firstSample: first, threads: threads)
                    }) { sample, out in
                        Conv2dBackward.biasGradients(geometry.withBatch(1), outputGradient: dyp.baseAddress! + sample * (dy.count / n),
                                                     into: out, threads: 1)
                    }
                }
            }
        })
        tape.consume(weight, by: out.id)
        if let bias { tape.consume(bias, by: out.id) }
        return out
    }
}

/// A new buffer of `count` floats written by `body` from two read-only operands (kernel calls on raw
/// pointers); `body` must write every element (the buffer starts uninitialised).
private func filled(_ count: Int, _ a: [Float], _ b: [Float],
                    _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in kernelOutput(count) { body(a.baseAddress!, b.baseAddress!, $0) } }
    }
}
