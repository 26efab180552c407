import Foundation
import ReproImage
import ReproNN
import ReproTensor
@testable import ReproVision
import Testing

// Full-size comparison with fixtures made locally by
//   make_retinanet_fixtures.py --preset full --variant v2 --out DIR/v2   (and --variant v1 --out DIR/v1)
// (≈ 150 MB of weights and ≈ 1 GB of tensors per variant: never committed). Runs only where
// REPRO_FULL_RETINANET=DIR is set; best in release (`swift test -c release --filter RetinaNetFullParity`,
// ≈ 10 s per image). Every stage, the anchors (bitwise), the per-level pre-NMS candidates and the NMS keep
// list (as sets keyed by (level, flat index), spec §10) and the detections are compared; a table is printed.
@Suite struct RetinaNetFullParity {
    static let root = ProcessInfo.processInfo.environment["REPRO_FULL_RETINANET"]

    @Test(.enabled(if: root != nil), arguments: ["v2", "v1"])
    func compare(variant: String) throws {
        let dir = Self.root! + "/" + variant
        guard FileManager.default.fileExists(atPath: dir + "/weights.safetensors") else {
            Issue.record("REPRO_FULL_RETINANET is set but \(dir)/weights.safetensors is missing")
            return
        }
        var configuration: RetinaNetConfiguration = variant == "v2" ? .v2 : .v1
        if variant == "v1" { configuration.normEpsilon = 0 }   // the recipe's v1 uses the COCO checkpoint's eps 0
        var model = try RetinaNet(configuration: configuration, seed: 0)
        _ = try model.load(stateDict: StateDict(contentsOf: dir + "/weights.safetensors"))
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(".tensors.safetensors") }.map { String($0.dropLast(".tensors.safetensors".count)) }.sorted()
        #expect(!names.isEmpty)
        for name in names {
            let report = try FullParityReport(model: model, configuration: configuration, dir: dir, name: name)
            print(report.lines.joined(separator: "\n  "))
        }
    }
}

/// One image's full comparison (every check is an `#expect`; `lines` is the printed table).
struct FullParityReport {
    var lines: [String]

    init(model: RetinaNet, configuration: RetinaNetConfiguration, dir: String, name: String) throws {
        let img = try Image(contentsOfFile: dir + "/\(name).png")
        let t = try model.trace(img)
        let ref = try StateDict(contentsOf: dir + "/\(name).tensors.safetensors")
        lines = ["\(dir) \(name): stage | max abs | max rel (|ref|>1e-3) | max |ref|"]
        func stage(_ label: String, _ ours: Tensor, _ key: String, tolerance: Float) throws {
            let r = try ref.tensor(key)
            let a: [Float] = try ours.contiguous().scalars(), b = try r.floats()
            #expect(a.count == b.count, "\(name) \(label) size")
            guard a.count == b.count else { return }
            var maxAbs: Float = 0, maxRel: Float = 0, maxRef: Float = 0
            for i in a.indices {
                let d = abs(a[i] - b[i])
                maxAbs = max(maxAbs, d); maxRef = max(maxRef, abs(b[i]))
                if abs(b[i]) > 1e-3 { maxRel = max(maxRel, d / abs(b[i])) }
            }
            // Relative to the tensor's scale: oneDNN and Repro sum the convolutions in different orders.
            #expect(maxAbs <= tolerance * max(1, maxRef), "\(name) \(label): max abs \(maxAbs), max |ref| \(maxRef)")
            lines.append("\(label) | \(maxAbs) | \(maxRel) | \(maxRef)")
        }
        try stage("resized", t.resized.reshaped(Array(t.resized.shape.dropFirst())), "resized", tolerance: 1e-4)
        try stage("batched", t.batched, "batched", tolerance: 1e-4)
        try stage("stem", t.stem, "stem", tolerance: 1e-4)
        for (i, c) in t.body.enumerated() { try stage("C\(i + 3)", c, "body.C\(i + 3)", tolerance: 1e-4) }
        for (i, p) in t.fpn.enumerated() { try stage("P\(i + 3)", p, "fpn.P\(i + 3)", tolerance: 1e-4) }
        try stage("cls_logits", t.clsLogits, "head.cls_logits", tolerance: 1e-4)
        try stage("bbox_regression", t.bboxRegression, "head.bbox_regression", tolerance: 1e-4)
        let anchors = t.anchors.flatMap { [$0.x1, $0.y1, $0.x2, $0.y2] }
        #expect(anchors.map(\.bitPattern) == (try ref.tensor("anchors").floats()).map(\.bitPattern), "\(name) anchors bitwise")
        // The fixture's tie diagnostics (spec §10): a level whose k-th score is tied with unselected scores
        // (e.g. the full v1 fixture, whose unnormalised random logits saturate the sigmoid at 1.0 by the
        // million) has no defined top-k set; PyTorch picks arbitrarily among the ties, Repro by lower index.
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/\(name).detections.json"))) as? [String: Any]
        let levels = (info?["topk_per_level"] as? [[String: Any]]) ?? []
        let ties: [Int: Float] = Dictionary(uniqueKeysWithValues: levels.compactMap { l in
            (l["boundary_tie"] as? Bool == true) ? ((l["level"] as? Int) ?? -1, Float((l["kth_value"] as? Double) ?? .nan)) : nil
        })
        try compareCandidates(t, ref, configuration: configuration, name: name, boundaryTies: ties)
        if ties.isEmpty {
            try compareDetections(t, ref, name: name)
        } else {
            // The candidate sets legitimately differ, so NMS and the detections are not comparable element
            // by element; the count (capped at 300) and the score values must still agree.
            let rs = try ref.tensor("det.scores").floats()
            #expect(t.detections.count == rs.count, "\(name): detection count")
            #expect(t.detections.map(\.score).sorted() == rs.sorted(), "\(name): detection scores")
            lines.append("detections | \(t.detections.count) vs \(rs.count); boundary ties on levels \(ties.keys.sorted()) "
                         + "(k-th score \(ties.values.first!)): boxes and labels not comparable, score values equal: "
                         + "\(t.detections.map(\.score).sorted() == rs.sorted())")
        }
    }

