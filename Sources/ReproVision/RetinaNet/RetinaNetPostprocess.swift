import ReproTensor

/// torchvision's `postprocess_detections` for one image (retinanet.md §7), with a
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

    func run(clsLogits: Tensor, bboxRegression: Tensor, anchors: [BoundingBox], levelSizes: [Int],
             imageHeight: Int, imageWidth: Int) throws(TensorError) -> Output {
        let c = configuration, k = c.numClasses, a = c.anchorsPerLocation
        let logits: [Float] = try clsLogits.scalars(), reg: [Float] = try bboxRegression.scalars()
        let threshold = c.scoreThreshold
        let wi = Float(imageWidth), hi = Float(imageHeight)
        var boxes: [BoundingBox] = [], scores: [Float] = [], labels: [Int] = []
        var candidateFlat: [Int] = [], candidateLevel: [Int] = []
        var rowStart = 0
        for (level, hw) in levelSizes.enumerated() {
            let rows = hw * a
            let base = rowStart * k
            var kept: [(score: Float, flat: Int)] = []
            logits.withUnsafeBufferPointer { lp in
                var f = 0
                let n = rows * k
                while f + 8 <= n {
                    let v = UnsafeRawPointer(lp.baseAddress! + base + f).loadUnaligned(as: SIMD8<Float>.self)
                    let s = ElementaryFunctions.sigmoid(v)
                    for j in 0..<8 where s[j] > threshold { kept.append((s[j], f + j)) }
                    f += 8
                }
                while f < n {
                    let s = ElementaryFunctions.sigmoid(lp[base + f])
                    if s > threshold { kept.append((s, f)) }
                    f += 1
                }
            }
            kept.sort { $0.score != $1.score ? $0.score > $1.score : $0.flat < $1.flat }
            for (score, flat) in kept.prefix(c.topKCandidates) {
                let row = rowStart + flat / k, label = flat % k
                let r = row * 4
                var b = Self.decode((reg[r], reg[r + 1], reg[r + 2], reg[r + 3]), anchor: anchors[row])
                b.x1 = min(max(b.x1, 0), wi); b.x2 = min(max(b.x2, 0), wi)
                b.y1 = min(max(b.y1, 0), hi); b.y2 = min(max(b.y2, 0), hi)
                boxes.append(b); scores.append(score); labels.append(label)
                candidateFlat.append(flat); candidateLevel.append(level)
            }
            rowStart += rows
        }
        let all = NonMaximumSuppression.batched(boxes: boxes, scores: scores, labels: labels, iouThreshold: c.nmsThreshold)
        let keep = all.prefix(c.detectionsPerImage)
        return Output(boxes: keep.map { boxes[$0] }, scores: keep.map { scores[$0] }, labels: keep.map { labels[$0] },
                      candidateFlat: candidateFlat, candidateLevel: candidateLevel, nmsKeep: Array(all))
    }
}
