/// Greedy non-maximum suppression with one algorithm at every size and a
/// written-down tie rule.
///
/// Boxes are visited in **score descending, then index ascending** order (a
/// total order: equal scores never resolve differently between runs, sizes or
/// machines). A visited box that is not suppressed is kept and suppresses
/// every later box (of the same class, for ``batched(boxes:scores:labels:iouThreshold:)``)
/// whose IoU with it is **strictly** greater than the threshold, so an IoU of
/// exactly the threshold survives, and NaN (two disjoint zero-area boxes)
/// suppresses nothing — as torchvision's CPU kernel.
///
/// torchvision switches `batched_nms` between a coordinate-offset trick (≤ 1000
/// boxes on CPU) and a per-class loop (more boxes), which can disagree on
/// borderline IoUs, and its sort is unstable. Repro always runs the per-class
/// computation directly on the original coordinates.
///
/// ```swift
/// let keep = NonMaximumSuppression.batched(boxes: boxes, scores: scores, labels: labels, iouThreshold: 0.5)
/// ```
public enum NonMaximumSuppression {
    /// The visiting order: indices sorted by score descending, then index ascending.
    /// NaN scores sort last (in index order).
    public static func order(scores: [Float]) -> [Int] {
        scores.indices.sorted { a, b in
            let sa = scores[a], sb = scores[b]
            if sa.isNaN || sb.isNaN {
                if sa.isNaN != sb.isNaN { return sb.isNaN }
                return a < b
            }
            return sa != sb ? sa > sb : a < b
        }
    }

    /// Single-class NMS. Returns kept indices in visiting order.
    public static func suppress(boxes: [BoundingBox], scores: [Float], iouThreshold: Float) -> [Int] {
        batched(boxes: boxes, scores: scores, labels: [Int](repeating: 0, count: boxes.count), iouThreshold: iouThreshold)
    }

    /// Per-class NMS: boxes of different labels never suppress each other.
    /// Returns kept indices in visiting order (score descending, index ascending).
    ///
    /// - Precondition: `boxes`, `scores` and `labels` have the same count.
    public static func batched(boxes: [BoundingBox], scores: [Float], labels: [Int], iouThreshold: Float) -> [Int] {
        precondition(boxes.count == scores.count && scores.count == labels.count, "NMS inputs differ in length")
        let visit = order(scores: scores)
        // Group the visiting order by class, preserving it within each class.
        var byClass: [Int: [Int]] = [:]
        for i in visit { byClass[labels[i], default: []].append(i) }
        var kept = [Bool](repeating: false, count: boxes.count)
        for label in byClass.keys.sorted() {
            let members = byClass[label]!
            var suppressed = [Bool](repeating: false, count: members.count)
            for (p, i) in members.enumerated() where !suppressed[p] {
                kept[i] = true
                let bi = boxes[i]
                for q in (p + 1)..<members.count where !suppressed[q] {
                    if bi.intersectionOverUnion(with: boxes[members[q]]) > iouThreshold { suppressed[q] = true }
                }
            }
        }
        return visit.filter { kept[$0] }
    }
}
