@_spi(Kernels) import ReproTensor
import ReproRandom

extension Variable {
    func requireNHWC(_ op: String) throws(AutogradError) -> (n: Int, h: Int, w: Int, c: Int) {
        guard shape.count == 4 else { throw .invalidOperation(op: op, reason: "expected an NHWC activation, got \(shape)") }
        return (shape[0], shape[1], shape[2], shape[3])
    }

    /// `nn.MaxPool2d` on NHWC (padding counts as −∞), through ``Pooling/maxPool2d(_:input:output:indices:threads:)``.
    /// PyTorch's CPU rule: the window is scanned row-major over in-bounds positions and a value
    /// replaces the maximum only if it is strictly greater or NaN, so ties go to the **first**
    /// position and NaNs to the last NaN; backward adds each output gradient at that position
    /// (overlapping windows accumulate, in output order).
    public func maxPool2d(kernel: Int, stride: Int, padding: Int) throws(AutogradError) -> Variable {
        let (n, h, w, c) = try requireNHWC("maxPool2d")
        let p = try AutogradError.wrap("maxPool2d") { () throws(TensorError) in
            try Pool2dGeometry(batch: n, height: h, width: w, channels: c, kernel: (kernel, kernel),
                               stride: (stride, stride), padding: (padding, padding))
        }
        let outCount = n * p.outHeight * p.outWidth * c, threads = Runtime.settings.threads
        // The kernel writes every index (no zero-fill first).
        var indices: [Int] = []
        let y = kernelOutput(outCount) { y in
            indices = [Int](unsafeUninitializedCapacity: outCount) { i, initialized in
                data.withUnsafeBufferPointer { x in
                    Pooling.maxPool2d(p, input: x.baseAddress!, output: y, indices: i.baseAddress!, threads: threads)
                }
                initialized = outCount
            }
        }
        let total = count
        return tape.record([n, p.outHeight, p.outWidth, c], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            t.accumulate(id, kernelOutput(total) { dx in
                g.withUnsafeBufferPointer { g in indices.withUnsafeBufferPointer { i in
                    Pooling.maxPool2dBackward(p, outputGradient: g.baseAddress!, indices: i.baseAddress!, inputGradient: dx,
                                              threads: Runtime.settings.threads)
                } }
            })
        })
    }

    /// `nn.AdaptiveAvgPool2d` on NHWC, through ``Pooling/adaptiveAvgPool2d(input:output:batch:height:width:channels:outHeight:outWidth:threads:)``:
    /// cell `(i, j)` sums rows `⌊i·H/OH⌋ ..< ⌈(i+1)·H/OH⌉` and the matching columns in row-major
    /// order and divides by the cell height, then width (PyTorch's order; a 1 × 1 output divides
    /// once by `H·W`); backward spreads the gradient divided the same way over the cell.
    public func adaptiveAvgPool2d(outputHeight oh: Int, outputWidth ow: Int) throws(AutogradError) -> Variable {
        let (n, h, w, c) = try requireNHWC("adaptiveAvgPool2d")
        guard oh > 0, ow > 0 else { throw .invalidOperation(op: "adaptiveAvgPool2d", reason: "output size must be positive") }
        let threads = Runtime.settings.threads
        let y = kernelOutput(n * oh * ow * c) { y in
            data.withUnsafeBufferPointer { x in
                Pooling.adaptiveAvgPool2d(input: x.baseAddress!, output: y, batch: n, height: h, width: w, channels: c,
                                          outHeight: oh, outWidth: ow, threads: threads)
            }
        }
        let total = count
        return tape.record([n, oh, ow, c], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            t.accumulate(id, kernelOutput(total) { dx in
                g.withUnsafeBufferPointer { g in
                    Pooling.adaptiveAvgPool2dBackward(outputGradient: g.baseAddress!, inputGradient: dx, batch: n, height: h,
                                                      width: w, channels: c, outHeight: oh, outWidth: ow,
                                                      threads: Runtime.settings.threads)
                }
            })
        })
    }

    /// Nearest-neighbour upsampling on NHWC to `height × width` (PyTorch's legacy `nearest`,
    /// ``Resampling/nearestIndex(_:input:output:)``); backward adds each output gradient onto its
    /// source, outputs in raster order (``Pooling/upsampleNearestBackward(outputGradient:inputGradient:batch:height:width:channels:outHeight:outWidth:threads:)``).
    public func upsampledNearest(height oh: Int, width ow: Int) throws(AutogradError) -> Variable {
        let (n, h, w, c) = try requireNHWC("upsampleNearest")
        guard oh > 0, ow > 0 else { throw .invalidOperation(op: "upsampleNearest", reason: "output size must be positive") }
        let threads = Runtime.settings.threads
        let y = kernelOutput(n * oh * ow * c) { y in
            data.withUnsafeBufferPointer { x in
                Resampling.upsampleNearestNHWC(x.baseAddress!, y, batch: n, height: h, width: w, channels: c,
                                               outHeight: oh, outWidth: ow, threads: threads)
            }
        }
        let total = count
        return tape.record([n, oh, ow, c], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            t.accumulate(id, kernelOutput(total) { dx in
                g.withUnsafeBufferPointer { g in
                    Pooling.upsampleNearestBackward(outputGradient: g.baseAddress!, inputGradient: dx, batch: n, height: h,
                                                    width: w, channels: c, outHeight: oh, outWidth: ow,
                                                    threads: Runtime.settings.threads)
                }
            })
        })
    }

    /// Dropout with ``CounterDropout``'s mask, keyed by the training seed and the module path
    /// (`scope.path`) at the tape's step: element `e` of global sample `i` is kept or dropped
    /// the same way for every split and thread count. Kept values are `x · (1 / f32(1 − p))`
    /// (PyTorch's scaling), dropped ones `x · 0`; backward multiplies by the same factors. The
    /// identity in evaluation mode or for `p = 0`.
    public func dropout(p: Double, in scope: TrainingScope) throws(AutogradError) -> Variable {
        guard p >= 0, p <= 1 else { throw .invalidOperation(op: "dropout", reason: "p = \(p) outside [0, 1]") }
        if scope.mode == .evaluation || p == 0 { return self }
        let r = scope.tape.randomness
        let factor: [Float]
        do {
            factor = try CounterDropout(seed: r.seed, modulePath: scope.path)
                .noise(shape: shape, p: p, step: r.step, startIndex: scope.tape.samples.lowerBound).values
        } catch { throw .invalidOperation(op: "dropout", reason: error.description) }
        var y = data
        for i in y.indices { y[i] = y[i] * factor[i] }
        return tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for i in dx.indices { dx[i] = g[i] * factor[i] }
            t.accumulate(id, dx)
        })
    }
}

/// A new buffer of `count` floats that `body` writes completely (a kernel's output); empty
/// without calling `body` when `count` is 0.
func kernelOutput(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    guard count > 0 else { return [] }
    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        body(buffer.baseAddress!)
        initialized = count
    }
}
