/// The weight gradient of 3×3 stride-1 convolutions by Winograd's F(2×2, 3×3) in its dual form.
///
/// For one sample, `dW[o, c, u, v] = Σ_(oy, ox) dy[oy, ox, o] · x[oy + u − ph, ox + v − pw, c]` is a
/// correlation of `x` with `dy` whose output is the 3×3 kernel. Cut the output pixels into 2×2
/// tiles `t` (row-major over `⌈OH/2⌉ × ⌈OW/2⌉`; `dy` reads zero past the image); tile `t`'s
/// contribution needs the 4×4 input patch under it (zero outside the image), and the identity of
/// F(2, 3) (`Σ_a Σ_u dy_a g_u d_(a+u) = Σ_ξ (A dy)_ξ (G g)_ξ (Bᵀ d)_ξ`) differentiated by the weights gives
///
///     dW[o, c] = Gᵀ · ( Σ_t (A dyₜ Aᵀ)[o] ⊙ (Bᵀ xₜ B)[c] ) · G
///
/// with `A = [[1, 0], [1, 1], [1, −1], [0, −1]]`, `Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0],
/// [0, 1, 0, −1]]` and `G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]`: 16 products per tile
/// and channel pair where the direct sum takes 36, all of them in 16 independent GEMMs (one per
/// frequency `ξ = (p, q)`) `M[ξ] = Ŷ[ξ] · X̂[ξ]` whose depth is the tile.
///
/// **The fixed order** (per sample; ``Conv2dBackward/WeightGradientPath/winograd``):
/// - `Ŷ[p, q][o, t]`: the rows of the 2×2 `dy` tile combined first (`r_p(a, b)`: `a`, `a + b`,
///   `a − b`, `−b` for `p = 0…3`, `a` the upper pixel), per column, then the two results combined by
///   the same rule over the columns (`r_q(left, right)`).
/// - `X̂[p, q][t, c]`: per column `s` of the 4×4 patch, the rows combined (`s_p(x₀, x₁, x₂, x₃)`:
///   `x₀ − x₂`, `x₁ + x₂`, `x₂ − x₁`, `x₁ − x₃`), then the four column results by the same rule.
/// - `M[ξ][o, c]`: one FMA chain from zero over the tiles in raster order.
/// - `dW`: per column `q`, the rows combined (`R₀ = M₀ + ½(M₁ + M₂)`, `R₁ = ½(M₁ − M₂)`,
///   `R₂ = ½(M₁ + M₂) + M₃`, the shared `M₁ + M₂` rounded once), then the same rule over the columns.
///
/// Each `dWₙ` so depends only on sample `n`, and the samples are reduced by the canonical tree
/// (``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``), so the gradient does not
/// depend on threads, batch composition or micro-batch split. Threads take frequencies (16 GEMMs,
/// each computed whole by one thread), then rows of the output: never a sum.
///
/// The operands are built straight into the GEMM's packed panels, one KC block of tiles at a time
/// (6-row panels of `Ŷ`, 16-column panels of `X̂`), each thread its own frequencies: nothing per
/// tile is written to memory but the panels. Against float64 the result is about twice the direct
/// chain's error (F(2×2, 3×3)'s transforms are exact but for halvings); F(4×4, 3×3) would save more
/// products at about ten times the error, which is why the gradient uses the smaller tile.
extension Conv2dBackward {
    /// How the per-sample weight gradient `dWₙ` of a geometry is computed — a rule on the shape alone.
    @_spi(Kernels) public enum WeightGradientPath: Sendable, Equatable {
        /// `dyₙᵀ · im2col(xₙ)` through ``GEMM``: one FMA chain from zero over the output pixels in
        /// raster order per element (or GEMM's fixed segments when ``GEMM/isSegmented(m:n:k:)``).
        case gemm
        /// Where the forward's shape rule picks Winograd (3×3, stride 1, dilation 1, one group, at
        /// least ``PreparedConv2d/winogradMinimumChannels`` channels each way) and the output plane
        /// has at least ``winogradWeightMinimumPlane`` pixels: F(2×2, 3×3) in its dual form, in the
        /// order documented on this extension — 2.25× fewer products.
        case winograd
    }

