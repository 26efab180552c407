import Testing
import _ReproTestSupport
import ReproNN
@testable import ReproVision

@Suite struct DetectionGeometryTests {
    /// Sizes, canvas, feature maps, strides and every anchor of the mini fixtures (SHA-256 of the f32 bytes).
    @Test func matchesFixtures() throws {
        let cases = try Fixtures.json("retinanet/geometry.json")["cases"].array
        #expect(cases.count == 4)
        for c in cases {
            let orig = try c["original_size_hw"].array.map { Int(try $0.int64) }
            let r = DetectionGeometry.resizedSize(height: orig[0], width: orig[1],
                                                  minSize: Int(try c["min_size"].int64), maxSize: Int(try c["max_size"].int64))
            #expect([r.height, r.width] == (try c["resized_size_hw"].array.map { Int(try $0.int64) }))
            let pad = DetectionGeometry.paddedSize(of: [(r.height, r.width)])
            #expect([pad.height, pad.width] == (try c["batched_size_hw"].array.map { Int(try $0.int64) }))
            let fs = DetectionGeometry.featureSizes(paddedHeight: pad.height, paddedWidth: pad.width)
            let wantFS = try c["feature_sizes_hw"].array.map { try $0.array.map { Int(try $0.int64) } }
            #expect(fs.map { [$0.height, $0.width] } == wantFS)
            let gen = AnchorGenerator.retinaNet
            let st = gen.strides(paddedHeight: pad.height, paddedWidth: pad.width, featureSizes: fs)
            let wantST = try c["anchor_strides_hw"].array.map { try $0.array.map { Int(try $0.int64) } }
            #expect(st.map { [$0.height, $0.width] } == wantST)
            let anchors = gen.anchors(paddedHeight: pad.height, paddedWidth: pad.width, featureSizes: fs)
            var bytes: [UInt8] = []
            for a in anchors {
                for v in [a.x1, a.y1, a.x2, a.y2] {
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
                }
            }
            #expect(sha256Hex(bytes) == (try c["anchors_sha256_f32le"].string), "\(c)")
        }
    }

    /// The eager-mode truncation trap and the full-size examples (docs/retinanet.md).
    @Test func resizeTraps() {
        let cases: [((Int, Int), (Int, Int))] = [
            ((154, 231), (159, 239)), ((800, 1067), (800, 1067)), ((400, 600), (800, 1200)),
            ((300, 451), (800, 1202)), ((512, 512), (800, 800)), ((900, 1300), (800, 1155)), ((385, 640), (799, 1329)),
        ]
        for ((h, w), (eh, ew)) in cases {
            let minSize = (h, w) == (154, 231) ? 160 : 800
            let maxSize = (h, w) == (154, 231) ? 256 : 1333
            let r = DetectionGeometry.resizedSize(height: h, width: w, minSize: minSize, maxSize: maxSize)
            #expect((r.height, r.width) == (eh, ew), "\(h)x\(w)")
        }
    }

    /// torchvision's cell-anchor table (round half to even; docs/retinanet.md).
    @Test func cellAnchorTable() {
        let g = AnchorGenerator.retinaNet
        #expect(g.sizes == [[32, 40, 50], [64, 80, 101], [128, 161, 203], [256, 322, 406], [512, 645, 812]])
        let p4 = g.cellAnchors(level: 1).map { [$0.x1, $0.y1, $0.x2, $0.y2].map { Int($0) } }
        #expect(p4 == [[-45, -23, 45, 23], [-57, -28, 57, 28], [-71, -36, 71, 36], [-32, -32, 32, 32], [-40, -40, 40, 40],
                       [-50, -50, 50, 50], [-23, -45, 23, 45], [-28, -57, 28, 57], [-36, -71, 36, 71]])
        let p7 = g.cellAnchors(level: 4).map { [$0.x1, $0.y1, $0.x2, $0.y2].map { Int($0) } }
        #expect(p7[0] == [-362, -181, 362, 181] && p7[2] == [-574, -287, 574, 287] && p7[8] == [-287, -574, 287, 574])
        let fs = DetectionGeometry.featureSizes(paddedHeight: 800, paddedWidth: 1088)
        let st = g.strides(paddedHeight: 800, paddedWidth: 1088, featureSizes: fs)
        #expect(st[3] == (61, 64) && st[4] == (114, 120))
        #expect(g.anchors(paddedHeight: 800, paddedWidth: 1088, featureSizes: fs).count == 163_206)
    }
}

