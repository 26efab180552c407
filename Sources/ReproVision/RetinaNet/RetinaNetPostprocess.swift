@_spi(Kernels) import ReproTensor

/// torchvision's `postprocess_detections` for one image (docs/retinanet.md, "Post-processing"), with a
/// documented tie rule: equal scores keep the lower flat index first.
struct RetinaNetPostprocess: Sendable {
    let configuration: RetinaNetConfiguration

    struct Output: Sendable {
        var boxes: [BoundingBox]
        var scores: [Float]
        var labels: [Int]
        /// Every pre-NMS candidate's level-local flat index `r·K + k` and level (fixture `post.candidate_*`).
        var candidateFlat: [Int] = [], candidateLevel: [Int] = []
        /// Candidate positions kept by NMS, before the detections-per-image cut (fixture `post.nms_keep`).
        var nmsKeep: [Int] = []
    }

    /// `log(1000 / 16)` rounded to float32, as torch's clamp compares in float32.
    static let clip = Float(4.135166556742356)

    /// Decodes a regression `(dx, dy, dw, dh)` against an anchor (weights 1, 1, 1, 1).
    static func decode(_ d: (Float, Float, Float, Float), anchor a: BoundingBox) -> BoundingBox {
        let w = a.x2 - a.x1, h = a.y2 - a.y1
        let cx = a.x1 + 0.5 * w, cy = a.y1 + 0.5 * h
        let dw = min(d.2, clip), dh = min(d.3, clip)
        let pcx = d.0 * w + cx, pcy = d.1 * h + cy
        let pw = ElementaryFunctions.exp(dw) * w, ph = ElementaryFunctions.exp(dh) * h
        return BoundingBox(x1: pcx - 0.5 * pw, y1: pcy - 0.5 * ph, x2: pcx + 0.5 * pw, y2: pcy + 0.5 * ph)
    }

    /// Scores above the threshold in one level's logits, as (score, level-local flat index) in ascending
    /// flat order. Threads take fixed chunks (multiples of 8, so the SIMD/scalar split is the same at any thread
    /// count) and the chunks are joined in order: the result never depends on the thread count.
    static func candidates(_ lp: UnsafePointer<Float>, count n: Int, threshold: Float, threads: Int) -> (scores: [Float], flat: [Int]) {
        let chunk = 1 << 16
        let chunks = (n + chunk - 1) / chunk
        var parts = [(scores: [Float], flat: [Int])](repeating: ([], []), count: chunks)
        parts.withUnsafeMutableBufferPointer { out in
            let outBase = out.baseAddress!
            ThreadPool.current.forEachChunk(chunks, threads: threads) { ci in
                let lo = ci * chunk, hi = min(lo + chunk, n)
                var sc: [Float] = [], fl: [Int] = []
                var f = lo
                while f + 8 <= hi {
                    let v = UnsafeRawPointer(lp + f).loadUnaligned(as: SIMD8<Float>.self)
                    let s = ElementaryFunctions.sigmoid(v)
                    if any(s .> threshold) {
                        for j in 0..<8 where s[j] > threshold { sc.append(s[j]); fl.append(f + j) }
                    }
                    f += 8
                }
                while f < hi {
                    let s = ElementaryFunctions.sigmoid(lp[f])
                    if s > threshold { sc.append(s); fl.append(f) }
                    f += 1
                }
                (outBase + ci).initialize(to: (sc, fl))
            }
        }
        return (parts.flatMap(\.scores), parts.flatMap(\.flat))
    }

    func run(clsLogits: Tensor, bboxRegression: Tensor, anchors: [BoundingBox], levelSizes: [Int],
             imageHeight: Int, imageWidth: Int) throws(TensorError) -> Output {
        let c = configuration, k = c.numClasses, a = c.anchorsPerLocation
        let logits = clsLogits.contiguous(), reg = bboxRegression.contiguous()
        let threshold = c.scoreThreshold, threads = Runtime.settings.threads
        let wi = Float(imageWidth), hi = Float(imageHeight)
        var boxes: [BoundingBox] = [], scores: [Float] = [], labels: [Int] = []
        var candidateFlat: [Int] = [], candidateLevel: [Int] = []
        var rowStart = 0
        for (level, hw) in levelSizes.enumerated() {
            let rows = hw * a
            // Top-k under the total order: score descending, then lower flat index first.
            let (kept, flats) = try logits.withUnsafeBufferPointer(as: Float.self) { lp in
                Self.candidates(lp.baseAddress! + rowStart * k, count: rows * k, threshold: threshold, threads: threads)
            }
            let top = kept.withUnsafeBufferPointer { Sorting.topK($0, k: c.topKCandidates) }
            try reg.withUnsafeBufferPointer(as: Float.self) { rp in
                for i in top {
                    let flat = flats[i], score = kept[i]
                    let row = rowStart + flat / k, label = flat % k
                    let r = row * 4
                    var b = Self.decode((rp[r], rp[r + 1], rp[r + 2], rp[r + 3]), anchor: anchors[row])
                    b.x1 = min(max(b.x1, 0), wi); b.x2 = min(max(b.x2, 0), wi)
                    b.y1 = min(max(b.y1, 0), hi); b.y2 = min(max(b.y2, 0), hi)
                    boxes.append(b); scores.append(score); labels.append(label)
                    candidateFlat.append(flat); candidateLevel.append(level)
                }
            }
            rowStart += rows
        }
        let all = NonMaximumSuppression.batched(boxes: boxes, scores: scores, labels: labels, iouThreshold: c.nmsThreshold)
        let keep = all.prefix(c.detectionsPerImage)
        return Output(boxes: keep.map { boxes[$0] }, scores: keep.map { scores[$0] }, labels: keep.map { labels[$0] },
                      candidateFlat: candidateFlat, candidateLevel: candidateLevel, nmsKeep: Array(all))
    }
}