    /// The smallest output plane (`OH·OW`) whose weight gradient takes the Winograd path: below it
    /// (ResNet's 7×7 layer4) each sample's 16 frequency products are too shallow to beat one GEMM.
    @_spi(Kernels) public static let winogradWeightMinimumPlane = 196

    /// The ``WeightGradientPath`` of a geometry.
    @_spi(Kernels) public static func weightGradientPath(_ g: ConvGeometry) -> WeightGradientPath {
        let winograd = PreparedConv2d.defaultAlgorithm(
            weightShape: [g.outChannels, g.groupInChannels, g.kernelHeight, g.kernelWidth],
            stride: g.stride, dilation: g.dilation, groups: g.groups) == .winograd
        return winograd && g.outHeight * g.outWidth >= winogradWeightMinimumPlane ? .winograd : .gemm
    }

    /// The Winograd path's working memory: the 16 frequency products of one sample (tile layout,
    /// ``winogradProductFloats(_:)``) and, per participating thread, one KC block of packed panels.
    struct WinogradWeightLayout {
        let mPanels: Int, nPanels: Int, tiles: Int, tilesWide: Int
        let productFloats: Int, panelFloats: Int, rowFloats: Int, participants: Int

        init(_ g: ConvGeometry, threads: Int) {
            mPanels = (g.outChannels + GEMM.mr - 1) / GEMM.mr
            nPanels = (g.inChannels + GEMM.nr - 1) / GEMM.nr
            tilesWide = (g.outWidth + 1) / 2
            tiles = ((g.outHeight + 1) / 2) * tilesWide
            productFloats = 16 * mPanels * nPanels * 96
            rowFloats = max(mPanels * 6 + 2, nPanels * 16)
            panelFloats = (mPanels * 6 + nPanels * 16) * GEMM.kc + rowFloats
            participants = min(max(threads, 1), 16)
        }

        var totalFloats: Int { productFloats + participants * panelFloats }
    }

    /// Runs `body` with a producer of Winograd per-sample weight gradients (OIHW, or `[O, 3·3, C]`
    /// when `tapMajor`). Each sample borrows the pool's reused workspace for its own duration only,
    /// so `body` may run other workspace users between samples (the autograd tape computes the tree
    /// inside it) without forcing them onto fresh pages.
    static func withWinogradSampleWeightGradients<R>(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, threads: Int,
        tapMajor: Bool = false, _ body: ((Int, UnsafeMutablePointer<Float>) -> Void) -> R
    ) -> R {
        let layout = WinogradWeightLayout(g, threads: threads)
        return body { n, out in
            ThreadPool.current.withWorkspace(bytes: layout.totalFloats * 4) { raw in
                winogradSampleWeightGradient(g, layout: layout, x: x + n * g.height * g.width * g.inChannels,
                                             dy: dy + n * g.outHeight * g.outWidth * g.outChannels,
                                             out: out, ws: raw.bindMemory(to: Float.self, capacity: layout.totalFloats),
                                             threads: threads, tapMajor: tapMajor)
            }
        }
    }

