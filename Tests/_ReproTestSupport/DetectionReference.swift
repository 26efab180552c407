import Foundation

/// torchvision's detections for one image of `detect/retinanet_v2_seed3407.json` (written by
/// `scripts/make_detect_reference.py`), and the rule by which ours must agree with them.
public struct DetectionReference: Sendable {
    /// One detection: box `[x1, y1, x2, y2]` in image pixels, score, COCO label.
    public struct Entry: Sendable, Equatable {
        public var box: [Float]
        public var score: Float
        public var label: Int

        /// An entry from its parts.
        public init(box: [Float], score: Float, label: Int) {
            self.box = box
            self.score = score
            self.label = label
        }
    }

    /// The image's path relative to `Tests/Fixtures`.
    public var file: String
    /// Width and height of the image.
    public var width: Int, height: Int
    /// SHA-256 of the decoded RGB bytes (Pillow's).
    public var pixelSHA256: String
    /// torchvision's detections, best first.
    public var detections: [Entry]
    /// The score threshold the reference ran with.
    public var scoreThreshold: Float
    /// The reference model's cap on detections per image.
    public var detectionsPerImage: Int

    /// Score tolerance, relative: PyTorch's oneDNN convolutions and GroupNorm sum in another
    /// order than Repro's, so the logits differ by a few float32 ulps after ~70 layers.
    /// Measured on the fixture's two images: ≤ 6.0e-6 (8× margin).
    public static let relativeScoreTolerance: Float = 5e-5
    /// Box tolerance in image pixels (the same differences through the box decoder).
    /// Measured: ≤ 5.7e-4 px (9× margin).
    public static let boxTolerance: Float = 0.005

    /// The fixture's entries, by image key (`sample`, `photo`).
    public static func load(_ key: String) throws -> DetectionReference {
        let root = try Fixtures.json("detect/retinanet_v2_seed3407.json")
        let meta = try root["meta"], image = try root["images"][key]
        let scores = try image["scores"].array.map { try $0.float }
        let labels = try image["labels"].array.map { Int(try $0.int64) }
        let boxes = try image["boxes"].array.map { try $0.array.map { try $0.float } }
        guard scores.count == labels.count, scores.count == boxes.count, boxes.allSatisfy({ $0.count == 4 }),
              try image["count"].int64 == Int64(scores.count) else {
            throw FixtureError.malformed("detect/retinanet_v2_seed3407.json \(key): inconsistent detections")
        }
        return DetectionReference(
            file: try image["file"].string, width: Int(try image["width"].int64), height: Int(try image["height"].int64),
            pixelSHA256: try image["pixel_sha256"].string,
            detections: zip(zip(boxes, scores), labels).map { Entry(box: $0.0, score: $0.1, label: $1) },
            scoreThreshold: try meta["score_thresh"].float, detectionsPerImage: Int(try meta["detections_per_img"].int64))
    }

    /// Why `ours` does not agree with torchvision's detections (empty when it does).
    ///
    /// Every reference detection must have its own counterpart among ours with the same label, a
    /// score within ``relativeScoreTolerance`` of it and every box coordinate within
    /// ``boxTolerance`` pixels; every one of ours must be such a counterpart. The only exception is
    /// a detection whose score lies within the score tolerance of the threshold: the other side may
    /// have scored it just below and dropped it, so it may stay unmatched. Ranks are not compared
    /// (a near-tie of two scores may swap them), labels are (each pair is one box and one class).
    /// The rule needs fewer detections than the cap (a capped list ends at an arbitrary score).
    public func mismatches(_ ours: [Entry]) -> [String] {
        var problems: [String] = []
        if detections.count >= detectionsPerImage || ours.count >= detectionsPerImage {
            problems.append("the cap of \(detectionsPerImage) detections is reached: the rule does not apply")
        }
        func tolerance(_ s: Float) -> Float { Self.relativeScoreTolerance * abs(s) }
        func atThreshold(_ s: Float) -> Bool { s - scoreThreshold <= tolerance(s) }
        var used = [Bool](repeating: false, count: ours.count)
        for (i, r) in detections.enumerated() {
            let match = ours.indices.filter { j in
                !used[j] && ours[j].label == r.label && abs(ours[j].score - r.score) <= tolerance(r.score)
                    && zip(ours[j].box, r.box).allSatisfy { abs($0 - $1) <= Self.boxTolerance }
            }.min { abs(ours[$0].score - r.score) < abs(ours[$1].score - r.score) }
            if let j = match {
                used[j] = true
            } else if !atThreshold(r.score) {
                problems.append("\(file): torchvision's #\(i) (label \(r.label), score \(r.score), box \(r.box)) has no counterpart")
            }
        }
        for (j, o) in ours.enumerated() where !used[j] && !atThreshold(o.score) {
            problems.append("\(file): our #\(j) (label \(o.label), score \(o.score), box \(o.box)) is not in torchvision's")
        }
        return problems
    }

    /// The largest differences over matched pairs (score relative, box in pixels), for reports.
    public func largestDifferences(_ ours: [Entry]) -> (score: Float, box: Float) {
        var score: Float = 0, box: Float = 0
        var used = [Bool](repeating: false, count: ours.count)
        for r in detections {
            guard let j = ours.indices.filter({ !used[$0] && ours[$0].label == r.label })
                .min(by: { Self.distance(ours[$0], r) < Self.distance(ours[$1], r) }) else { continue }
            used[j] = true
            score = max(score, abs(ours[j].score - r.score) / r.score)
            box = max(box, zip(ours[j].box, r.box).map { abs($0 - $1) }.max() ?? 0)
        }
        return (score, box)
    }

    static func distance(_ a: Entry, _ b: Entry) -> Float {
        zip(a.box, b.box).map { abs($0 - $1) }.reduce(0, +) + abs(a.score - b.score) * 1e4
    }
}

extension JSON {
    /// A JSON number as the nearest Float (the fixture's floats are float32 values written exactly).
    public var float: Float {
        get throws {
            guard let n = raw as? NSNumber else { throw FixtureError.malformed("not a number: \(self)") }
            return Float(n.doubleValue)
        }
    }
}

extension DetectionReference {
    /// Whether tests of the full-size model run in this build: always in release builds (CI runs
    /// `swift test -c release`, about 2 s per forward pass); in debug builds, where one forward
    /// pass takes minutes, only with `REPRO_HEAVY_TESTS=1`.
    public static var fullSizeModelRuns: Bool {
        #if DEBUG
        ProcessInfo.processInfo.environment["REPRO_HEAVY_TESTS"] == "1"
        #else
        true
        #endif
    }
}
