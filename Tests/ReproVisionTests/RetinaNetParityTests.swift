import Foundation
import ReproImage
import ReproNN
import ReproTensor
import ReproVision
import Testing
import _ReproTestSupport

/// Parity with torchvision on the mini fixtures (weights rebuilt from the seed recipe).
/// Statistics alone would not see a transposed stage: `RetinaNetLocalParity` compares the same
/// stages value by value at fixed indices.
///
/// Tolerances: convolutions and GroupNorm differ from PyTorch's oneDNN/SLEEF kernels by a
/// few ulp (they sum in other orders), and the bilinear resize by up to 1.7e-5. Measured
/// element-wise maxima are ≤ 2e-5 abs on every stage, so summary statistics are compared
/// within 2e-4 (min, max, mean, std) and sums within 2e-4 · count. Detections: same count
/// and labels, boxes within 1e-3 px, scores within 1e-5; neighbours whose fixture scores are
/// within 1e-6 are matched as a set (§10 e), and a count difference of one is accepted only
/// for a detection within 1e-5 of the 0.05 threshold where the fixture flags one.
@Suite(.serialized) struct RetinaNetParityTests {
    static let images = ["img0_coffee_154x231", "img1_synthetic_300x120"]

    struct Stats { var sum = 0.0, mean = 0.0, std = 0.0, min = 0.0, max = 0.0 }

    static func stats(_ t: Tensor) throws -> Stats {
        let v: [Float] = try t.contiguous().scalars()
        var s = 0.0, mn = Double.infinity, mx = -Double.infinity
        for x in v { s += Double(x); mn = Swift.min(mn, Double(x)); mx = Swift.max(mx, Double(x)) }
        let mean = s / Double(v.count)
        var ss = 0.0
        for x in v { ss += (Double(x) - mean) * (Double(x) - mean) }
        return Stats(sum: s, mean: mean, std: (ss / Double(v.count - 1)).squareRoot(), min: mn, max: mx)
    }

    @Test(arguments: [RetinaNetFixtureModels.mini, RetinaNetFixtureModels.miniV1])
    func intermediatesAndDetectionsMatchTorchvision(variant: RetinaNetFixtureModels.Variant) throws {
        let model = try RetinaNetFixtureModels.model(variant)
        let summaries = try Fixtures.json(variant.directory + "/tensor_summaries.json")
        for name in Self.images {
            let image = try Image(contentsOfFile: Fixtures.url("retinanet/images/\(name).png").path)
            let trace = try model.trace(image)
            let s = try summaries[name]
            // Exact parts: anchors (integer arithmetic) bit for bit.
            let anchorBytes = trace.anchors.flatMap { [$0.x1, $0.y1, $0.x2, $0.y2] }
                .flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
            #expect(sha256Hex(anchorBytes) == (try s["anchors"]["sha256"].string), "\(name) anchors")
            var stages: [(String, Tensor)] = [("resized", trace.resized), ("batched", trace.batched), ("stem", trace.stem)]
            for (i, c) in trace.body.enumerated() { stages.append(("body.C\(i + 3)", c)) }
            for (i, p) in trace.fpn.enumerated() { stages.append(("fpn.P\(i + 3)", p)) }
            stages += [("head.cls_logits", trace.clsLogits), ("head.bbox_regression", trace.bboxRegression)]
            for (key, t) in stages {
                let ref = try s[key]
                var shape = try ref["shape"].array.map { Int(try $0.int64) }
                if key == "resized" { shape.insert(1, at: 0) }
                #expect(t.shape == shape, "\(name) \(key) shape")
                let ours = try Self.stats(t)
                func check(_ field: String, _ value: Double, _ tol: Double) throws {
                    let r = try (ref[field].raw as? NSNumber).map(\.doubleValue) ?? .nan
                    #expect(abs(value - r) <= tol, "\(variant.directory) \(name) \(key).\(field): \(value) vs \(r)")
                }
                try check("min", ours.min, 2e-4)
                try check("max", ours.max, 2e-4)
                try check("mean", ours.mean, 2e-4)
                try check("std", ours.std, 2e-4)
                try check("sum", ours.sum, 2e-4 * Double(t.count))
            }
            try Self.compareDetections(trace.detections, fixture: Fixtures.json(variant.directory + "/\(name).detections.json"),
                                       label: "\(variant.directory) \(name)")
        }
    }

    static func compareDetections(_ ours: [Detection], fixture: JSON, label: String) throws {
        let d = try fixture["detections"]
        let scores = try d["scores"].array.map { Float((($0.raw as? NSNumber)?.doubleValue) ?? .nan) }
        let labels = try d["labels"].array.map { Int(try $0.int64) }
        let boxes = try d["boxes"].array.map { b in try b.array.map { Float((($0.raw as? NSNumber)?.doubleValue) ?? .nan) } }
        // Borderline threshold case flagged by the fixture (mini_v1 img1): one tail detection may differ.
        let flagged = try fixture["topk_per_level"].array.contains { try $0["scores_within_1e-5_of_thresh"].int64 > 0 }
        var n = scores.count
        if ours.count != scores.count {
            let tail = ours.count > scores.count ? ours.last!.score : scores.last!
            #expect(flagged && abs(ours.count - scores.count) == 1 && abs(tail - 0.05) <= 1e-5,
                    "\(label): \(ours.count) detections vs \(scores.count)")
            n = Swift.min(ours.count, scores.count)
        }
        var used = [Bool](repeating: false, count: ours.count)
        for i in 0..<n {
            // Ranks may swap only among neighbours whose reference scores are within 1e-6.
            var window = i...i
            while window.lowerBound > 0 && abs(scores[window.lowerBound - 1] - scores[i]) <= 1e-6 { window = (window.lowerBound - 1)...window.upperBound }
            while window.upperBound + 1 < n && abs(scores[window.upperBound + 1] - scores[i]) <= 1e-6 { window = window.lowerBound...(window.upperBound + 1) }
            let match = window.first { j in
                j < ours.count && !used[j] && ours[j].label == labels[i] && abs(ours[j].score - scores[i]) <= 1e-5
                    && zip([ours[j].box.x1, ours[j].box.y1, ours[j].box.x2, ours[j].box.y2], boxes[i]).allSatisfy { abs($0 - $1) <= 1e-3 }
            }
            #expect(match != nil, "\(label): rank \(i) (label \(labels[i]), score \(scores[i])) has no match")
            if let m = match { used[m] = true }
        }
    }
}