    /// One sample's `dW` (OIHW) by the Winograd path: the 16 frequency products (threads claim
    /// frequencies as they go), then the output transform (threads take row panels of output channels).
    static func winogradSampleWeightGradient(
        _ g: ConvGeometry, layout: WinogradWeightLayout, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, ws: UnsafeMutablePointer<Float>, threads: Int, tapMajor: Bool
    ) {
        let products = ws, wide = Runtime.usesAVX512
        let tileFloats = layout.mPanels * layout.nPanels * 96
        // Every frequency's products are computed whole by whoever claims it (the participant only
        // picks the packing scratch), so the split never changes a bit.
        ThreadPool.current.forEachClaimedChunk(16, threads: layout.participants) { xi, p in
            let panels = ws + layout.productFloats + p * layout.panelFloats
            let packedA = panels, packedB = panels + layout.mPanels * 6 * GEMM.kc
            let row = packedB + layout.nPanels * 16 * GEMM.kc
            let m = products + xi * tileFloats
            for t0 in stride(from: 0, to: layout.tiles, by: GEMM.kc) {
                let kcb = min(GEMM.kc, layout.tiles - t0)
                packWinogradOutputGradient(g, layout: layout, dy: dy, frequency: xi, tiles: t0..<(t0 + kcb), row: row, into: packedA)
                packWinogradInput(g, layout: layout, x: x, frequency: xi, tiles: t0..<(t0 + kcb), row: row, into: packedB)
                for jp in 0..<layout.nPanels {
                    let bp = UnsafePointer(packedB + jp * 16 * kcb)
                    for ip in 0..<layout.mPanels {
                        let tile = m + (jp * layout.mPanels + ip) * 96
                        GEMM.tile6x16(wide: wide, kcb, packedA + ip * 6 * kcb, bp, t0 == 0 ? nil : UnsafePointer(tile), 16,
                                      tile, 16, nil, 0)
                    }
                }
            }
        }
        winogradWeightOutputTransform(g, layout: layout, products: products, into: out, tapMajor: tapMajor, threads: threads)
    }

    /// `r_p(a, b)` of the 2-point side (`A`'s row `p`): `a`, `a + b`, `a − b`, `0 − b`.
    @inline(__always)
    static func combineTwo<V: WinogradLane>(_ p: Int, _ a: V, _ b: V) -> V {
        switch p {
        case 0: return a
        case 1: return a + b
        case 2: return a - b
        default: return .zero - b
        }
    }

    /// The two points `Bᵀ`'s row `p` reads (of `x₀ … x₃`).
    @inline(__always)
    static func fourPointTaps(_ p: Int) -> (Int, Int) { p == 0 ? (0, 2) : p == 3 ? (1, 3) : (1, 2) }

    /// `s_p` of the 4-point side (`Bᵀ`'s row `p`) from the two points it reads, `a` = `x_i`, `b` =
    /// `x_j` with `(i, j)` = ``fourPointTaps(_:)``: `x₀ − x₂`, `x₁ + x₂`, `x₂ − x₁`, `x₁ − x₃`.
    @inline(__always)
    static func combineFour<V: WinogradLane>(_ p: Int, _ a: V, _ b: V) -> V {
        switch p {
        case 1: return a + b
        case 2: return b - a
        default: return a - b
        }
    }

