import Foundation
import ReproImage
import Testing
import _ReproTestSupport

/// `repro detect --draw DIR`: the overlay PNG is written, decodes, keeps the image's size, shows the boxes
/// and is byte-identical across runs. Runs the small `mini` architecture (hidden `--arch mini`, 160/256 px) so that
/// a debug build takes seconds; with torchvision's init the scores sit near the 0.01 prior, hence the low threshold.
@Suite struct DetectDrawTests {
    @Test func overlayIsWrittenDecodedAndIdenticalAcrossRuns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repro-draw-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A 120×90 gradient (upscaled to 160×213 inside the mini model).
        var pixels: [UInt8] = []
        for y in 0..<90 { for x in 0..<120 { pixels += [UInt8(x * 2), UInt8(y * 2), UInt8((x + y) % 256)] } }
        let input = try Image(width: 120, height: 90, channels: 3, pixels: pixels)
        let inputPath = dir.appendingPathComponent("scene.png").path
        try Data(input.pngData()).write(to: URL(fileURLWithPath: inputPath))

        var overlays: [Data] = []
        var detections: [[String: Any]] = []
        for run in 0..<2 {
            let out = dir.appendingPathComponent("run\(run)"), json = dir.appendingPathComponent("run\(run).jsonl")
            let r = try runRepro(["detect", inputPath, "--draw", out.path, "--json", "--output", json.path,
                                  "--arch", "mini", "--score-threshold", "0.005", "--max-detections", "5", "--threads", "2"])
            #expect(r.status == 0, "\(r.stderr)")
            let png = out.appendingPathComponent("scene.detections.png")
            overlays.append(try Data(contentsOf: png))
            let records = try parseJSONLines(String(contentsOf: json, encoding: .utf8))
            #expect(records.count == 2 && records[0]["provenance"] != nil)
            detections = try #require(records.last?["detections"] as? [[String: Any]])
        }
        #expect(overlays[0] == overlays[1], "overlay bytes differ between runs")
        let drawn = try Image(contentsOfFile: dir.appendingPathComponent("run0/scene.detections.png").path)
        #expect(drawn.width == 120 && drawn.height == 90 && drawn.channels == 3)
        #expect(drawn.pixels != input.pixels, "nothing was drawn")
        // The best detection is drawn last: the middle of its bottom edge has its class colour.
        let best = try #require(detections.first)
        let box = try #require(best["box"] as? [Double]), label = try #require(best["label"] as? Int)
        let x = Int(((box[0] + box[2]) / 2).rounded()), y = Int(box[3].rounded(.toNearestOrAwayFromZero))
        if (0..<120).contains(x) && (0..<90).contains(y) {
            let c = Color.forClass(label)
            #expect(Array(drawn.pixel(x: x, y: y)) == [c.red, c.green, c.blue])
        }
        // Rows below every box (and below any label hanging from one, ≤ 12 px) are untouched.
        let lowest = detections.compactMap { ($0["box"] as? [Double]).map { max($0[1], $0[3]) } }.max() ?? 0
        var changed = 0
        for yy in min(90, Int(lowest.rounded(.up)) + 12)..<90 {
            for xx in 0..<120 where drawn.pixel(x: xx, y: yy) != input.pixel(x: xx, y: yy) { changed += 1 }
        }
        #expect(changed == 0)
    }
}
