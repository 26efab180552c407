import Testing
import _ReproTestSupport
@_spi(Kernels) @testable import ReproTensor

/// Max, average and adaptive average pooling and the nearest upsample, forward and backward:
/// against plain-loop NCHW references written from PyTorch's CPU kernels (bit for bit), finite
/// differences in Double, PyTorch's own outputs (bit for bit: same rule, same order) and threads.
@Suite struct PoolingBackwardTests {
    /// NCHW ↔ NHWC index helpers.
    static func nhwc(_ p: Pool2dGeometry, _ n: Int, _ y: Int, _ x: Int, _ c: Int, h: Int, w: Int) -> Int {
        ((n * h + y) * w + x) * p.channels + c
    }

    // MARK: references (PyTorch's cpu_max_pool / cpu_avg_pool / adaptive / nearest loops, one plane at a time)

    static func referenceMaxPool(_ p: Pool2dGeometry, x: [Float], dy: [Float]) -> (y: [Float], idx: [Int], dx: [Float]) {
        let (h, w, oh, ow) = (p.height, p.width, p.outHeight, p.outWidth)
        var y = [Float](repeating: 0, count: p.batch * oh * ow * p.channels), idx = [Int](repeating: 0, count: y.count)
        var dx = [Float](repeating: 0, count: x.count)
        for n in 0..<p.batch { for c in 0..<p.channels {
            for oy in 0..<oh { for ox in 0..<ow {
                var y0 = oy * p.strideHeight - p.padHeight, x0 = ox * p.strideWidth - p.padWidth
                let y1 = min(y0 + (p.kernelHeight - 1) * p.dilationHeight + 1, h)
                let x1 = min(x0 + (p.kernelWidth - 1) * p.dilationWidth + 1, w)
                while y0 < 0 { y0 += p.dilationHeight }
                while x0 < 0 { x0 += p.dilationWidth }
                var best = y0 * w + x0, value = -Float.infinity
                var iy = y0
                while iy < y1 {
                    var ix = x0
                    while ix < x1 {
                        let v = x[nhwc(p, n, iy, ix, c, h: h, w: w)]
                        if v > value || v.isNaN { value = v; best = iy * w + ix }
                        ix += p.dilationWidth
                    }
                    iy += p.dilationHeight
                }
                let o = nhwc(p, n, oy, ox, c, h: oh, w: ow)
                y[o] = x[nhwc(p, n, best / w, best % w, c, h: h, w: w)]
                idx[o] = best
                let at = nhwc(p, n, best / w, best % w, c, h: h, w: w)
                dx[at] = dx[at] + dy[o]
            }}
        }}
        return (y, idx, dx)
    }

    static func referenceAvgPool(_ p: Pool2dGeometry, x: [Float], dy: [Float], include: Bool, divisor: Int?) -> (y: [Float], dx: [Float]) {
        let (h, w, oh, ow) = (p.height, p.width, p.outHeight, p.outWidth)
        var y = [Float](repeating: 0, count: p.batch * oh * ow * p.channels), dx = [Float](repeating: 0, count: x.count)
        for n in 0..<p.batch { for c in 0..<p.channels { for oy in 0..<oh { for ox in 0..<ow {
            var y0 = oy * p.strideHeight - p.padHeight, x0 = ox * p.strideWidth - p.padWidth
            var y1 = min(y0 + p.kernelHeight, h + p.padHeight), x1 = min(x0 + p.kernelWidth, w + p.padWidth)
            let poolSize = (y1 - y0) * (x1 - x0)
            y0 = max(y0, 0); x0 = max(x0, 0); y1 = min(y1, h); x1 = min(x1, w)
            guard y0 < y1, x0 < x1 else { continue }
            let factor = Float(divisor ?? (include ? poolSize : (y1 - y0) * (x1 - x0)))
            let o = nhwc(p, n, oy, ox, c, h: oh, w: ow)
            var sum: Float = 0
            for iy in y0..<y1 { for ix in x0..<x1 { sum += x[nhwc(p, n, iy, ix, c, h: h, w: w)] } }
            y[o] = sum / factor
            let delta = dy[o] / factor
            for iy in y0..<y1 { for ix in x0..<x1 { dx[nhwc(p, n, iy, ix, c, h: h, w: w)] += delta } }
        }}}}
        return (y, dx)
    }