@Suite struct NonMaximumSuppressionTests {
    struct Case { var boxes: [BoundingBox]; var scores: [Float]; var labels: [Int]; var keep: [Int] }

    static func load(_ name: String) throws -> Case {
        let d = try StateDict(bytes: [UInt8](Fixtures.data("retinanet/nms_cases.safetensors")))
        let b = try d.tensor("\(name).boxes").floats()
        let boxes = stride(from: 0, to: b.count, by: 4).map { BoundingBox(x1: b[$0], y1: b[$0 + 1], x2: b[$0 + 2], y2: b[$0 + 3]) }
        return Case(boxes: boxes, scores: try d.tensor("\(name).scores").floats(),
                    labels: try d.tensor("\(name).labels").integers().map { Int($0) },
                    keep: try d.tensor("\(name).keep").integers().map { Int($0) })
    }

    /// Same kept set as torchvision, and the same order wherever scores differ
    /// (torchvision's tie order among equal scores is unspecified; ours is index ascending).
    @Test(arguments: ["trick_900", "vanilla_1100", "edge_cases"])
    func matchesTorchvision(_ name: String) throws {
        let c = try Self.load(name)
        let keep = NonMaximumSuppression.batched(boxes: c.boxes, scores: c.scores, labels: c.labels, iouThreshold: 0.5)
        #expect(Set(keep) == Set(c.keep), "\(name)")
        #expect(keep.count == c.keep.count)
        #expect(keep.map { c.scores[$0] } == c.keep.map { c.scores[$0] }, "\(name): score order")
        for (a, b) in zip(keep, keep.dropFirst()) {
            #expect(c.scores[a] > c.scores[b] || (c.scores[a] == c.scores[b] && a < b))
        }
    }

    /// IoU exactly at the threshold survives; NaN IoU suppresses nothing; ties go to the lower index.
    @Test func edgeRules() {
        let a = BoundingBox(x1: 0, y1: 0, x2: 2, y2: 1)
        let b = BoundingBox(x1: 0, y1: 0, x2: 1, y2: 1)   // IoU = 0.5 exactly
        #expect(a.intersectionOverUnion(with: b) == 0.5)
        #expect(NonMaximumSuppression.suppress(boxes: [a, b], scores: [0.9, 0.8], iouThreshold: 0.5) == [0, 1])
        let z1 = BoundingBox(x1: 1, y1: 1, x2: 1, y2: 1), z2 = BoundingBox(x1: 5, y1: 5, x2: 5, y2: 5)
        #expect(NonMaximumSuppression.suppress(boxes: [z1, z2], scores: [0.5, 0.5], iouThreshold: 0.5) == [0, 1])
        let same = BoundingBox(x1: 0, y1: 0, x2: 4, y2: 4)
        #expect(NonMaximumSuppression.suppress(boxes: [same, same, same], scores: [0.7, 0.7, 0.7], iouThreshold: 0.5) == [0])
        #expect(NonMaximumSuppression.batched(boxes: [same, same], scores: [0.7, 0.7], labels: [3, 1], iouThreshold: 0.5) == [0, 1])
    }
}

@Suite struct COCOTests {
    @Test func categories() {
        #expect(COCO.categories.count == 91)
        #expect(COCO.categories[0] == "__background__" && COCO.categories[1] == "person" && COCO.categories[90] == "toothbrush")
        #expect(COCO.categories.filter { $0 == "N/A" }.count == 10)  // 80 classes + background + 10 unused ids
        #expect(COCO.name(of: 91) == "label 91")
    }
}
