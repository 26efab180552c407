/// The convolution's weight and bias gradients reduced over samples inside the kernel
/// (``GEMM/sampleTreeMultiply(m:n:depth:samples:firstSample:packSample:outputs:ldc:threads:chunkFloats:)``):
/// the canonical tree nodes come out with the bits of per-sample gradients
/// (``Conv2dBackward/withSampleWeightGradients(_:input:outputGradient:threads:_:)``) pushed
/// through ``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``, without writing
/// any per-sample gradient to memory.
extension Conv2dBackward {
    /// The weight-gradient tree nodes of samples `0..<g.batch` (global indices from `firstSample`):
    /// per group one sample-tree product of `dyₙᵀ` (`O/groups × OH·OW`) by `im2col(xₙ)`
    /// (`OH·OW × C/groups·KH·KW`), the per-sample operands packed once each (for several groups,
    /// `im2col(xₙ)` is rebuilt per group); by ``Conv2dBackward/WeightGradientPath/winograd`` where the
    /// shape's rule (or `path`) says so.
    static func weightGradientTree(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        firstSample: Int, threads: Int, path: WeightGradientPath? = nil
    ) -> SampleTreeSum {
        if (path ?? weightGradientPath(g)) == .winograd {
            precondition(g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == (1, 1) && g.dilation == (1, 1) && g.groups == 1,
                         "Winograd weight gradient: 3×3, stride 1, dilation 1, one group")
            // The samples' dWₙ in tap-major order [O, 3·3, C] (contiguous stores); the final nodes are
            // permuted to OIHW (pure copies: the tree adds are element-wise, so the bits are those of OIHW).
            let count = weightCount(g)
            let oihw = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            defer { oihw.deallocate() }
            return withWinogradSampleWeightGradients(g, input: x, outputGradient: dy, threads: threads, tapMajor: true) { produce in
                SampleGradients.accumulate(count: count, firstSample: firstSample, samples: g.batch, threads: threads, produce) { node in
                    permuteTapMajorToOIHW(g, UnsafePointer(node), into: oihw, threads: threads)
                    return UnsafePointer(oihw)
                }
            }
        }
        if g.groups == 1 { return tapMajorWeightGradientTree(g, input: x, outputGradient: dy, firstSample: firstSample, threads: threads) }
        let plane = g.outHeight * g.outWidth, oc = g.outChannels, width = tapWidth(g)
        let icg = g.groupInChannels, ocg = g.groupOutChannels, kk = g.kernelHeight * g.kernelWidth
        let count = weightCount(g)
        let plan = SampleTreePlan(firstSample: firstSample, samples: g.batch)
        let nodes = plan.nodes.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1)) }
        defer { for p in nodes { p.deallocate() } }
        withWeightGradientWorkspace(g) { cols in
            for grp in 0..<g.groups {
                GEMM.sampleTreeMultiply(
                    m: ocg, n: icg * kk, depth: plane, samples: g.batch, firstSample: firstSample,
                    packSample: { n, packedA, packedB in
                        im2col(g, sample: x + n * g.height * g.width * g.inChannels, into: cols, threads: threads)
                        GEMM.packSampleOperands(a: .init(dy + n * plane * oc + grp * ocg, rowStride: 1, colStride: oc),
                                                b: .init(cols + grp * icg * kk, rowStride: width),
                                                m: ocg, n: icg * kk, depth: plane, intoA: packedA, intoB: packedB, threads: threads)
                    },
                    outputs: nodes.map { $0 + grp * ocg * icg * kk }, ldc: icg * kk, threads: threads)
            }
        }
        return plan.sum(count: count, threads: threads) { UnsafePointer(nodes[$0]) }
    }

    /// ``weightGradientTree(_:input:outputGradient:firstSample:threads:)`` for one group, with an
    /// implicit im2col: the product runs over the tap-major columns `(ky, kx, c)` — B's row `p` is
    /// the sample's input pixels under output pixel `p`, tap after tap — packed straight from `xₙ`
    /// (``packTapMajorColumns(_:sample:depth:panels:into:)``, or row by row with
    /// ``packTapMajorRows(_:sample:depth:panels:into:)`` when `C` is not a multiple of 16, as the
    /// 3-channel stem; no im2col matrix), and the nodes come out in OIHW order: the permutation is
    /// folded into the product's final write (``GEMM/ColumnPermutation``), except for 1×1 kernels
    /// (tap-major is OIHW) and on the product's short path (small planes, ResNet's layer4), whose
    /// tile-by-tile scattered writes over a large output cost more than one permute pass after it.
    /// A column permutation moves whole output elements (each one FMA chain over the same depth,
    /// the same segments: ``GEMM/isSegmented(m:n:k:)`` sees the same `m, n, k`), so the nodes have
    /// the bits of the OIHW-ordered product.
    static func tapMajorWeightGradientTree(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        firstSample: Int, threads: Int
    ) -> SampleTreeSum {
        let plane = g.outHeight * g.outWidth, oc = g.outChannels, width = tapWidth(g), c = g.inChannels
        let kk = g.kernelHeight * g.kernelWidth, count = weightCount(g), sampleFloats = g.height * g.width * c
        let plan = SampleTreePlan(firstSample: firstSample, samples: g.batch)
        let identity = kk == 1 || c == 1
        let permuteAfter = !identity && GEMM.sampleTreeIsShort(m: oc, n: width, depth: plane, samples: g.batch)
        let nodes = plan.nodes.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1)) }
        let tapMajor = permuteAfter ? plan.nodes.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1)) } : nodes
        defer { for p in nodes { p.deallocate() }; if permuteAfter { for p in tapMajor { p.deallocate() } } }
        let mPanels = (oc + GEMM.mr - 1) / GEMM.mr, nPanels = (width + GEMM.nr - 1) / GEMM.nr
        let (packers, units) = GEMM.samplePackingTeam(mPanels: mPanels, nPanels: nPanels, depth: plane, threads: threads)
        GEMM.sampleTreeMultiply(
            m: oc, n: width, depth: plane, samples: g.batch, firstSample: firstSample,
            packSample: { n, packedA, packedB in
                let a = GEMM.Operand(dy + n * plane * oc, rowStride: 1, colStride: oc), xs = x + n * sampleFloats
                ThreadPool.current.forEachClaimedChunk(units, threads: packers) { u, _ in
                    GEMM.packABlocked(a, m: oc, depth: 0..<plane, panels: (u * mPanels / units)..<((u + 1) * mPanels / units),
                                      origin: 0, layoutPanels: mPanels, into: packedA)
                    let panels = (u * nPanels / units)..<((u + 1) * nPanels / units)
                    GEMM.inKCBlocks(depth: 0..<plane, panels: panels, origin: 0, layoutPanels: nPanels, width: 16, into: packedB) {
                        if c % 16 == 0 {
                            packTapMajorColumns(g, sample: xs, depth: $0, panels: panels, into: $1)
                        } else {
                            packTapMajorRows(g, sample: xs, depth: $0, panels: panels, into: $1)
                        }
                    }
                }
            },
            outputs: tapMajor, ldc: width,
            columns: identity || permuteAfter ? nil : GEMM.ColumnPermutation(taps: kk, channels: c), threads: threads)
        // Short path: [O, (ky, kx), C] → [O, C, (ky, kx)] after the product, pure copies.
        for (src, dst) in zip(tapMajor, nodes) where permuteAfter {
            permuteTapMajorToOIHW(g, UnsafePointer(src), into: dst, threads: threads)
        }
        return plan.sum(count: count, threads: threads) { UnsafePointer(nodes[$0]) }
    }

    /// A one-group weight gradient `[O, (ky, kx), C]` (tap-major) rewritten as OIHW `[O, C, (ky, kx)]`:
    /// pure copies, threads take output channels.
    static func permuteTapMajorToOIHW(_ g: ConvGeometry, _ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                                      threads: Int) {
        let c = g.inChannels, kk = g.kernelHeight * g.kernelWidth, width = kk * c
        ThreadPool.current.forEachChunk(g.outChannels, threads: threads) { o in
            let s = src + o * width, d = dst + o * width
            for t in 0..<kk { for ch in 0..<c { d[ch * kk + t] = s[t * c + ch] } }
        }
    }

    /// ``packTapMajorColumns(_:sample:depth:panels:into:)`` (the same floats in the same places)
    /// walking the destination row by row: per output pixel, each tap's bounds are checked once and
    /// its `C` channels copied, so short channel runs (the stem's 3 channels per tap) are packed in
    /// one pass over the panels instead of one pass per lane. A pixel whose taps (those of these
    /// panels) all fall inside the image — most of them — skips the checks: each column is one
    /// load at a precomputed offset from the pixel.
    static func packTapMajorRows(_ g: ConvGeometry, sample x: UnsafePointer<Float>, depth: Range<Int>, panels: Range<Int>,
                                 into dst: UnsafeMutablePointer<Float>) {
        let c = g.inChannels, kw = g.kernelWidth, n = tapWidth(g), ow = g.outWidth, rows = depth.count
        guard !panels.isEmpty && rows > 0 else { return }
        let j0 = panels.lowerBound * 16, j1 = panels.upperBound * 16, jEnd = min(j1, n)
        let firstTap = j0 / c, lastTap = (jEnd + c - 1) / c
        // Lanes past the last column are zero.
        if j1 > n {
            let d = dst + (panels.count - 1) * 16 * rows
            for p in 0..<rows { for l in (n - (j1 - 16))..<16 { d[p * 16 + l] = 0 } }
        }
        let taps = max(firstTap, lastTap) - firstTap, columns = max(0, jEnd - j0)
        withUnsafeTemporaryAllocation(of: (y: Int, x: Int).self, capacity: max(taps, 1)) { offsets in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: max(columns, 1)) { relative in
            var reach = (top: 0, bottom: 0, left: 0, right: 0)
            for i in 0..<taps {
                let t = firstTap + i
                offsets[i] = ((t / kw) * g.dilation.h - g.padding.h, (t % kw) * g.dilation.w - g.padding.w)
                if i == 0 { reach = (offsets[i].y, offsets[i].y, offsets[i].x, offsets[i].x) }
                reach = (min(reach.top, offsets[i].y), max(reach.bottom, offsets[i].y),
                         min(reach.left, offsets[i].x), max(reach.right, offsets[i].x))
            }
            // Column j's source, relative to the pixel (y0, x0): its tap's offset and its channel.
            for k in 0..<columns {
                let j = j0 + k, o = offsets[j / c - firstTap]
                relative[k] = (o.y * g.width + o.x) * c + j % c
            }
            var oy = depth.lowerBound / ow, ox = depth.lowerBound % ow
            for p in 0..<rows {
                let y0 = oy * g.stride.h, x0 = ox * g.stride.w
                if y0 + reach.top >= 0 && y0 + reach.bottom < g.height && x0 + reach.left >= 0 && x0 + reach.right < g.width {
                    // Every tap of these columns inside the image: one copy per column, panel by panel.
                    let origin = (y0 * g.width + x0) * c
                    var k = 0, d = dst + p * 16
                    while k < columns {
                        for l in 0..<min(16, columns - k) { d[l] = x[origin + relative[k + l]] }
                        k += 16
                        d += 16 * rows
                    }
                    ox += 1
                    if ox == ow { ox = 0; oy += 1 }
                    continue
                }
                for i in 0..<taps {
                    let t = firstTap + i, iy = y0 + offsets[i].y, ix = x0 + offsets[i].x
                    let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                    let src = x + (inside ? (iy * g.width + ix) * c : 0)
                    for ch in max(0, j0 - t * c)..<min(c, jEnd - t * c) {
                        let j = t * c + ch - j0
                        dst[(j >> 4) * 16 * rows + p * 16 + (j & 15)] = inside ? src[ch] : 0
                    }
                }
                ox += 1
                if ox == ow { ox = 0; oy += 1 }
            }
        }
        }
    }

    /// Packs 16-column panels `panels` of sample `x`'s (`[H, W, C]`) tap-major im2col matrix over
    /// output pixels `depth` — row `p` (pixel `(oy, ox)` in raster order), column `(ky·KW + kx)·C + c`
    /// holds `x[oy·sh + ky·dh − ph, ox·sw + kx·dw − pw, c]`, `0` outside the image and past the last
    /// column — in ``GEMM/packB(_:n:depth:panels:into:)``'s layout (a pure copy). When `C` is a
    /// multiple of 16, a panel is 16 consecutive channels of one tap: one vector per pixel.
    static func packTapMajorColumns(_ g: ConvGeometry, sample x: UnsafePointer<Float>, depth: Range<Int>, panels: Range<Int>,
                                    into dst: UnsafeMutablePointer<Float>) {
        typealias V = SIMD16<Float>
        let c = g.inChannels, kw = g.kernelWidth, n = tapWidth(g), ow = g.outWidth, rows = depth.count
        /// `body(p, offset)` for each pixel of `depth` with the input offset of tap `t` (−1 outside).
        @inline(__always) func forEachPixel(tap t: Int, _ body: (Int, Int) -> Void) {
            let offY = (t / kw) * g.dilation.h - g.padding.h, offX = (t % kw) * g.dilation.w - g.padding.w
            var oy = depth.lowerBound / ow, ox = depth.lowerBound % ow
            for p in 0..<rows {
                let iy = oy * g.stride.h + offY, ix = ox * g.stride.w + offX
                body(p, iy >= 0 && iy < g.height && ix >= 0 && ix < g.width ? (iy * g.width + ix) * c : -1)
                ox += 1
                if ox == ow { ox = 0; oy += 1 }
            }
        }
        for jp in panels {
            let d = dst + (jp - panels.lowerBound) * 16 * rows, j0 = jp * 16
            if c % 16 == 0 {
                let c0 = j0 % c
                forEachPixel(tap: j0 / c) { p, at in
                    let v = at < 0 ? V() : UnsafeRawPointer(x + at + c0).loadUnaligned(as: V.self)
                    UnsafeMutableRawPointer(d + p * 16).storeBytes(of: v, as: V.self)
                }
                continue
            }
            for l in 0..<16 {
                let j = j0 + l
                guard j < n else { for p in 0..<rows { d[p * 16 + l] = 0 }; continue }
                let ch = j % c
                forEachPixel(tap: j / c) { p, at in d[p * 16 + l] = at < 0 ? 0 : x[at + ch] }
            }
        }
    }

    /// The bias-gradient tree nodes of samples `0..<g.batch` (global indices from `firstSample`):
    /// each sample's raster-order sum from zero (as ``biasGradients(_:outputGradient:into:threads:)``)
    /// written straight into its stack slot and merged there; threads take blocks of 16 channels.
    static func biasGradientTree(
        _ g: ConvGeometry, outputGradient dy: UnsafePointer<Float>, firstSample: Int, threads: Int
    ) -> SampleTreeSum {
        let plane = g.outHeight * g.outWidth, oc = g.outChannels, blocks = (oc + 15) / 16
        let plan = SampleTreePlan(firstSample: firstSample, samples: g.batch)
        let slots = UnsafeMutablePointer<Float>.allocate(capacity: max(plan.slotCount * oc, 1))
        defer { slots.deallocate() }
        ThreadPool.current.forEachChunk(blocks, threads: threads) { block in
            let c0 = block * 16, c1 = min(c0 + 16, oc)
            for (n, step) in plan.steps.enumerated() {
                let d = slots + step.slot * oc
                for o in c0..<c1 { d[o] = 0 }
                for p in 0..<plane {
                    let s = dy + (n * plane + p) * oc
                    for o in c0..<c1 { d[o] = d[o] + s[o] }
                }
                for q in 0..<step.merges {
                    let right = slots + (step.slot - q) * oc, left = right - oc
                    for o in c0..<c1 { left[o] = left[o] + right[o] }
                }
            }
        }
        return plan.sum(count: oc, threads: threads) { UnsafePointer(slots + $0 * oc) }
    }

    /// The benchmarks' yardstick: the weight gradient of the whole batch as one batched GEMM
    /// (`im2col` of every sample into `cols`, `N·OH·OW·C·KH·KW` floats, then
    /// `dyᵀ · cols` with K = N·OH·OW; one group only). Its sum order depends on the batch, so it
    /// is not the canonical gradient; it is what a sample-blind framework computes.
    @_spi(Kernels) public static func batchedWeightGradient(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        columns cols: UnsafeMutablePointer<Float>, into dw: UnsafeMutablePointer<Float>, threads: Int
    ) {
        precondition(g.groups == 1, "batchedWeightGradient: one group")
        let plane = g.outHeight * g.outWidth, width = tapWidth(g), one = g.withBatch(1)
        for n in 0..<g.batch {
            im2col(one, sample: x + n * g.height * g.width * g.inChannels, into: cols + n * plane * width, threads: threads)
        }
        GEMM.multiply(m: g.outChannels, n: width, k: g.batch * plane, a: .init(dy, rowStride: 1, colStride: g.outChannels),
                      b: .init(cols, rowStride: width), c: dw, ldc: width, threads: threads)
    }

    /// The weight-gradient tree nodes computed the unfused way: each sample's `dWₙ` written out by
    /// ``withSampleWeightGradients(_:input:outputGradient:threads:_:)``, then the tree adds of
    /// ``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``. The same bits as
    /// ``weightGradientSum(_:input:outputGradient:firstSample:threads:)``; kept as its reference
    /// and for the benchmarks.
    @_spi(Kernels) public static func unfusedWeightGradientSum(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        firstSample: Int, threads: Int
    ) -> SampleTreeSum {
        withSampleWeightGradients(g, input: x, outputGradient: dy, threads: threads) { produce in
            SampleGradients.accumulate(count: weightCount(g), firstSample: firstSample, samples: g.batch, threads: threads, produce)
        }
    }
}