    /// Pre-NMS candidates per level and the NMS keep list, as sets keyed by (level, flat index).
    mutating func compareCandidates(_ t: RetinaNet.Trace, _ ref: StateDict, configuration: RetinaNetConfiguration, name: String,
                                    boundaryTies: [Int: Float]) throws {
        let sizes = t.fpn.map { $0.shape[2] * $0.shape[3] }
        let post = try RetinaNetPostprocess(configuration: configuration).run(
            clsLogits: t.clsLogits, bboxRegression: t.bboxRegression, anchors: t.anchors, levelSizes: sizes,
            imageHeight: t.resized.shape[2], imageWidth: t.resized.shape[3])
        let rFlat = try ref.tensor("post.candidate_flat_index").integers().map(Int.init)
        let rLevel = try ref.tensor("post.candidate_level").integers().map(Int.init)
        let rScore = try ref.tensor("post.candidate_scores").floats(), rBox = try ref.tensor("post.candidate_boxes").floats()
        let rKeep = try ref.tensor("post.nms_keep").integers().map(Int.init)
        struct Key: Hashable { var level: Int, flat: Int }
        var refIndex: [Key: Int] = [:]
        for i in rFlat.indices { refIndex[Key(level: rLevel[i], flat: rFlat[i])] = i }
        let ourKeys = zip(post.candidateLevel, post.candidateFlat).map { Key(level: $0, flat: $1) }
        let ourSet = Set(ourKeys), refSet = Set(refIndex.keys)
        // Our candidate scores and boxes, recomputed the way the postprocess does (sigmoid, decode, clip).
        let logits: [Float] = try t.clsLogits.scalars(), k = configuration.numClasses
        var rowStart = [0]
        for s in sizes { rowStart.append(rowStart.last! + s * configuration.anchorsPerLocation) }
        let reg: [Float] = try t.bboxRegression.scalars()
        let wi = Float(t.resized.shape[3]), hi = Float(t.resized.shape[2])
        var maxScore: Float = 0, maxBox: Float = 0
        for key in ourKeys {
            guard let j = refIndex[key] else { continue }
            maxScore = max(maxScore, abs(ElementaryFunctions.sigmoid(logits[rowStart[key.level] * k + key.flat]) - rScore[j]))
            let row = rowStart[key.level] + key.flat / k
            var b = RetinaNetPostprocess.decode((reg[4 * row], reg[4 * row + 1], reg[4 * row + 2], reg[4 * row + 3]), anchor: t.anchors[row])
            b.x1 = min(max(b.x1, 0), wi); b.x2 = min(max(b.x2, 0), wi)
            b.y1 = min(max(b.y1, 0), hi); b.y2 = min(max(b.y2, 0), hi)
            let ob = [b.x1, b.y1, b.x2, b.y2]
            for c in 0..<4 { maxBox = max(maxBox, abs(ob[c] - rBox[4 * j + c])) }
        }
        let onlyOurs = ourSet.subtracting(refSet), onlyRef = refSet.subtracting(ourSet)
        // Differences are allowed only inside a reported boundary tie, and only among candidates scoring exactly
        // the tied k-th value (on each side).
        let ourScore = Dictionary(uniqueKeysWithValues: ourKeys.map { ($0, ElementaryFunctions.sigmoid(logits[rowStart[$0.level] * k + $0.flat])) })
        let unexplained = onlyOurs.filter { boundaryTies[$0.level] != ourScore[$0] }.count
            + onlyRef.filter { boundaryTies[$0.level] != rScore[refIndex[$0]!] }.count
        lines.append("candidates | \(ourKeys.count) vs \(rFlat.count), only ours \(onlyOurs.count), only torch \(onlyRef.count) "
                     + "(outside a boundary tie: \(unexplained)) | max score \(maxScore) | max box \(maxBox) px")
        #expect(unexplained == 0, "\(name): \(unexplained) candidate differences outside a boundary tie")
        #expect(ourKeys.count == rFlat.count, "\(name): candidate count")
        let ourKeep = Set(post.nmsKeep.map { ourKeys[$0] }), refKeep = Set(rKeep.map { Key(level: rLevel[$0], flat: rFlat[$0]) })
        let keepDiff = (ourKeep.subtracting(refKeep).count, refKeep.subtracting(ourKeep).count)
        lines.append("nms_keep | \(post.nmsKeep.count) vs \(rKeep.count), only ours \(keepDiff.0), only torch \(keepDiff.1)")
        if boundaryTies.isEmpty { #expect(keepDiff == (0, 0), "\(name): NMS keep sets differ") }
    }

    /// Final detections: counts, labels rank by rank (a swap of neighbours whose reference scores are within
    /// 1e-6 is accepted, spec §10 (e)), boxes and scores.
    mutating func compareDetections(_ t: RetinaNet.Trace, _ ref: StateDict, name: String) throws {
        let rs = try ref.tensor("det.scores").floats(), rb = try ref.tensor("det.boxes").floats()
        let rl = try ref.tensor("det.labels").integers().map(Int.init)
        let d = t.detections
        var mismatches = 0, swaps = 0, maxBox: Float = 0, maxScore: Float = 0
        for i in 0..<min(d.count, rs.count) {
            var j = i
            if d[i].label != rl[i] {
                let near = [i - 1, i + 1].filter { $0 >= 0 && $0 < rs.count && abs(rs[$0] - rs[i]) <= 1e-6 && rl[$0] == d[i].label }
                guard let n = near.first else { mismatches += 1; continue }
                swaps += 1
                j = n
            }
            maxScore = max(maxScore, abs(d[i].score - rs[j]))
            let b = [d[i].box.x1, d[i].box.y1, d[i].box.x2, d[i].box.y2]
            for c in 0..<4 { maxBox = max(maxBox, abs(b[c] - rb[4 * j + c])) }
        }
        lines.append("detections | \(d.count) vs \(rs.count), label mismatches \(mismatches), near-tie swaps \(swaps) | "
                     + "max score \(maxScore) | max box \(maxBox) px")
        #expect(d.count == rs.count && mismatches == 0, "\(name): detections differ")
        #expect(maxScore <= 1e-5, "\(name): score error \(maxScore)")
        #expect(maxBox <= 5e-3, "\(name): box error \(maxBox) px")
    }
}
