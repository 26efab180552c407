/// The shape of a 2-D max or average pooling on NHWC data `[N, H, W, C]`, with PyTorch's
/// output-size rule: `out = ⌊(in + 2·pad − dilation·(k − 1) − 1 + (ceil ? stride − 1 : 0)) / stride⌋ + 1`,
/// minus one when `ceil_mode` would start the last window at or past `in + pad`.
///
/// ```swift
/// let p = try Pool2dGeometry(batch: 1, height: 112, width: 112, channels: 64,
///                            kernel: (3, 3), stride: (2, 2), padding: (1, 1))
/// p.outHeight   // 56
/// ```
@_spi(Kernels) public struct Pool2dGeometry: Sendable, Equatable {
    /// Samples.
    @_spi(Kernels) public var batch: Int
    /// Input height.
    @_spi(Kernels) public var height: Int
    /// Input width.
    @_spi(Kernels) public var width: Int
    /// Channels.
    @_spi(Kernels) public var channels: Int
    /// Window height.
    @_spi(Kernels) public var kernelHeight: Int
    /// Window width.
    @_spi(Kernels) public var kernelWidth: Int
    /// Vertical stride.
    @_spi(Kernels) public var strideHeight: Int
    /// Horizontal stride.
    @_spi(Kernels) public var strideWidth: Int
    /// Top/bottom padding.
    @_spi(Kernels) public var padHeight: Int
    /// Left/right padding.
    @_spi(Kernels) public var padWidth: Int
    /// Vertical spacing of window taps (max pooling only).
    @_spi(Kernels) public var dilationHeight: Int
    /// Horizontal spacing of window taps (max pooling only).
    @_spi(Kernels) public var dilationWidth: Int
    /// Whether the output size rounds up (PyTorch's `ceil_mode`).
    @_spi(Kernels) public var ceilMode: Bool
    /// Output height.
    @_spi(Kernels) public let outHeight: Int
    /// Output width.
    @_spi(Kernels) public let outWidth: Int

    /// PyTorch's `pooling_output_shape` along one axis.
    @_spi(Kernels) public static func outputSize(_ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool) -> Int {
        let numerator = input + 2 * padding - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)
        var out = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1
        if ceilMode && (out - 1) * stride >= input + padding { out -= 1 }
        return out
    }

    /// Creates and validates a pooling geometry (PyTorch's checks).
    ///
    /// - Throws: ``TensorError/invalidArgument(op:reason:)`` for non-positive sizes, kernels, strides or
    ///   dilations, padding larger than half the (dilated) window, or an empty output.
    @_spi(Kernels) public init(
        batch: Int, height: Int, width: Int, channels: Int, kernel: (Int, Int), stride: (Int, Int),
        padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), ceilMode: Bool = false
    ) throws(TensorError) {
        let op = "pool2d"
        guard batch >= 0, height > 0, width > 0, channels > 0 else {
            throw .invalidArgument(op: op, reason: "sizes must be positive (batch \(batch), \(height)×\(width), channels \(channels))")
        }
        guard kernel.0 > 0, kernel.1 > 0, stride.0 > 0, stride.1 > 0, dilation.0 > 0, dilation.1 > 0 else {
            throw .invalidArgument(op: op, reason: "kernel \(kernel), stride \(stride) and dilation \(dilation) must be positive")
        }
        guard padding.0 >= 0, padding.1 >= 0,
              padding.0 <= ((kernel.0 - 1) * dilation.0 + 1) / 2, padding.1 <= ((kernel.1 - 1) * dilation.1 + 1) / 2 else {
            throw .invalidArgument(op: op, reason: "padding \(padding) must be between 0 and half the window \(kernel) (dilation \(dilation))")
        }
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        kernelHeight = kernel.0; kernelWidth = kernel.1; strideHeight = stride.0; strideWidth = stride.1
        padHeight = padding.0; padWidth = padding.1; dilationHeight = dilation.0; dilationWidth = dilation.1
        self.ceilMode = ceilMode
        outHeight = Self.outputSize(height, kernel: kernel.0, stride: stride.0, padding: padding.0, dilation: dilation.0, ceilMode: ceilMode)
        outWidth = Self.outputSize(width, kernel: kernel.1, stride: stride.1, padding: padding.1, dilation: dilation.1, ceilMode: ceilMode)
        guard outHeight > 0, outWidth > 0 else {
            throw .invalidArgument(op: op, reason: "window \(kernel) (dilation \(dilation)) gives an empty output for input \(height)×\(width) with padding \(padding)")
        }
    }
}