    // MARK: kernel calls

    static func maxPool(_ p: Pool2dGeometry, x: [Float], dy: [Float], threads: Int) -> (y: [Float], idx: [Int], dx: [Float]) {
        let count = p.batch * p.outHeight * p.outWidth * p.channels
        var idx = [Int](repeating: -1, count: count)
        let y = produce(count) { y in
            withPointers(x) { x in idx.withUnsafeMutableBufferPointer {
                Pooling.maxPool2d(p, input: x, output: y, indices: $0.baseAddress!, threads: threads) } }
        }
        let dx = produce(x.count) { dx in
            withPointers(dy) { dy in idx.withUnsafeBufferPointer {
                Pooling.maxPool2dBackward(p, outputGradient: dy, indices: $0.baseAddress!, inputGradient: dx, threads: threads) } }
        }
        return (y, idx, dx)
    }

    static func avgPool(_ p: Pool2dGeometry, x: [Float], dy: [Float], include: Bool, divisor: Int?, threads: Int) -> (y: [Float], dx: [Float]) {
        let y = produce(p.batch * p.outHeight * p.outWidth * p.channels) { y in
            withPointers(x) { Pooling.avgPool2d(p, input: $0, output: y, countIncludePad: include, divisorOverride: divisor, threads: threads) }
        }
        let dx = produce(x.count) { dx in
            withPointers(dy) { Pooling.avgPool2dBackward(p, outputGradient: $0, inputGradient: dx, countIncludePad: include,
                                                         divisorOverride: divisor, threads: threads) }
        }
        return (y, dx)
    }

    struct Resize { var n, c, h, w, oh, ow: Int }

    static func adaptive(_ r: Resize, x: [Float], dy: [Float], threads: Int) -> (y: [Float], dx: [Float]) {
        let y = produce(r.n * r.oh * r.ow * r.c) { y in withPointers(x) {
            Pooling.adaptiveAvgPool2d(input: $0, output: y, batch: r.n, height: r.h, width: r.w, channels: r.c,
                                      outHeight: r.oh, outWidth: r.ow, threads: threads) } }
        let dx = produce(x.count) { dx in withPointers(dy) {
            Pooling.adaptiveAvgPool2dBackward(outputGradient: $0, inputGradient: dx, batch: r.n, height: r.h, width: r.w,
                                              channels: r.c, outHeight: r.oh, outWidth: r.ow, threads: threads) } }
        return (y, dx)
    }

    static func nearest(_ r: Resize, x: [Float], dy: [Float], threads: Int) -> (y: [Float], dx: [Float]) {
        let y = produce(r.n * r.oh * r.ow * r.c) { y in withPointers(x) {
            Resampling.upsampleNearestNHWC($0, y, batch: r.n, height: r.h, width: r.w, channels: r.c,
                                           outHeight: r.oh, outWidth: r.ow, threads: threads) } }
        let dx = produce(x.count) { dx in withPointers(dy) {
            Pooling.upsampleNearestBackward(outputGradient: $0, inputGradient: dx, batch: r.n, height: r.h, width: r.w,
                                            channels: r.c, outHeight: r.oh, outWidth: r.ow, threads: threads) } }
        return (y, dx)
    }

    static func geometry(_ c: JSON, dilation: Bool) throws -> Pool2dGeometry {
        try Pool2dGeometry(batch: c["batch"].int, height: c["height"].int, width: c["width"].int, channels: c["channels"].int,
                           kernel: c["kernel"].pair, stride: c["stride"].pair, padding: c["padding"].pair,
                           dilation: dilation ? c["dilation"].pair : (1, 1), ceilMode: try c["ceilMode"].bool)
    }

