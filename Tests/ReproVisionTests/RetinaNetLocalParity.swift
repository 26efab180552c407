import Foundation
import ReproImage
import ReproNN
import ReproTensor
import ReproVision
import Testing

// Comparison with the FULL intermediate tensors of the reference fixtures in
// shared/fixtures/retinanet (too large to copy into Tests/Fixtures). It runs
// where that folder exists — beside the checkout, as on the developers' machines
// and in CI — or where REPRO_SHARED_RETINANET points at it; a user's fresh clone
// without it skips this suite and relies on the committed parity tests
// (RetinaNetParityTests, summary statistics and detections).
// Tolerances: every stage within 1e-4 absolute (measured ≤ 1.7e-5: oneDNN's and
// our convolutions sum in different orders), detections as in the issue.
@Suite struct RetinaNetLocalParity {
    static let root: String? = {
        if let r = ProcessInfo.processInfo.environment["REPRO_SHARED_RETINANET"] { return r }
        let beside = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures/retinanet").path
        return FileManager.default.fileExists(atPath: beside + "/mini/weights.safetensors") ? beside : nil
    }()

    func errors(_ ours: Tensor, _ ref: CheckpointTensor) throws -> String {
        let a: [Float] = try ours.contiguous().scalars(), b = try ref.floats()
        #expect(ours.shape == ref.shape)
        guard ours.shape == ref.shape else { return "SHAPE \(ours.shape) vs \(ref.shape)" }
        var maxAbs: Float = 0, maxRel: Float = 0, maxRef: Float = 0
        for i in a.indices {
            let d = abs(a[i] - b[i]); maxAbs = max(maxAbs, d); maxRef = max(maxRef, abs(b[i]))
            maxRel = max(maxRel, d / max(abs(b[i]), 1e-3))
        }
        #expect(maxAbs <= 1e-4, "max abs error \(maxAbs)")
        return "maxAbs \(maxAbs) maxRel(>1e-3) \(maxRel) (max|ref| \(maxRef))"
    }

    @Test(.enabled(if: root != nil), arguments: ["mini", "mini_v1"])
    func compare(variant: String) throws {
        let dir = Self.root! + "/" + variant
        var model = try RetinaNet(configuration: variant == "mini" ? .mini : .miniV1, seed: 0)
        let report = try model.load(stateDict: StateDict(contentsOf: dir + "/weights.safetensors"))
        print(variant, report)
        for name in ["img0_coffee_154x231", "img1_synthetic_300x120"] {
            let img = try Image(contentsOfFile: dir + "/\(name).png")
            let t = try model.trace(img)
            let ref = try StateDict(contentsOf: dir + "/\(name).tensors.safetensors")
            var lines = ["\(variant) \(name)"]
            lines.append("resized " + (try errors(t.resized, ref.tensor("resized").reshapedForCompare(t.resized.shape))))
            lines.append("batched " + (try errors(t.batched, ref.tensor("batched"))))
            lines.append("stem " + (try errors(t.stem, ref.tensor("stem"))))
            for (i, c) in t.body.enumerated() { lines.append("C\(i + 3) " + (try errors(c, ref.tensor("body.C\(i + 3)")))) }
            for (i, p) in t.fpn.enumerated() { lines.append("P\(i + 3) " + (try errors(p, ref.tensor("fpn.P\(i + 3)")))) }
            lines.append("cls " + (try errors(t.clsLogits, ref.tensor("head.cls_logits"))))
            lines.append("reg " + (try errors(t.bboxRegression, ref.tensor("head.bbox_regression"))))
            let rs = try ref.tensor("det.scores").floats(), rb = try ref.tensor("det.boxes").floats()
            let rl = try ref.tensor("det.labels").integers()
            let d = t.detections
            var labelMismatch = 0, swapped = 0, maxBox: Float = 0, maxScore: Float = 0
            var used = [Bool](repeating: false, count: d.count)
            let n = min(d.count, rs.count)
            for i in 0..<n {
                // Ranks may swap only among neighbours whose reference scores are within 1e-6
                // (as in RetinaNetParityTests): ulp-level differences reorder such near-ties.
                var lo = i, hi = i
                while lo > 0 && abs(rs[lo - 1] - rs[i]) <= 1e-6 { lo -= 1 }
                while hi + 1 < n && abs(rs[hi + 1] - rs[i]) <= 1e-6 { hi += 1 }
                guard let j = (lo...hi).first(where: { !used[$0] && Int64(d[$0].label) == rl[i] }) else { labelMismatch += 1; continue }
                used[j] = true
                if j != i { swapped += 1 }
                maxScore = max(maxScore, abs(d[j].score - rs[i]))
                let b = [d[j].box.x1, d[j].box.y1, d[j].box.x2, d[j].box.y2]
                for k in 0..<4 { maxBox = max(maxBox, abs(b[k] - rb[4 * i + k])) }
            }
            lines.append("detections \(d.count) vs \(rs.count); label mismatches \(labelMismatch); near-tie rank swaps \(swapped); max box \(maxBox) max score \(maxScore)")
            // Measured: equal counts, labels equal up to swaps of near-ties, boxes ≤ 3.7e-4 px, scores ≤ 9.5e-7.
            #expect(d.count == rs.count && labelMismatch == 0, "\(variant) \(name)")
            #expect(maxBox <= 1e-3 && maxScore <= 1e-5, "\(variant) \(name)")
            print(lines.joined(separator: "\n  "))
        }
    }
}

extension CheckpointTensor {
    func reshapedForCompare(_ shape: [Int]) throws -> CheckpointTensor {
        try CheckpointTensor(dtype: dtype, shape: shape, bytes: bytes)
    }
}