/// Pooling and nearest-resize kernels for training on NHWC data: max pooling that records
/// PyTorch's argmax, average and adaptive average pooling, and the backward of each and of
/// the nearest upsample.
///
/// **Max pooling** follows PyTorch's CPU kernel: the window's in-bounds taps are scanned row
/// by row; a value replaces the running maximum (which starts at −∞ with the index of the first
/// in-bounds tap) only if it is strictly greater or is NaN. So ties go to the **first**
/// position, NaNs to the **last** NaN, and an all −∞ window reports its first in-bounds tap.
/// The output is `x[argmax]`; indices are `iy·W + ix` within the sample's plane, as PyTorch's.
///
/// **Backward** kernels zero `dx` and add each output gradient into the inputs it came from,
/// outputs in raster order: every `dx` element is `0 + g₁ + g₂ + …` over the outputs that reach
/// it in ascending `(oy, ox)` — the order of PyTorch's CPU kernels. Threads take
/// (sample, 16-channel block) pairs (whole input rows for the nearest backward), so the thread
/// count never changes a bit. Average pooling divides as PyTorch does (`g / divisor` per output,
/// adaptive `g / kh / kw`), in float32.
///
/// ```swift
/// let p = try Pool2dGeometry(batch: 1, height: 4, width: 4, channels: 8, kernel: (2, 2), stride: (2, 2))
/// Pooling.maxPool2d(p, input: x, output: y, indices: idx, threads: 2)
/// Pooling.maxPool2dBackward(p, outputGradient: dy, indices: idx, inputGradient: dx, threads: 2)
/// ```
@_spi(Kernels) public enum Pooling {
    /// Channels per work chunk of the scatter kernels.
    static let channelBlock = 16

    /// Runs `body(n, channels)` over (sample, channel block) chunks.
    static func forEachSampleBlock(batch: Int, channels: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
        let blocks = (channels + channelBlock - 1) / channelBlock
        ThreadPool.current.forEachChunk(batch * blocks, threads: threads) { chunk in
            let c0 = (chunk % blocks) * channelBlock
            body(chunk / blocks, c0..<min(c0 + channelBlock, channels))
        }
    }

    /// First in-bounds tap and end of a dilated window along one axis (PyTorch's `start`/`end`).
    @inline(__always)
    static func maxWindow(_ o: Int, stride: Int, pad: Int, kernel: Int, dilation: Int, size: Int) -> (Int, Int) {
        var start = o * stride - pad
        let end = min(start + (kernel - 1) * dilation + 1, size)
        while start < 0 { start += dilation }
        return (start, end)
    }

    /// Max pooling forward: `y` and `indices` are `[N, OH, OW, C]`; see ``Pooling`` for the rule.
    @_spi(Kernels) public static func maxPool2d(
        _ p: Pool2dGeometry, input x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>,
        indices: UnsafeMutablePointer<Int>, threads: Int
    ) {
        let c = p.channels, oh = p.outHeight, ow = p.outWidth
        ThreadPool.current.forEachChunk(p.batch * oh, threads: threads) { row in
            let n = row / oh, oy = row % oh
            let src = x + n * p.height * p.width * c
            let (y0, y1) = maxWindow(oy, stride: p.strideHeight, pad: p.padHeight, kernel: p.kernelHeight,
                                     dilation: p.dilationHeight, size: p.height)
            for ox in 0..<ow {
                let (x0, x1) = maxWindow(ox, stride: p.strideWidth, pad: p.padWidth, kernel: p.kernelWidth,
                                         dilation: p.dilationWidth, size: p.width)
                let dst = y + (row * ow + ox) * c, idx = indices + (row * ow + ox) * c
                dst.initialize(repeating: -.infinity, count: c)
                idx.initialize(repeating: y0 * p.width + x0, count: c)
                for iy in stride(from: y0, to: y1, by: p.dilationHeight) {
                    for ix in stride(from: x0, to: x1, by: p.dilationWidth) {
                        let s = src + (iy * p.width + ix) * c, at = iy * p.width + ix
                        for ch in 0..<c where s[ch] > dst[ch] || s[ch].isNaN {
                            dst[ch] = s[ch]
                            idx[ch] = at
                        }
                    }
                }
                // The output is the input at the argmax (also for an all −∞ window).
                for ch in 0..<c { dst[ch] = src[idx[ch] * c + ch] }
            }
        }
    }

