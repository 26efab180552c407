@_spi(Kernels) import ReproTensor

/// The input transform (torchvision's `GeneralizedRCNNTransform` for one image): normalise, resize,
/// pad to the size divisor — producing the NHWC canvas the body reads, in parallel passes that write
/// every element once.
extension RetinaNet {
    /// One image after the transform.
    struct Transformed {
        /// The normalised, resized, unpadded image `[1, 3, h, w]` (NCHW); only built when asked for or
        /// when a resize needs it.
        var resized: Tensor?
        /// The zero-padded canvas `[1, Hp, Wp, 3]` (NHWC).
        var canvasNHWC: Tensor
        /// The resized size `(h, w)`.
        var height: Int, width: Int
    }

    /// Normalise (`(v − mean_c) / std_c`, float32) → resize (bilinear, torchvision's size arithmetic) →
    /// pad to the divisor with zeros, as NHWC.
    ///
    /// When the image already has its resized size (an 800×1067 photo at the default 800/1333 sizes)
    /// and `keepResized` is `false`, the normalisation is done while the canvas is written: one pass over
    /// the image instead of normalise, copy, zero-fill, pad and transpose. The values are the same
    /// float32 expressions either way, so the canvas has the same bits on every path and thread count.
    static func transform(_ input: Tensor, configuration c: RetinaNetConfiguration,
                          keepResized: Bool) throws(TensorError) -> Transformed {
        let H = input.shape[2], W = input.shape[3]
        let size = DetectionGeometry.resizedSize(height: H, width: W, minSize: c.minSize, maxSize: c.maxSize)
        let padded = DetectionGeometry.paddedSize(of: [(size.height, size.width)], divisor: c.sizeDivisor)
        let threads = Runtime.settings.threads
        let x = input.contiguous()
        let resizes = size.height != H || size.width != W
        var resized: Tensor?
        let source: Tensor
        if resizes || keepResized {
            let normalised = try Self.normalised(x, mean: c.imageMean, std: c.imageStd, threads: threads)
            resized = resizes ? try normalised.upsampled(toHeight: size.height, width: size.width, mode: .bilinear) : normalised
            source = resized ?? normalised
        } else {
            source = x
        }
        let normalizing = resized == nil ? (mean: c.imageMean, std: c.imageStd) : nil
        let canvas = try source.withUnsafeBufferPointer(as: Float.self) { (src) throws(TensorError) -> Tensor in
            try Tensor(unsafeUninitializedShape: [1, padded.height, padded.width, 3], dtype: .float32) { raw in
                Self.writeCanvas(src.baseAddress!, height: size.height, width: size.width,
                                 into: raw.bindMemory(to: Float.self).baseAddress!, paddedHeight: padded.height,
                                 paddedWidth: padded.width, normalizing: normalizing, threads: threads)
            }
        }
        return Transformed(resized: resized, canvasNHWC: canvas, height: size.height, width: size.width)
    }

    /// `[1, 3, H, W]` with `(v − mean_c) / std_c` applied (rows split over the threads).
    static func normalised(_ x: Tensor, mean: [Float], std: [Float], threads: Int) throws(TensorError) -> Tensor {
        let h = x.shape[2], w = x.shape[3]
        return try x.withUnsafeBufferPointer(as: Float.self) { (src) throws(TensorError) -> Tensor in
            let p = src.baseAddress!
            return try Tensor(unsafeUninitializedShape: x.shape, dtype: .float32) { raw in
                let out = raw.bindMemory(to: Float.self).baseAddress!
                ThreadPool.current.forEachChunk(3 * h, threads: threads) { row in
                    let m = mean[row / h], s = std[row / h]
                    for i in (row * w)..<((row + 1) * w) { out[i] = (p[i] - m) / s }
                }
            }
        }
    }

    /// Writes the NHWC canvas `[Hp, Wp, 3]` from NCHW `src` `[3, h, w]`: `src` (normalised on the way
    /// when `normalizing` gives the mean and std) in the top-left `h × w`, zeros elsewhere. Every
    /// element is written once; threads take whole canvas rows.
    static func writeCanvas(_ src: UnsafePointer<Float>, height h: Int, width w: Int, into out: UnsafeMutablePointer<Float>,
                            paddedHeight hp: Int, paddedWidth wp: Int, normalizing: (mean: [Float], std: [Float])?,
                            threads: Int) {
        let plane = h * w
        let m = normalizing.map { ($0.mean[0], $0.mean[1], $0.mean[2]) } ?? (0, 0, 0)
        let s = normalizing.map { ($0.std[0], $0.std[1], $0.std[2]) } ?? (1, 1, 1)
        let normalize = normalizing != nil
        ThreadPool.current.forEachChunk(hp, threads: threads) { y in
            let row = out + y * wp * 3
            guard y < h else {
                row.update(repeating: 0, count: wp * 3)
                return
            }
            let r0 = src + y * w, r1 = r0 + plane, r2 = r1 + plane
            if normalize {
                for x in 0..<w {
                    row[3 * x] = (r0[x] - m.0) / s.0
                    row[3 * x + 1] = (r1[x] - m.1) / s.1
                    row[3 * x + 2] = (r2[x] - m.2) / s.2
                }
            } else {
                for x in 0..<w {
                    row[3 * x] = r0[x]
                    row[3 * x + 1] = r1[x]
                    row[3 * x + 2] = r2[x]
                }
            }
            (row + w * 3).update(repeating: 0, count: (wp - w) * 3)
        }
    }
}
