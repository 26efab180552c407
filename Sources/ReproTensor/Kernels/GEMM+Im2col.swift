/// Implicit-GEMM convolution: ``GEMM``'s blocked driver with an A operand that
/// is the convolution's im2col matrix, packed straight from the padded NHWC
/// input (the matrix itself is never written out).
///
/// Row `i` of A is output pixel `(n, oy, ox)` (row-major over the batch); column
/// `p` is tap `(ky, kx, ic)` in that order, so `p = (ky·KW + kx)·C + ic`. B is
/// the weights packed as ``Conv2dKernel/PackedWeights`` (16-channel blocks of
/// `[ky][kx][ic][16]`, which is exactly ``GEMM/PackedMatrix``'s panel layout for
/// one group). Every output is then one FMA chain over `(ky, kx, ic)` from zero,
/// followed by the epilogue: the same bits as ``Conv2dKernel``'s direct kernel
/// and its scalar reference.
extension GEMM {
    /// The im2col view of a zero-padded NHWC input.
    struct Im2col: @unchecked Sendable {
        /// `[N, H + 2·padH, W + 2·padW, C]`.
        let base: UnsafePointer<Float>
        let channels: Int, paddedHeight: Int, paddedWidth: Int
        let outHeight: Int, outWidth: Int
        let kernelWidth: Int
        let step: (h: Int, w: Int), dilation: (h: Int, w: Int)
        /// Rows of A (output pixels of the whole batch).
        let rows: Int

        init(_ g: ConvGeometry, paddedInput: UnsafePointer<Float>) {
            base = paddedInput
            channels = g.inChannels
            paddedHeight = g.height + 2 * g.padding.h
            paddedWidth = g.width + 2 * g.padding.w
            outHeight = g.outHeight
            outWidth = g.outWidth
            kernelWidth = g.kernelWidth
            step = g.stride
            dilation = g.dilation
            rows = g.batch * g.outHeight * g.outWidth
        }

        /// The first input element of output pixel `i` (tap (0, 0), channel 0).
        @inline(__always)
        func pixel(_ i: Int) -> UnsafePointer<Float> {
            let plane = outHeight * outWidth
            let n = i / plane, r = i % plane
            let oy = r / outWidth, ox = r % outWidth
            return base + ((n * paddedHeight + oy * step.h) * paddedWidth + ox * step.w) * channels
        }

        /// Packs 6-row panels `panels`, depths `depth`, in the layout of
        /// ``GEMM/packA(_:m:depth:panels:into:)`` (panel `i` at
        /// `dst + (i − panels.lowerBound)·6·depth.count`; zero rows past ``rows``).
        func pack(depth: Range<Int>, panels: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
            let c = channels, kw = depth.count
            for ip in panels {
                let d = dst + (ip - panels.lowerBound) * 6 * kw
                let valid = min(6, rows - ip * 6)
                // Six pixel pointers; missing rows read row 0 and are zeroed below.
                let s0 = pixel(ip * 6), s1 = valid > 1 ? pixel(ip * 6 + 1) : s0, s2 = valid > 2 ? pixel(ip * 6 + 2) : s0
                let s3 = valid > 3 ? pixel(ip * 6 + 3) : s0, s4 = valid > 4 ? pixel(ip * 6 + 4) : s0
                let s5 = valid > 5 ? pixel(ip * 6 + 5) : s0
                var p = depth.lowerBound
                var o = d
                while p < depth.upperBound {
                    // One tap's run of channels.
                    let tap = p / c, ic = p % c
                    let run = min(c - ic, depth.upperBound - p)
                    let ky = tap / kernelWidth, kx = tap % kernelWidth
                    let off = (ky * dilation.h * paddedWidth + kx * dilation.w) * c + ic
                    let q0 = s0 + off, q1 = s1 + off, q2 = s2 + off, q3 = s3 + off, q4 = s4 + off, q5 = s5 + off
                    for kk in 0..<run {
                        o[0] = q0[kk]; o[1] = q1[kk]; o[2] = q2[kk]
                        o[3] = q3[kk]; o[4] = q4[kk]; o[5] = q5[kk]
                        o += 6
                    }
                    p += run
                }
                if valid < 6 {
                    for kk in 0..<kw { for r in valid..<6 { d[kk * 6 + r] = 0 } }
                }
            }
        }

        /// ``pack(depth:panels:into:)`` in depth blocks of ``GEMM/kc``
        /// (``GEMM/inKCBlocks(depth:panels:origin:layoutPanels:width:into:_:)``).
        func packBlocked(depth: Range<Int>, panels: Range<Int>, origin: Int, layoutPanels: Int,
                         into dst: UnsafeMutablePointer<Float>) {
            GEMM.inKCBlocks(depth: depth, panels: panels, origin: origin, layoutPanels: layoutPanels, width: 6, into: dst) { block, at in
                pack(depth: block, panels: panels, into: at)
            }
        }
    }

    /// Convolves one group (`groups == 1`) as an implicit GEMM: `C[pixel, o]`
    /// (NHWC, leading dimension `ldc`) `= epilogue(Σ over (ky, kx, ic) in order)`.
    /// `packedWeights` holds `⌈outChannels/16⌉` panels of depth `kh·kw·C`. Never
    /// segmented: every output is one chain, as in the direct kernel.
    static func convolve(
        _ g: ConvGeometry, paddedInput: UnsafePointer<Float>, packedWeights: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue, threads: Int
    ) {
        let im = Im2col(g, paddedInput: paddedInput)
        let k = g.kernelHeight * g.kernelWidth * g.inChannels
        guard im.rows > 0 && g.outChannels > 0 else { return }
        // One super-block of B: the prepacked weights are read once per row block
        // (a few GB/s at most), while a smaller super-block would pack the
        // im2col rows again for each one.
        var d = Driver(m: im.rows, n: g.outChannels, k: k, a: Operand(paddedInput, rowStride: 0), b: .packed(packedWeights),
                       c: c, ldc: ldc, epilogue: epilogue, epilogueAxis: .columns, threads: threads, split: .rows,
                       sharedBlock: Int.max / 2)
        d.im2col = im
        d.run()
    }
}
