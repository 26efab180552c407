/// Group normalisation of channels-last data `[N, H·W, C]` with the **same**
/// statistics order as the NCHW kernel: for each (n, g) the group's
/// `C/G × H·W` values are first gathered into a scratch buffer in NCHW order
/// (channel-major), then summed with the fixed striped order of
/// ``GroupNormKernel`` — so mean, variance and every output bit equal the NCHW
/// result after permuting, at any thread count. The affine step
/// `y = x · scale_c + shift_c` (+ ReLU) then runs over pixels in place order.
///
/// The two passes are also available apart: ``affineNHWC(_:batch:spatial:channels:groups:gamma:beta:eps:scales:shifts:threads:)``
/// computes every (n, c)'s scale and shift, and the affine step can then be applied by
/// ``applyAffineNHWC(_:_:batch:spatial:channels:scales:shifts:relu:threads:)`` — or by the next
/// convolution while it copies its input (``WinogradKernel``'s padding), which spares one pass
/// over the activation and gives the same bits.
///
/// ```swift
/// GroupNormKernel.forwardNHWC(x, y, batch: 1, spatial: 100 * 136, channels: 256, groups: 32,
///                             gamma: g, beta: b, eps: 1e-5, relu: true, threads: 2)
/// ```
extension GroupNormKernel {
    /// Normalises NHWC `x` into `y` (may alias). `gamma`/`beta` hold one value per channel (or `nil` for 1 / 0).
    @_spi(Kernels) public static func forwardNHWC(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, channels: Int,
        groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float, relu: Bool, threads: Int
    ) {
        normalizeNHWC(x, y, batch: batch, spatial: spatial, channels: channels, groups: groups, gamma: gamma, beta: beta,
                      eps: eps, relu: relu, saving: nil, threads: threads)
    }

