import Foundation
import Testing
import _ReproTestSupport

/// The README's main command itself, `repro detect --json`: the built-in sample through the
/// full-size v2 model from seed 3407, against torchvision's detections
/// (`detect/retinanet_v2_seed3407.json`, rule in ``DetectionReference/mismatches(_:)``). The
/// committed `detect/sample-scene.png` that torchvision ran on must be the CLI's sample (same RGB
/// SHA-256). About 3 s in release; in a debug build it runs only with `REPRO_HEAVY_TESTS=1`
/// (``DetectionReference/fullSizeModelRuns``).
@Suite struct DetectReferenceTests {
    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "full-size model: release builds, or REPRO_HEAVY_TESTS=1"))
    func readmeCommandMatchesTorchvision() throws {
        let reference = try DetectionReference.load("sample")
        let r = try runRepro(["detect", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        // JSON lines: the provenance record, then one record per image.
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let objects = try lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(objects.count == 2)
        let provenance = try #require(objects.first?["provenance"] as? [String: Any])
        #expect(provenance["architecture"] as? String == "v2" && provenance["seed"] as? String == "3407")
        let record = try #require(objects.last)
        #expect(record["file"] as? String == "sample-scene.png")
        #expect(record["width"] as? Int == reference.width && record["height"] as? Int == reference.height)
        #expect(record["rgb_sha256"] as? String == reference.pixelSHA256,
                "the built-in sample is not the committed detect/sample-scene.png: rerun scripts/make_detect_reference.py")
        let detections = try #require(record["detections"] as? [[String: Any]])
        let ours = try detections.map { d in
            DetectionReference.Entry(box: try #require(d["box"] as? [Double]).map(Float.init),
                                     score: Float(try #require(d["score"] as? Double)),
                                     label: try #require(d["label"] as? Int))
        }
        #expect(!reference.detections.isEmpty)
        let problems = reference.mismatches(ours)
        #expect(problems.isEmpty, "\(problems.prefix(5).joined(separator: "; "))")
    }
}