    static func resize(_ c: JSON) throws -> Resize {
        Resize(n: try c["batch"].int, c: try c["channels"].int, h: try c["height"].int, w: try c["width"].int,
               oh: try c["outHeight"].int, ow: try c["outWidth"].int)
    }

    /// Integers in [-3, 3] (many ties) with NaNs and −∞ placed as in the PyTorch fixtures.
    static func tieInput(_ count: Int, seed: UInt64) -> [Float] {
        var v = seededFloats(count, seed: seed).map { ($0 * 3.5).rounded(.down) }
        for i in [5, 6, 40] where i < count { v[i] = .nan }
        if count > 17 { v[17] = -.infinity }
        return v
    }

    static let maxShapes: [Pool2dGeometry] = [
        try! Pool2dGeometry(batch: 2, height: 9, width: 8, channels: 3, kernel: (3, 3), stride: (2, 2), padding: (1, 1)),
        try! Pool2dGeometry(batch: 1, height: 7, width: 7, channels: 20, kernel: (2, 3), stride: (1, 2), padding: (1, 1),
                            dilation: (2, 1), ceilMode: true),
        try! Pool2dGeometry(batch: 2, height: 6, width: 9, channels: 2, kernel: (3, 3), stride: (2, 2), padding: (0, 1), ceilMode: true),
    ]

    // MARK: tests

    @Test func maxPoolMatchesReferenceBitForBit() {
        for (i, p) in Self.maxShapes.enumerated() {
            let x = Self.tieInput(p.batch * p.height * p.width * p.channels, seed: UInt64(i))
            let dy = seededFloats(p.batch * p.outHeight * p.outWidth * p.channels, seed: 50)
            let got = Self.maxPool(p, x: x, dy: dy, threads: 2), want = Self.referenceMaxPool(p, x: x, dy: dy)
            #expect(bits(got.y) == bits(want.y), "y \(i)")
            #expect(got.idx == want.idx, "indices \(i)")
            #expect(bits(got.dx) == bits(want.dx), "dx \(i)")
        }
    }

    /// Torch's ties (first), NaNs (last NaN), all −∞ windows, dilation and ceil mode, bit for bit.
    @Test func maxPoolMatchesPyTorch() throws {
        for (i, c) in try GradFixture.cases("maxpool2d").enumerated() {
            let p = try Self.geometry(c, dilation: true)
            let got = Self.maxPool(p, x: try c["x"].floats, dy: try c["dy"].floats, threads: 2)
            #expect(bits(got.y) == bits(try c["y"].floats), "case \(i) y")
            #expect(got.idx == (try c["indices"].array.map { try $0.int }), "case \(i) indices")
            #expect(bits(got.dx) == bits(try c["dx"].floats), "case \(i) dx")
        }
    }

    /// Windows with several NaNs of distinct payloads and signs: PyTorch's CPU kernel keeps the
    /// **last** NaN (and the first of tied maxima) with or without gradient, in either memory
    /// format; the training kernel and both inference kernels (NHWC and NCHW) copy the same input,
    /// bit for bit, and the training kernel reports torch's index.
    @Test func maxPoolNaNPayloadsMatchPyTorchInEveryPath() throws {
        for (i, c) in try GradFixture.cases("maxpool_nan").enumerated() {
            let (n, ch, h, w) = (try c["batch"].int, try c["channels"].int, try c["height"].int, try c["width"].int)
            let (k, s, pad) = (try c["kernel"].int, try c["stride"].int, try c["padding"].int)
            let x = try c["x"].floats, want = try c["y"].floats
            let p = try Pool2dGeometry(batch: n, height: h, width: w, channels: ch, kernel: (k, k), stride: (s, s), padding: (pad, pad))
            let training = Self.maxPool(p, x: x, dy: [Float](repeating: 0, count: want.count), threads: 2)
            #expect(bits(training.y) == bits(want), "case \(i): training kernel")
            #expect(training.idx == (try c["indices"].array.map { try $0.int }), "case \(i): indices")
            let nhwcInput = try Tensor(shape: [n, h, w, ch], scalars: x)
            let inferenceNHWC: [Float] = try nhwcInput.maxPool2dNHWC(kernel: k, stride: s, padding: pad).scalars()
            #expect(bits(inferenceNHWC) == bits(want), "case \(i): inference NHWC kernel")
            let inferenceNCHW = try nhwcInput.permuted([0, 3, 1, 2]).contiguous().maxPool2d(kernel: k, stride: s, padding: pad)
            let back: [Float] = try inferenceNCHW.permuted([0, 2, 3, 1]).contiguous().scalars()
            #expect(bits(back) == bits(want), "case \(i): inference NCHW kernel")
            // The fixture must hold windows where the first-NaN rule would give another payload.
            #expect(Set(want.filter(\.isNaN).map(\.bitPattern)).count > 3, "case \(i): distinct NaN payloads")
        }
    }