    /// Packs `Ŷ[ξ]` (`O × tiles`) over `tiles` as the GEMM's 6-row A panels (depth-major; rows past
    /// `O` zero): per tile the frequency's value for every output channel into `row`, then 6 at a time.
    static func packWinogradOutputGradient(
        _ g: ConvGeometry, layout: WinogradWeightLayout, dy: UnsafePointer<Float>, frequency xi: Int, tiles: Range<Int>,
        row: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD16<Float>
        let oc = g.outChannels, p = xi / 4, q = xi % 4, kcb = tiles.count
        for i in oc..<(layout.mPanels * 6 + 2) { row[i] = 0 }
        for t in tiles {
            let ty = t / layout.tilesWide, tx = t % layout.tilesWide
            let y0 = 2 * ty, x0 = 2 * tx
            let down = y0 + 1 < g.outHeight, right = x0 + 1 < g.outWidth
            let p00 = dy + (y0 * g.outWidth + x0) * oc
            let p01 = right ? p00 + oc : nil, p10 = down ? p00 + g.outWidth * oc : nil
            let p11 = right && down ? p00 + (g.outWidth + 1) * oc : nil
            @inline(__always) func load(_ ptr: UnsafePointer<Float>?, _ c: Int) -> V {
                guard let ptr else { return V() }
                return UnsafeRawPointer(ptr + c).loadUnaligned(as: V.self)
            }
            var c = 0
            while c + 16 <= oc {
                let v = combineTwo(q, combineTwo(p, load(p00, c), load(p10, c)), combineTwo(p, load(p01, c), load(p11, c)))
                UnsafeMutableRawPointer(row + c).storeBytes(of: v, as: V.self)
                c += 16
            }
            while c < oc {
                let a = combineTwo(p, p00[c], p10?[c] ?? 0), b = combineTwo(p, p01?[c] ?? 0, p11?[c] ?? 0)
                row[c] = combineTwo(q, a, b)
                c += 1
            }
            let d = dst + (t - tiles.lowerBound) * 6
            if t + 1 < tiles.upperBound {
                // 8-float stores: the 2 extra floats land in this panel's next depth step, which the
                // next tile writes afterwards.
                for ip in 0..<layout.mPanels {
                    let v = UnsafeRawPointer(row + ip * 6).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(d + ip * 6 * kcb).storeBytes(of: v, as: SIMD8<Float>.self)
                }
            } else {
                for ip in 0..<layout.mPanels {
                    let to = d + ip * 6 * kcb, from = row + ip * 6
                    for r in 0..<6 { to[r] = from[r] }
                }
            }
        }
    }

    /// Packs `X̂[ξ]` (`tiles × C`) over `tiles` as the GEMM's 16-column B panels (lanes past `C`
    /// zero): per tile the frequency's value for every input channel into `row`, then 16 at a time.
    /// Only the 2×2 patch pixels the frequency reads are loaded (zero outside the image).
    static func packWinogradInput(
        _ g: ConvGeometry, layout: WinogradWeightLayout, x: UnsafePointer<Float>, frequency xi: Int, tiles: Range<Int>,
        row: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD16<Float>
        let c = g.inChannels, p = xi / 4, q = xi % 4, kcb = tiles.count
        for i in c..<(layout.nPanels * 16) { row[i] = 0 }
        let rows = fourPointTaps(p), cols = fourPointTaps(q)
        for t in tiles {
            let ty = t / layout.tilesWide, tx = t % layout.tilesWide
            let iy0 = 2 * ty - g.padding.h, ix0 = 2 * tx - g.padding.w
            @inline(__always) func pixel(_ r: Int, _ s: Int) -> UnsafePointer<Float>? {
                let iy = iy0 + r, ix = ix0 + s
                return iy >= 0 && iy < g.height && ix >= 0 && ix < g.width ? x + (iy * g.width + ix) * c : nil
            }
            // a/b: the two rows read; 0/1: the two columns read.
            let a0 = pixel(rows.0, cols.0), b0 = pixel(rows.1, cols.0), a1 = pixel(rows.0, cols.1), b1 = pixel(rows.1, cols.1)
            @inline(__always) func load(_ ptr: UnsafePointer<Float>?, _ ch: Int) -> V {
                guard let ptr else { return V() }
                return UnsafeRawPointer(ptr + ch).loadUnaligned(as: V.self)
            }
            let d = dst + (t - tiles.lowerBound) * 16
            var ch = 0
            while ch + 16 <= c {
                let v = combineFour(q, combineFour(p, load(a0, ch), load(b0, ch)), combineFour(p, load(a1, ch), load(b1, ch)))
                // Whole panels go straight to their place; a partial last one through `row`.
                UnsafeMutableRawPointer(d + ch * kcb).storeBytes(of: v, as: V.self)
                ch += 16
            }
            guard ch < c else { continue }
            let last = ch
            while ch < c {
                let left = combineFour(p, a0?[ch] ?? 0, b0?[ch] ?? 0), right = combineFour(p, a1?[ch] ?? 0, b1?[ch] ?? 0)
                row[ch] = combineFour(q, left, right)
                ch += 1
            }
            UnsafeMutableRawPointer(d + last * kcb).storeBytes(of: UnsafeRawPointer(row + last).loadUnaligned(as: V.self), as: V.self)
        }
    }