    /// Max pooling backward: `dx[n, indices[n, oy, ox, c], c] += dy[n, oy, ox, c]`, outputs in raster order.
    @_spi(Kernels) public static func maxPool2dBackward(
        _ p: Pool2dGeometry, outputGradient dy: UnsafePointer<Float>, indices: UnsafePointer<Int>,
        inputGradient dx: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let c = p.channels, plane = p.outHeight * p.outWidth, inPlane = p.height * p.width
        forEachSampleBlock(batch: p.batch, channels: c, threads: threads) { n, chs in
            let d = dx + n * inPlane * c
            for i in 0..<inPlane { for ch in chs { d[i * c + ch] = 0 } }
            for o in 0..<plane {
                let g = dy + (n * plane + o) * c, idx = indices + (n * plane + o) * c
                for ch in chs { d[idx[ch] * c + ch] = d[idx[ch] * c + ch] + g[ch] }
            }
        }
    }

    /// One average-pooling window along one axis: clipped taps and the padded extent (PyTorch's rule).
    @inline(__always)
    static func averageWindow(_ o: Int, stride: Int, pad: Int, kernel: Int, size: Int) -> (start: Int, end: Int, padded: Int) {
        let start = o * stride - pad
        let end = min(start + kernel, size + pad)
        return (max(start, 0), min(end, size), end - start)
    }

    /// The divisor of output `(oy, ox)`: `divisorOverride`, or the padded window area
    /// (`countIncludePad`), or the number of in-bounds taps; `nil` for a window with no tap.
    @inline(__always)
    static func averageDivisor(_ p: Pool2dGeometry, oy: Int, ox: Int, countIncludePad: Bool, divisorOverride: Int?)
        -> (rows: Range<Int>, cols: Range<Int>, divisor: Float)? {
        let wy = averageWindow(oy, stride: p.strideHeight, pad: p.padHeight, kernel: p.kernelHeight, size: p.height)
        let wx = averageWindow(ox, stride: p.strideWidth, pad: p.padWidth, kernel: p.kernelWidth, size: p.width)
        guard wy.start < wy.end, wx.start < wx.end else { return nil }
        let area = divisorOverride ?? (countIncludePad ? wy.padded * wx.padded : (wy.end - wy.start) * (wx.end - wx.start))
        return (wy.start..<wy.end, wx.start..<wx.end, Float(area))
    }

    /// Average pooling forward (`[N, OH, OW, C]`): `(0 + x₁ + x₂ + …) / divisor`, taps row-major, float32.
    /// A window with no in-bounds tap gives 0. `divisorOverride` must be non-zero (PyTorch's check).
    @_spi(Kernels) public static func avgPool2d(
        _ p: Pool2dGeometry, input x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>,
        countIncludePad: Bool, divisorOverride: Int?, threads: Int
    ) {
        let c = p.channels, oh = p.outHeight, ow = p.outWidth
        ThreadPool.current.forEachChunk(p.batch * oh, threads: threads) { row in
            let n = row / oh, oy = row % oh
            let src = x + n * p.height * p.width * c
            for ox in 0..<ow {
                let dst = y + (row * ow + ox) * c
                dst.initialize(repeating: 0, count: c)
                guard let w = averageDivisor(p, oy: oy, ox: ox, countIncludePad: countIncludePad,
                                             divisorOverride: divisorOverride) else { continue }
                for iy in w.rows { for ix in w.cols {
                    let s = src + (iy * p.width + ix) * c
                    for ch in 0..<c { dst[ch] = dst[ch] + s[ch] }
                }}
                for ch in 0..<c { dst[ch] = dst[ch] / w.divisor }
            }
        }
    }

    /// Average pooling backward: each output adds `dy / divisor` to every in-bounds tap of its window.
    @_spi(Kernels) public static func avgPool2dBackward(
        _ p: Pool2dGeometry, outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>,
        countIncludePad: Bool, divisorOverride: Int?, threads: Int
    ) {
        let c = p.channels, inPlane = p.height * p.width, ow = p.outWidth, plane = p.outHeight * ow
        forEachSampleBlock(batch: p.batch, channels: c, threads: threads) { n, chs in
            let d = dx + n * inPlane * c
            for i in 0..<inPlane { for ch in chs { d[i * c + ch] = 0 } }
            for oy in 0..<p.outHeight {
                for ox in 0..<ow {
                    guard let w = averageDivisor(p, oy: oy, ox: ox, countIncludePad: countIncludePad,
                                                 divisorOverride: divisorOverride) else { continue }
                    let g = dy + (n * plane + oy * ow + ox) * c
                    for ch in chs {
                        let delta = g[ch] / w.divisor
                        for iy in w.rows { for ix in w.cols {
                            let at = (iy * p.width + ix) * c + ch
                            d[at] = d[at] + delta
                        }}
                    }
                }
            }
        }
    }

    /// PyTorch's adaptive window along one axis: `[⌊o·in/out⌋, ⌈(o+1)·in/out⌉)`.
    @_spi(Kernels) public static func adaptiveWindow(_ o: Int, input: Int, output: Int) -> Range<Int> {
        (o * input / output)..<(((o + 1) * input + output - 1) / output)
    }