    @Test func maxPoolAgreesWithFiniteDifferences() {
        for (i, p) in Self.maxShapes.enumerated() {
            // Distinct values on a 2⁻²² grid: a step of 1e-8 never changes an argmax.
            let x = seededFloats(p.batch * p.height * p.width * p.channels, seed: UInt64(60 + i))
            let dy = seededFloats(p.batch * p.outHeight * p.outWidth * p.channels, seed: 61)
            let got = Self.maxPool(p, x: x, dy: dy, threads: 1)
            let loss: ([Double]) -> Double = { xd in
                let y = Self.referenceMaxPoolDouble(p, x: xd)
                return zip(y, dy).reduce(0) { $0 + $1.0 * Double($1.1) }
            }
            expectFiniteDifferences(loss, at: x, gradient: got.dx, indices: probeIndices(x.count, count: 40, seed: 3),
                                    step: 1e-8, tol: 1e-6, "max pool \(i)")
        }
    }

    /// Max pooling in Double (values only), for finite differences.
    static func referenceMaxPoolDouble(_ p: Pool2dGeometry, x: [Double]) -> [Double] {
        var y: [Double] = []
        for n in 0..<p.batch { for oy in 0..<p.outHeight { for ox in 0..<p.outWidth { for c in 0..<p.channels {
            var m = -Double.infinity
            for ky in 0..<p.kernelHeight { for kx in 0..<p.kernelWidth {
                let iy = oy * p.strideHeight - p.padHeight + ky * p.dilationHeight
                let ix = ox * p.strideWidth - p.padWidth + kx * p.dilationWidth
                guard iy >= 0, iy < p.height, ix >= 0, ix < p.width else { continue }
                m = max(m, x[nhwc(p, n, iy, ix, c, h: p.height, w: p.width)])
            }}
            y.append(m)
        }}}}
        return y
    }

    static let avgConfigs: [(Pool2dGeometry, Bool, Int?)] = [
        (try! Pool2dGeometry(batch: 2, height: 9, width: 8, channels: 3, kernel: (3, 3), stride: (2, 2), padding: (1, 1)), true, nil),
        (try! Pool2dGeometry(batch: 2, height: 9, width: 8, channels: 19, kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true), false, nil),
        (try! Pool2dGeometry(batch: 1, height: 6, width: 6, channels: 4, kernel: (3, 2), stride: (1, 2), padding: (0, 1)), true, 5),
    ]

