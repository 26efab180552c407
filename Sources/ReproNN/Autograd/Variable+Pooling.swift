import ReproTensor
import ReproRandom

extension Variable {
    func requireNHWC(_ op: String) throws(AutogradError) -> (n: Int, h: Int, w: Int, c: Int) {
        guard shape.count == 4 else { throw .invalidOperation(op: op, reason: "expected an NHWC activation, got \(shape)") }
        return (shape[0], shape[1], shape[2], shape[3])
    }

    /// `nn.MaxPool2d` on NHWC (padding counts as −∞). PyTorch's CPU rule: the window is scanned
    /// row-major over in-bounds positions and a value replaces the maximum only if it is strictly
    /// greater or NaN, so ties go to the **first** position and NaNs to the last NaN; backward adds
    /// each output gradient at that position (overlapping windows accumulate, in output order).
    public func maxPool2d(kernel: Int, stride: Int, padding: Int) throws(AutogradError) -> Variable {
        let (n, h, w, c) = try requireNHWC("maxPool2d")
        guard kernel > 0, stride > 0, padding >= 0, 2 * padding <= kernel else {
            throw .invalidOperation(op: "maxPool2d", reason: "kernel \(kernel), stride \(stride), padding \(padding)")
        }
        let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
        guard oh > 0, ow > 0 else { throw .invalidOperation(op: "maxPool2d", reason: "input \(shape) too small") }
        var y = [Float](repeating: 0, count: n * oh * ow * c)
        var arg = [Int](repeating: 0, count: y.count)
        for s in 0..<n { for oy in 0..<oh { for ox in 0..<ow { for ch in 0..<c {
            var best = -Float.infinity, at = -1
            for ky in 0..<kernel {
                let iy = oy * stride - padding + ky
                guard iy >= 0, iy < h else { continue }
                for kx in 0..<kernel {
                    let ix = ox * stride - padding + kx
                    guard ix >= 0, ix < w else { continue }
                    let i = ((s * h + iy) * w + ix) * c + ch
                    if at < 0 || data[i] > best || data[i].isNaN { best = data[i]; at = i }
                }
            }
            let o = ((s * oh + oy) * ow + ox) * c + ch
            y[o] = best
            arg[o] = at
        } } } }
        let total = count
        return tape.record([n, oh, ow, c], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: total)
            for o in g.indices { dx[arg[o]] = dx[arg[o]] + g[o] }
            t.accumulate(id, dx)
        })
    }

    /// `nn.AdaptiveAvgPool2d` on NHWC: cell `(i, j)` averages rows `⌊i·H/OH⌋ ..< ⌈(i+1)·H/OH⌉` and
    /// the matching columns (sum in row-major order, divided by the cell size); backward spreads
    /// `g / size` over the cell.
    public func adaptiveAvgPool2d(outputHeight oh: Int, outputWidth ow: Int) throws(AutogradError) -> Variable {
        let (n, h, w, c) = try requireNHWC("adaptiveAvgPool2d")
        guard oh > 0, ow > 0 else { throw .invalidOperation(op: "adaptiveAvgPool2d", reason: "output size must be positive") }
        var y = [Float](repeating: 0, count: n * oh * ow * c)
        let rows = (0..<oh).map { ($0 * h / oh, (($0 + 1) * h + oh - 1) / oh) }
        let cols = (0..<ow).map { ($0 * w / ow, (($0 + 1) * w + ow - 1) / ow) }
        for s in 0..<n { for (i, r) in rows.enumerated() { for (j, cl) in cols.enumerated() {
            let size = Float((r.1 - r.0) * (cl.1 - cl.0))
            for ch in 0..<c {
                var sum: Float = 0
                for yy in r.0..<r.1 { for xx in cl.0..<cl.1 { sum += data[((s * h + yy) * w + xx) * c + ch] } }
                y[((s * oh + i) * ow + j) * c + ch] = sum / size
            }
        } } }
        let total = count
        return tape.record([n, oh, ow, c], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: total)
            for s in 0..<n { for (i, r) in rows.enumerated() { for (j, cl) in cols.enumerated() {
                let size = Float((r.1 - r.0) * (cl.1 - cl.0))
                for ch in 0..<c {
                    let v = g[((s * oh + i) * ow + j) * c + ch] / size
                    for yy in r.0..<r.1 { for xx in cl.0..<cl.1 {
                        let k = ((s * h + yy) * w + xx) * c + ch
                        dx[k] = dx[k] + v
                    } }
                }
            } } }
            t.accumulate(id, dx)
        })
    }

    /// Nearest-neighbour upsampling on NHWC to `height × width` (source row `⌊i·H/OH⌋`, PyTorch's
    /// `nearest` for integer factors); backward adds each output gradient onto its source.
    public func upsampledNearest(height oh: Int, width ow: Int) throws(AutogradError) -> Variable {
        let (n, h, w, c) = try requireNHWC("upsampleNearest")
        guard oh > 0, ow > 0 else { throw .invalidOperation(op: "upsampleNearest", reason: "output size must be positive") }
        var src = [Int](repeating: 0, count: n * oh * ow)
        for s in 0..<n { for i in 0..<oh { for j in 0..<ow {
            src[(s * oh + i) * ow + j] = (s * h + Swift.min(i * h / oh, h - 1)) * w + Swift.min(j * w / ow, w - 1)
        } } }
        var y = [Float](repeating: 0, count: n * oh * ow * c)
        for (o, k) in src.enumerated() { for ch in 0..<c { y[o * c + ch] = data[k * c + ch] } }
        let total = count
        return tape.record([n, oh, ow, c], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: total)
            for (o, k) in src.enumerated() { for ch in 0..<c { dx[k * c + ch] = dx[k * c + ch] + g[o * c + ch] } }
            t.accumulate(id, dx)
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
