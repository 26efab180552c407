import Foundation
import Testing
import _ReproTestSupport

/// The README's main command itself, `repro detect --json -`: the built-in sample through the
/// full-size v2 model from seed 3407, against torchvision's detections
/// (`detect/retinanet_v2_seed3407.json`, rule in ``DetectionReference/mismatches(_:)``). The
/// committed `detect/sample-scene.png` that torchvision ran on must be the CLI's sample (same RGB
/// SHA-256). About 3 s in release; in a debug build it runs only with `REPRO_HEAVY_TESTS=1`
/// (``DetectionReference/fullSizeModelRuns``).
@Suite struct DetectReferenceTests {
    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "full-size model: release builds, or REPRO_HEAVY_TESTS=1"))
    func readmeCommandMatchesTorchvision() throws {
        let reference = try DetectionReference.load("sample")
        let r = try runRepro(["detect", "--json", "-"])
        #expect(r.status == 0, "\(r.stderr)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record["file"] as? String == "sample-scene.png")
        #expect(record["width"] as? Int == reference.width && record["height"] as? Int == reference.height)
        #expect(record["pixel_sha256"] as? String == reference.pixelSHA256,
                "the built-in sample is not the committed detect/sample-scene.png: rerun scripts/make_detect_reference.py")
        let detections = try #require(record["detections"] as? [[String: Any]])
        let ours = try detections.map { d in
            DetectionReference.Entry(box: try #require(d["bbox"] as? [Double]).map(Float.init),
                                     score: Float(try #require(d["score"] as? Double)),
                                     label: try #require(d["label"] as? Int))
        }
        #expect(!reference.detections.isEmpty)
        let problems = reference.mismatches(ours)
        #expect(problems.isEmpty, "\(problems.prefix(5).joined(separator: "; "))")
    }
}