    @Test func avgPoolMatchesReferenceAndFiniteDifferences() {
        for (i, (p, include, divisor)) in Self.avgConfigs.enumerated() {
            let x = seededFloats(p.batch * p.height * p.width * p.channels, seed: UInt64(70 + i))
            let dy = seededFloats(p.batch * p.outHeight * p.outWidth * p.channels, seed: 71)
            let got = Self.avgPool(p, x: x, dy: dy, include: include, divisor: divisor, threads: 2)
            let want = Self.referenceAvgPool(p, x: x, dy: dy, include: include, divisor: divisor)
            #expect(bits(got.y) == bits(want.y), "y \(i)")
            #expect(bits(got.dx) == bits(want.dx), "dx \(i)")
            // Σ dy·y is linear in x: central differences in Double are exact up to rounding.
            let yd = Self.avgPoolDouble(p, x: x.map(Double.init), include: include, divisor: divisor)
            expectFiniteDifferences({ xd in zip(Self.avgPoolDouble(p, x: xd, include: include, divisor: divisor), dy)
                                        .reduce(0) { $0 + $1.0 * Double($1.1) } },
                                    at: x, gradient: got.dx, indices: probeIndices(x.count, count: 30, seed: 4), tol: 1e-6, "avg \(i)")
            #expect(relativeToMax(got.y, yd.map { Float($0) }) <= 1e-6, "y vs Double \(i)")
        }
    }

    /// Average pooling in Double with the same windows (taps and divisors from PyTorch's rule).
    static func avgPoolDouble(_ p: Pool2dGeometry, x: [Double], include: Bool, divisor: Int?) -> [Double] {
        var y: [Double] = []
        for n in 0..<p.batch { for oy in 0..<p.outHeight { for ox in 0..<p.outWidth { for c in 0..<p.channels {
            guard let win = Pooling.averageDivisor(p, oy: oy, ox: ox, countIncludePad: include, divisorOverride: divisor) else {
                y.append(0); continue
            }
            var s = 0.0
            for iy in win.rows { for ix in win.cols { s += x[nhwc(p, n, iy, ix, c, h: p.height, w: p.width)] } }
            y.append(s / Double(win.divisor))
        }}}}
        return y
    }

    /// Bit for bit: PyTorch sums each window in the same order and divides the same way.
    @Test func avgPoolMatchesPyTorch() throws {
        for (i, c) in try GradFixture.cases("avgpool2d").enumerated() {
            let p = try Self.geometry(c, dilation: false)
            let divisor = try c["divisorOverride"].isNull ? nil : try c["divisorOverride"].int
            let got = Self.avgPool(p, x: try c["x"].floats, dy: try c["dy"].floats, include: try c["countIncludePad"].bool,
                                   divisor: divisor, threads: 2)
            #expect(bits(got.y) == bits(try c["y"].floats), "case \(i) y")
            #expect(bits(got.dx) == bits(try c["dx"].floats), "case \(i) dx")
        }
    }

    /// Bit for bit, except the forward of a 1 × 1 output, which PyTorch computes as `mean` (its own
    /// summation order): there 1e-6 relative to the largest magnitude (float32 sums of ≤ 100 terms).
    @Test func adaptiveAvgPoolMatchesPyTorch() throws {
        var sawGlobal = false
        for (i, c) in try GradFixture.cases("adaptiveavgpool2d").enumerated() {
            let r = try Self.resize(c)
            let got = Self.adaptive(r, x: try c["x"].floats, dy: try c["dy"].floats, threads: 2)
            if r.oh == 1 && r.ow == 1 {
                sawGlobal = true
                #expect(relativeToMax(got.y, try c["y"].floats) <= 1e-6, "case \(i) y")
            } else {
                #expect(bits(got.y) == bits(try c["y"].floats), "case \(i) y")
            }
            #expect(bits(got.dx) == bits(try c["dx"].floats), "case \(i) dx")
        }
        #expect(sawGlobal, "the fixtures must cover a 1 × 1 output")
    }

    @Test func nearestMatchesPyTorch() throws {
        for (i, c) in try GradFixture.cases("nearest").enumerated() {
            let r = try Self.resize(c)
            let got = Self.nearest(r, x: try c["x"].floats, dy: try c["dy"].floats, threads: 2)
            #expect(bits(got.y) == bits(try c["y"].floats), "case \(i) y")
            #expect(bits(got.dx) == bits(try c["dx"].floats), "case \(i) dx")
        }
    }