    /// The NHWC normalisation, optionally writing each (n, g)'s float32 mean and rstd to `saving` (`[N, G]`).
    static func normalizeNHWC(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, channels: Int,
        groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float, relu: Bool,
        saving: (mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>)?, threads: Int
    ) {
        // Per (n, c): scale and shift, computed from the group's statistics.
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: max(batch * channels, 1))
        let shifts = UnsafeMutablePointer<Float>.allocate(capacity: max(batch * channels, 1))
        defer { scales.deallocate(); shifts.deallocate() }
        groupStatistics(x, batch: batch, spatial: spatial, channels: channels, groups: groups, gamma: gamma, beta: beta,
                        eps: eps, scales: scales, shifts: shifts, saving: saving, threads: threads)
        applyAffineNHWC(x, y, batch: batch, spatial: spatial, channels: channels, scales: scales, shifts: shifts,
                        relu: relu, threads: threads)
    }

    /// The statistics pass alone: writes each (n, c)'s `scale = rstd · γ_c` and
    /// `shift = β_c − Float(mean) · scale` (`[N, C]` each) from the group's float64
    /// statistics, in the order described above. Applying `y = x · scale + shift`
    /// (+ ReLU) with these values gives ``forwardNHWC(_:_:batch:spatial:channels:groups:gamma:beta:eps:relu:threads:)``'s bits.
    @_spi(Kernels) public static func affineNHWC(
        _ x: UnsafePointer<Float>, batch: Int, spatial: Int, channels: Int, groups: Int,
        gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
        scales: UnsafeMutablePointer<Float>, shifts: UnsafeMutablePointer<Float>, threads: Int
    ) {
        groupStatistics(x, batch: batch, spatial: spatial, channels: channels, groups: groups, gamma: gamma, beta: beta,
                        eps: eps, scales: scales, shifts: shifts, saving: nil, threads: threads)
    }

    /// Threads claim bundles of consecutive groups of one image as they go; each thread gathers a bundle
    /// (one group, or a few at once) into its own part of the pool's reused workspace (a fresh buffer per group cost a page fault and the
    /// kernel's zeroing of every page). Which thread handles a group never changes its values.
    private static func groupStatistics(
        _ x: UnsafePointer<Float>, batch: Int, spatial: Int, channels: Int, groups: Int,
        gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
        scales: UnsafeMutablePointer<Float>, shifts: UnsafeMutablePointer<Float>,
        saving: (mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>)?, threads: Int
    ) {
        let cg = channels / groups
        let m = cg * spatial
        let units = batch * groups
        guard units > 0 else { return }
        // Up to `bundle` consecutive groups of one image are gathered in one sweep (a cache line holds
        // 16 channels: two groups of 8 share every line they read), group b at `scratch + b·m`. The
        // threads claim the bundles as they go; each participant has its own scratch.
        // Bundles shrink (to one group at least) until every thread has one.
        let bundle = max(1, min(gatherBundleChannels / max(cg, 1), groups, units / max(threads, 1)))
        let bundlesPerImage = (groups + bundle - 1) / bundle
        let parts = min(max(threads, 1), batch * bundlesPerImage)
        let perThread = (max(bundle * m, 1) + 15) / 16 * 16
        ThreadPool.current.withWorkspace(bytes: parts * perThread * 4) { raw in
            ThreadPool.current.forEachClaimedChunk(batch * bundlesPerImage, threads: parts) { unit, p in
                let scratch = (raw + p * perThread * 4).bindMemory(to: Float.self, capacity: perThread)
                let n = unit / bundlesPerImage, g0 = unit % bundlesPerImage * bundle
                let count = min(bundle, groups - g0)
                gatherGroup(x + n * spatial * channels + g0 * cg, spatial: spatial, channels: channels,
                            groupChannels: count * cg, into: scratch)
                for b in 0..<count {
                    let ng = n * groups + g0 + b, g = g0 + b, values = scratch + b * m
                    let mean = stripedSum(values, m, center: 0, square: false) / Double(m)
                    let variance = stripedSum(values, m, center: mean, square: true) / Double(m)
                    let rstd = Float(1 / (variance + Double(eps)).squareRoot())
                    let meanF = Float(mean)
                    if let saving {
                        saving.mean[ng] = meanF
                        saving.rstd[ng] = rstd
                    }
                    for cc in 0..<cg {
                        let c = g * cg + cc
                        let scale = rstd * (gamma?[c] ?? 1)
                        scales[n * channels + c] = scale
                        shifts[n * channels + c] = (beta?[c] ?? 0) - meanF * scale
                    }
                }
            }
        }
    }

    /// Channels gathered per sweep of ``groupStatistics`` (whole groups; at least one group): 32 channels
    /// are two 64-byte cache lines of every pixel.
    static let gatherBundleChannels = 32

    /// Pixels per block of ``gatherGroup(_:spatial:channels:groupChannels:into:)``: a block's source rows stay in
    /// L1 while each of the group's channels is written as one contiguous run.
    static let gatherBlock = 64

    /// Copies one group's `cg` channels of NHWC data (`src` points at the group's first channel of pixel 0)
    /// into `scratch` in NCHW order (`scratch[cc · spatial + s] = src[s · channels + cc]`). Blocks of
    /// ``gatherBlock`` pixels, channel by channel, so every store is sequential; a copy, so the values — and the
    /// statistics summed from them — do not depend on the blocking.
    @inline(__always)
    static func gatherGroup(_ src: UnsafePointer<Float>, spatial: Int, channels: Int, groupChannels cg: Int,
                            into scratch: UnsafeMutablePointer<Float>) {
        var s0 = 0
        while s0 < spatial {
            let s1 = min(s0 &+ gatherBlock, spatial)
            for cc in 0..<cg {
                let d = scratch + cc &* spatial
                var q = src + (s0 &* channels &+ cc)
                var s = s0
                while s < s1 {
                    d[s] = q.pointee
                    q += channels
                    s &+= 1
                }
            }
            s0 = s1
        }
    }

    /// The affine pass: `y = x · scale[n, c] + shift[n, c]` (two roundings), then negatives
    /// clamped to zero when `relu` (NaN and −0 pass). `y` may alias `x`.
    @_spi(Kernels) public static func applyAffineNHWC(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, channels: Int,
        scales: UnsafePointer<Float>, shifts: UnsafePointer<Float>, relu: Bool, threads: Int
    ) {
        let rowsPerChunk = max(1, 4096 / max(channels, 1))
        let chunksPerImage = (spatial + rowsPerChunk - 1) / rowsPerChunk
        ThreadPool.current.forEachChunk(batch * chunksPerImage, threads: threads) { chunk in
            let n = chunk / chunksPerImage, s0 = (chunk % chunksPerImage) * rowsPerChunk
            let s1 = min(s0 + rowsPerChunk, spatial)
            for s in s0..<s1 {
                let base = (n * spatial + s) * channels
                affineRow(x + base, y + base, count: channels, scale: scales + n * channels, shift: shifts + n * channels,
                          relu: relu)
            }
        }
    }

    /// `y[c] = x[c] · scale[c] + shift[c]` (+ ReLU) for `c < count`: the one statement of the affine
    /// step's arithmetic, shared by ``applyAffineNHWC(_:_:batch:spatial:channels:scales:shifts:relu:threads:)``
    /// and the convolution's fused padding. `y` may alias `x`.
    @inline(__always)
    static func affineRow(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, relu: Bool
    ) {
        typealias V = SIMD8<Float>
        var c = 0
        while c + 8 <= count {
            @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p + c).loadUnaligned(as: V.self) }
            var v = ld(x) * ld(scale) + ld(shift)
            if relu { v.replace(with: 0, where: v .< 0) }
            UnsafeMutableRawPointer(y + c).storeBytes(of: v, as: V.self)
            c += 8
        }
        while c < count {
            var v = x[c] * scale[c] + shift[c]
            if relu && v < 0 { v = 0 }
            y[c] = v
            c += 1
        }
    }
}