    /// `dW[o, c] = Gᵀ M[·][o, c] G` from the 16 products (tile layout: frequency `ξ`'s element
    /// `(o, c)` at `ξ·tileFloats + ((c/16)·mPanels + o/6)·96 + (o%6)·16 + c%16`), written in OIHW
    /// order, or tap-major `[O, 3·3, C]` (vector stores) when `tapMajor`.
    static func winogradWeightOutputTransform(
        _ g: ConvGeometry, layout: WinogradWeightLayout, products: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
        tapMajor: Bool, threads: Int
    ) {
        typealias V = SIMD16<Float>
        let oc = g.outChannels, c = g.inChannels, tileFloats = layout.mPanels * layout.nPanels * 96
        let half = V(repeating: 0.5)
        ThreadPool.current.forEachChunk(layout.mPanels, threads: threads) { ip in
            for r in 0..<min(6, oc - ip * 6) {
                let o = ip * 6 + r
                for jp in 0..<layout.nPanels {
                    let base = products + (jp * layout.mPanels + ip) * 96 + r * 16
                    @inline(__always) func m(_ p: Int, _ q: Int) -> V {
                        UnsafeRawPointer(base + (p * 4 + q) * tileFloats).loadUnaligned(as: V.self)
                    }
                    // Rows: R[u][q] from M[·][q] (the shared M₁ + M₂ rounded once), then the same over q.
                    @inline(__always) func rowsOf(_ q: Int) -> (V, V, V) {
                        let m1 = m(1, q), m2 = m(2, q), sum = m1 + m2
                        return (m(0, q) + half * sum, half * (m1 - m2), half * sum + m(3, q))
                    }
                    let r0 = rowsOf(0), r1 = rowsOf(1), r2 = rowsOf(2), r3 = rowsOf(3)
                    @inline(__always) func columns(_ a: V, _ b: V, _ c: V, _ d: V) -> (V, V, V) {
                        let sum = b + c
                        return (a + half * sum, half * (b - c), half * sum + d)
                    }
                    let w0 = columns(r0.0, r1.0, r2.0, r3.0), w1 = columns(r0.1, r1.1, r2.1, r3.1)
                    let w2 = columns(r0.2, r1.2, r2.2, r3.2)
                    let lanes = min(16, c - jp * 16)
                    if tapMajor {
                        let d = out + o * 9 * c + jp * 16
                        @inline(__always) func put(_ k: Int, _ v: V) {
                            if lanes == 16 {
                                UnsafeMutableRawPointer(d + k * c).storeBytes(of: v, as: V.self)
                            } else {
                                for l in 0..<lanes { d[k * c + l] = v[l] }
                            }
                        }
                        put(0, w0.0); put(1, w0.1); put(2, w0.2)
                        put(3, w1.0); put(4, w1.1); put(5, w1.2)
                        put(6, w2.0); put(7, w2.1); put(8, w2.2)
                        continue
                    }
                    let d = out + (o * c + jp * 16) * 9
                    for l in 0..<lanes {
                        let e = d + l * 9
                        e[0] = w0.0[l]; e[1] = w0.1[l]; e[2] = w0.2[l]
                        e[3] = w1.0[l]; e[4] = w1.1[l]; e[5] = w1.2[l]
                        e[6] = w2.0[l]; e[7] = w2.1[l]; e[8] = w2.2[l]
                    }
                }
            }
        }
    }
}

/// What the weight gradient's transforms combine: one float or a vector of 16 (the same `+`, `−`
/// and zero, lane by lane).
protocol WinogradLane {
    static var zero: Self { get }
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
}

extension Float: WinogradLane {}
extension SIMD16: WinogradLane where Scalar == Float {}