    /// Adaptive pooling and the nearest upsample are linear: the backward is the adjoint of the
    /// forward, checked by finite differences of `Σ dy·forward(x)` in Double (1e-6 covers float32 rounding).
    @Test func adaptiveAndNearestAgreeWithFiniteDifferences() {
        for (i, r) in [Resize(n: 2, c: 3, h: 7, w: 5, oh: 3, ow: 2), Resize(n: 1, c: 2, h: 13, w: 17, oh: 25, ow: 34),
                       Resize(n: 1, c: 3, h: 3, w: 4, oh: 5, ow: 7)].enumerated() {
            let x = seededFloats(r.n * r.h * r.w * r.c, seed: UInt64(80 + i))
            let dy = seededFloats(r.n * r.oh * r.ow * r.c, seed: 81)
            let a = Self.adaptive(r, x: x, dy: dy, threads: 1), u = Self.nearest(r, x: x, dy: dy, threads: 1)
            let adaptiveLoss: ([Double]) -> Double = { xd in
                var total = 0.0
                for n in 0..<r.n { for oy in 0..<r.oh { for ox in 0..<r.ow { for c in 0..<r.c {
                    let rows = Pooling.adaptiveWindow(oy, input: r.h, output: r.oh), cols = Pooling.adaptiveWindow(ox, input: r.w, output: r.ow)
                    var s = 0.0
                    for iy in rows { for ix in cols { s += xd[((n * r.h + iy) * r.w + ix) * r.c + c] } }
                    total += s / Double(rows.count * cols.count) * Double(dy[((n * r.oh + oy) * r.ow + ox) * r.c + c])
                }}}}
                return total
            }
            let nearestLoss: ([Double]) -> Double = { xd in
                var total = 0.0
                for n in 0..<r.n { for oy in 0..<r.oh { for ox in 0..<r.ow { for c in 0..<r.c {
                    let iy = Resampling.nearestIndex(oy, input: r.h, output: r.oh), ix = Resampling.nearestIndex(ox, input: r.w, output: r.ow)
                    total += xd[((n * r.h + iy) * r.w + ix) * r.c + c] * Double(dy[((n * r.oh + oy) * r.ow + ox) * r.c + c])
                }}}}
                return total
            }
            let probes = probeIndices(x.count, count: 30, seed: 5)
            expectFiniteDifferences(adaptiveLoss, at: x, gradient: a.dx, indices: probes, tol: 1e-6, "adaptive \(i)")
            expectFiniteDifferences(nearestLoss, at: x, gradient: u.dx, indices: probes, tol: 1e-6, "nearest \(i)")
        }
    }