    /// Adaptive average pooling forward to `oh × ow`: `(0 + x₁ + …) / kh / kw` (taps row-major, float32).
    /// A 1 × 1 output divides once, `/ (H·W)`: PyTorch computes that case as `mean` over H and W
    /// (its sum runs in another order, so that output matches PyTorch within rounding, not bit for bit).
    @_spi(Kernels) public static func adaptiveAvgPool2d(
        input x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, batch: Int, height h: Int, width w: Int,
        channels c: Int, outHeight oh: Int, outWidth ow: Int, threads: Int
    ) {
        let global = oh == 1 && ow == 1, area = Float(h * w)
        ThreadPool.current.forEachChunk(batch * oh, threads: threads) { row in
            let n = row / oh, oy = row % oh
            let rows = adaptiveWindow(oy, input: h, output: oh)
            let src = x + n * h * w * c
            for ox in 0..<ow {
                let cols = adaptiveWindow(ox, input: w, output: ow)
                let dst = y + (row * ow + ox) * c
                dst.initialize(repeating: 0, count: c)
                for iy in rows { for ix in cols {
                    let s = src + (iy * w + ix) * c
                    for ch in 0..<c { dst[ch] = dst[ch] + s[ch] }
                }}
                if global {
                    for ch in 0..<c { dst[ch] = dst[ch] / area }
                } else {
                    let kh = Float(rows.count), kw = Float(cols.count)
                    for ch in 0..<c { dst[ch] = dst[ch] / kh / kw }
                }
            }
        }
    }

    /// Adaptive average pooling backward: each output adds `dy / kh / kw` to every tap of its window
    /// (`dy / (H·W)` for a 1 × 1 output, the backward of PyTorch's `mean`).
    @_spi(Kernels) public static func adaptiveAvgPool2dBackward(
        outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>, batch: Int,
        height h: Int, width w: Int, channels c: Int, outHeight oh: Int, outWidth ow: Int, threads: Int
    ) {
        let global = oh == 1 && ow == 1, area = Float(h * w)
        forEachSampleBlock(batch: batch, channels: c, threads: threads) { n, chs in
            let d = dx + n * h * w * c
            for i in 0..<(h * w) { for ch in chs { d[i * c + ch] = 0 } }
            for oy in 0..<oh {
                let rows = adaptiveWindow(oy, input: h, output: oh)
                for ox in 0..<ow {
                    let cols = adaptiveWindow(ox, input: w, output: ow)
                    let kh = Float(rows.count), kw = Float(cols.count)
                    let g = dy + ((n * oh + oy) * ow + ox) * c
                    for ch in chs {
                        let delta = global ? g[ch] / area : g[ch] / kh / kw
                        for iy in rows { for ix in cols {
                            let at = (iy * w + ix) * c + ch
                            d[at] = d[at] + delta
                        }}
                    }
                }
            }
        }
    }

    /// The outputs that copy input `i` under ``Resampling/nearestIndex(_:input:output:)``: a
    /// contiguous range, since the index map is non-decreasing.
    static func nearestSources(input: Int, output: Int) -> [Range<Int>] {
        var lower = [Int](repeating: output, count: input), upper = [Int](repeating: 0, count: input)
        for o in 0..<output {
            let i = Resampling.nearestIndex(o, input: input, output: output)
            lower[i] = min(lower[i], o)
            upper[i] = max(upper[i], o + 1)
        }
        return (0..<input).map { lower[$0] < upper[$0] ? lower[$0]..<upper[$0] : 0..<0 }
    }

    /// Backward of ``Resampling/upsampleNearestNHWC(_:_:batch:height:width:channels:outHeight:outWidth:threads:)``:
    /// `dx[iy, ix] = 0 + Σ dy[oy, ox]` over the outputs copied from `(iy, ix)`, in raster order.
    @_spi(Kernels) public static func upsampleNearestBackward(
        outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>, batch: Int,
        height h: Int, width w: Int, channels c: Int, outHeight oh: Int, outWidth ow: Int, threads: Int
    ) {
        let ys = nearestSources(input: h, output: oh), xs = nearestSources(input: w, output: ow)
        ThreadPool.current.forEachChunk(batch * h, threads: threads) { row in
            let n = row / h, iy = row % h
            for ix in 0..<w {
                let d = dx + (row * w + ix) * c
                d.initialize(repeating: 0, count: c)
                for oy in ys[iy] { for ox in xs[ix] {
                    let g = dy + ((n * oh + oy) * ow + ox) * c
                    for ch in 0..<c { d[ch] = d[ch] + g[ch] }
                }}
            }
        }
    }
}