    /// Threads 1/2/3 on shapes with many chunks (samples × channel blocks, output rows); the pool proves they ran.
    @Test func invariantToThreads() throws {
        let p = try Pool2dGeometry(batch: 2, height: 15, width: 14, channels: 40, kernel: (3, 3), stride: (2, 2), padding: (1, 1),
                                   ceilMode: true)
        let x = Self.tieInput(p.batch * p.height * p.width * p.channels, seed: 90)
        let dy = seededFloats(p.batch * p.outHeight * p.outWidth * p.channels, seed: 91)
        let r = Resize(n: 2, c: 24, h: 9, w: 11, oh: 17, ow: 22)
        let rx = seededFloats(r.n * r.h * r.w * r.c, seed: 92), rdy = seededFloats(r.n * r.oh * r.ow * r.c, seed: 93)
        let ax = Array(rx.prefix(r.n * r.h * r.w * r.c))
        let ar = Resize(n: 2, c: 24, h: 9, w: 11, oh: 4, ow: 3)
        let ady = seededFloats(ar.n * ar.oh * ar.ow * ar.c, seed: 94)
        func all(_ t: Int) -> [[UInt32]] {
            let m = Self.maxPool(p, x: x, dy: dy, threads: t)
            let a = Self.avgPool(p, x: x.map { $0.isNaN ? 0 : max($0, -5) }, dy: dy, include: false, divisor: nil, threads: t)
            let u = Self.nearest(r, x: rx, dy: rdy, threads: t)
            let ad = Self.adaptive(ar, x: ax, dy: ady, threads: t)
            return [bits(m.y), m.idx.map { UInt32($0) }, bits(m.dx), bits(a.y), bits(a.dx), bits(u.y), bits(u.dx), bits(ad.y), bits(ad.dx)]
        }
        let one = try onOwnPool(threads: 1) { all(1) }
        for t in [2, 3] { #expect(try onOwnPool(threads: t) { all(t) } == one, "threads \(t)") }
    }

    /// Sample i's outputs, indices and input gradients are the same alone as in a batch of 3.
    @Test func invariantToBatchComposition() throws {
        let p = try Pool2dGeometry(batch: 3, height: 9, width: 10, channels: 20, kernel: (3, 3), stride: (2, 2), padding: (1, 1),
                                   ceilMode: true)
        let one = try Pool2dGeometry(batch: 1, height: 9, width: 10, channels: 20, kernel: (3, 3), stride: (2, 2),
                                     padding: (1, 1), ceilMode: true)
        let xs = p.height * p.width * p.channels, ys = p.outHeight * p.outWidth * p.channels
        let x = Self.tieInput(3 * xs, seed: 95), dy = seededFloats(3 * ys, seed: 96)
        let whole = Self.maxPool(p, x: x, dy: dy, threads: 2)
        let wholeAvg = Self.avgPool(p, x: x.map { $0.isNaN ? 0 : max($0, -5) }, dy: dy, include: true, divisor: nil, threads: 2)
        let r = Resize(n: 3, c: 20, h: 9, w: 10, oh: 4, ow: 3), r1 = Resize(n: 1, c: 20, h: 9, w: 10, oh: 4, ow: 3)
        let ady = seededFloats(3 * r.oh * r.ow * r.c, seed: 97), a = r.oh * r.ow * r.c
        let wholeAdaptive = Self.adaptive(r, x: x.map { $0.isNaN ? 0 : max($0, -5) }, dy: ady, threads: 2)
        for n in 0..<3 {
            let xn = Array(x[n * xs..<(n + 1) * xs]), dyn = Array(dy[n * ys..<(n + 1) * ys])
            let single = Self.maxPool(one, x: xn, dy: dyn, threads: 2)
            #expect(bits(single.y) == bits(Array(whole.y[n * ys..<(n + 1) * ys])), "max y \(n)")
            #expect(single.idx == Array(whole.idx[n * ys..<(n + 1) * ys]), "max indices \(n)")
            #expect(bits(single.dx) == bits(Array(whole.dx[n * xs..<(n + 1) * xs])), "max dx \(n)")
            let avg = Self.avgPool(one, x: xn.map { $0.isNaN ? 0 : max($0, -5) }, dy: dyn, include: true, divisor: nil, threads: 2)
            #expect(bits(avg.dx) == bits(Array(wholeAvg.dx[n * xs..<(n + 1) * xs])), "avg dx \(n)")
            let ad = Self.adaptive(r1, x: xn.map { $0.isNaN ? 0 : max($0, -5) }, dy: Array(ady[n * a..<(n + 1) * a]), threads: 2)
            #expect(bits(ad.dx) == bits(Array(wholeAdaptive.dx[n * xs..<(n + 1) * xs])), "adaptive dx \(n)")
        }
    }

    @Test func rejectsBadGeometry() {
        #expect(throws: TensorError.self) {
            try Pool2dGeometry(batch: 1, height: 4, width: 4, channels: 1, kernel: (2, 2), stride: (2, 2), padding: (2, 0))
        }
        #expect(throws: TensorError.self) {
            try Pool2dGeometry(batch: 1, height: 2, width: 2, channels: 1, kernel: (5, 5), stride: (1, 1))
        }
        #expect(throws: TensorError.self) {
            try Pool2dGeometry(batch: 1, height: 4, width: 4, channels: 1, kernel: (2, 2), stride: (0, 1))
        }
    }
}
