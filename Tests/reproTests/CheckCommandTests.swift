import Foundation
import ReproNN
import ReproTensor
import ReproVision
import Testing
import _ReproTestSupport

/// End-to-end tests of `repro detect --trace` and `repro check` (the small `mini` architecture).
@Suite(.serialized) struct CheckCommandTests {
    static let image = Fixtures.url("retinanet/images/img1_synthetic_300x120.png").path
    static let mini = ["--arch", "mini", "--no-progress", "--max-detections", "5"]

    /// The seeded mini model's state dict (repro detect's default seed) with `delta` added to `key`'s first value.
    static func weights(perturbing key: String, by delta: Float, to path: String) throws {
        let model = try RetinaNet(configuration: .mini, seed: 3407)
        let values = model.stateDict
        var entries: [(String, CheckpointTensor)] = []
        for spec in model.parameterSpecs {
            let t = try #require(values[spec.name])
            if t.dtype == .float32 {
                var v: [Float] = try t.scalars()
                if spec.name == key { v[0] += delta }
                entries.append((spec.name, try CheckpointTensor(dtype: .float32, shape: t.shape, bytes: v.withUnsafeBytes { Array($0) })))
            } else {
                let v: [Int64] = try t.scalars()
                entries.append((spec.name, try CheckpointTensor(dtype: .int64, shape: t.shape, bytes: v.withUnsafeBytes { Array($0) })))
            }
        }
        #expect(entries.contains { $0.0 == key })
        try StateDict(entries).writeSafetensors(to: path)
    }

    @Test func diffOfTwoRunsAndOfAPerturbedCheckpoint() throws {
        let dir = try makeTemporaryFolder("check-diff")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.trace.json").path, b = dir.appendingPathComponent("b.trace.json").path
        let c = dir.appendingPathComponent("c.trace.json").path
        var r = try runRepro(["detect", Self.image, "--threads", "1", "--trace", a] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        r = try runRepro(["detect", Self.image, "--threads", "2", "--trace", b, "--trace-tensors"] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("b.trace.safetensors").path))
        r = try runRepro(["check", "diff", a, b])
        #expect(r.status == 0 && r.stdout.hasPrefix("identical ("), "\(r.stdout) \(r.stderr)")

        // One FPN weight changed in a checkpoint: the diff names that convolution.
        let w = dir.appendingPathComponent("w.safetensors").path
        try Self.weights(perturbing: "backbone.fpn.layer_blocks.2.0.weight", by: 0.25, to: w)
        r = try runRepro(["detect", Self.image, "--weights", w, "--trace", c, "--trace-tensors"] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        r = try runRepro(["check", "diff", b, c, "--json"])
        #expect(r.status == 1, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["identical"] as? Bool == false)
        #expect((json["modules_compared"] as? Int ?? 0) > 100)
        let d = try #require(json["first_divergence"] as? [String: Any])
        #expect(d["name"] as? String == "backbone.fpn.layer_blocks.2.0")
        #expect((d["op_a"] as? String)?.hasPrefix("Conv2d 3x3 64->64") == true && d["op_b"] as? String == d["op_a"] as? String)
        #expect((d["differing_values"] as? Int ?? 0) > 0 && (d["max_abs_diff"] as? Double ?? 0) > 0 && d["index"] is Int)
        #expect(r.stderr.contains("weights differ"))
        // Digests only on one side: still found, sizes unknown (null).
        r = try runRepro(["check", "diff", a, c, "--json"])
        let d2 = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["first_divergence"] as? [String: Any])
        #expect(d2["name"] as? String == "backbone.fpn.layer_blocks.2.0" && d2["differing_values"] is NSNull)

        // Unreadable, truncated and incomparable traces: exit 2, nothing printed on stdout.
        let text = try String(contentsOfFile: a, encoding: .utf8)
        let truncated = dir.appendingPathComponent("t.json").path
        try String(text.prefix(text.count / 2)).write(toFile: truncated, atomically: true, encoding: .utf8)
        let otherModel = dir.appendingPathComponent("m.json").path
        let fingerprint = try #require(text.firstMatch(of: /"fingerprint": "([0-9a-f]+)"/)?.output.1)
        try text.replacingOccurrences(of: String(fingerprint), with: String(repeating: "0", count: 64))
            .write(toFile: otherModel, atomically: true, encoding: .utf8)
        let otherImage = dir.appendingPathComponent("i.json").path
        let pixels = try #require(text.firstMatch(of: /"input_sha256": "([0-9a-f]+)"/)?.output.1)
        try text.replacingOccurrences(of: String(pixels), with: String(repeating: "1", count: 64))
            .write(toFile: otherImage, atomically: true, encoding: .utf8)
        for (path, message) in [(truncated, "not a valid trace"), (otherModel, "different models"), (otherImage, "different inputs"),
                                (dir.appendingPathComponent("absent.json").path, "cannot read the trace")] {
            r = try runRepro(["check", "diff", a, path])
            #expect(r.status == 2 && r.stdout.isEmpty && r.stderr.contains(message), "\(path): \(r.status) \(r.stderr)")
        }
        // A tolerance needs tensors on both sides.
        r = try runRepro(["check", "diff", a, c, "--tolerance", "1e-3,1e-3"])
        #expect(r.status == 2 && r.stderr.contains("--trace-tensors"), "\(r.stderr)")
        r = try runRepro(["check", "diff", a, b, "--tolerance", "x"])
        #expect(r.status == 64, "\(r.stderr)")
    }

    @Test func checkDetectVariesThreadsAndBatch() throws {
        let second = Fixtures.url("retinanet/images/img0_coffee_154x231.png").path
        var r = try runRepro(["check", "detect", Self.image, second, "--vary", "threads=1,2", "--vary", "batch=1,2", "--json"] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["identical"] as? Bool == true)
        let rows = try #require(json["configurations"] as? [[String: Any]])
        #expect(rows.count == 4)
        #expect((rows[3]["settings"] as? [String: String]) == ["threads": "2", "batch": "2"])
        #expect((rows[3]["summary"] as? String)?.hasPrefix("identical (") == true)
        r = try runRepro(["check", "detect", Self.image, "--vary", "threads=1,2", "--processes"] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("threads=2") && r.stdout.contains("all 2 configurations identical"), "\(r.stdout)")
        r = try runRepro(["check", "detect", "--vary", "color=red,blue"] + Self.mini)
        #expect(r.status == 64 && r.stderr.contains("the keys are threads, batch"), "\(r.stderr)")
    }

    @Test func checkBatchesVariesWorkersAndResume() throws {
        let root = try makeImageFolder(sameSize: false)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try runRepro(["check", "batches", root, "--seed", "7", "--batch-size", "3", "--augment", "standard", "--crop-size", "32",
                              "--vary", "workers=0,1,4", "--vary", "resume=0,2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("workers=4 resume=2") && r.stdout.contains("all 6 configurations identical"), "\(r.stdout)")
    }

    @Test func fastDigestTracesAreComparedOnlyWithTheirKind() throws {
        let dir = try makeTemporaryFolder("check-nh")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.trace.json").path, b = dir.appendingPathComponent("b.trace.json").path
        let c = dir.appendingPathComponent("c.trace.json").path
        var r = try runRepro(["detect", Self.image, "--threads", "1", "--trace", a, "--trace-digest", "repro-nh-v1"] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        r = try runRepro(["detect", Self.image, "--threads", "2", "--trace", b, "--trace-digest", "repro-nh-v1"] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        r = try runRepro(["detect", Self.image, "--trace", c] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: a, encoding: .utf8).contains("\"digest\": \"repro-nh-v1\""))
        #expect(try String(contentsOfFile: c, encoding: .utf8).contains("\"digest\": \"sha256\""))
        r = try runRepro(["check", "diff", a, b])
        #expect(r.status == 0 && r.stdout.hasPrefix("identical ("), "\(r.stdout) \(r.stderr)")
        r = try runRepro(["check", "diff", a, c])
        #expect(r.status == 2 && r.stderr.contains("different digest algorithms"), "\(r.stdout) \(r.stderr)")
        r = try runRepro(["detect", Self.image, "--trace-digest", "md5", "--trace", a] + Self.mini)
        #expect(r.status == 64, "\(r.stderr)")
        r = try runRepro(["detect", Self.image, "--trace-digest", "repro-nh-v1"] + Self.mini)
        #expect(r.status == 64 && r.stderr.contains("--trace-digest needs --trace"), "\(r.stderr)")
    }

    @Test func checkBatchesComparesWithAStoredReference() throws {
        let root = try makeImageFolder(sameSize: false)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repro-check-ref-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(at: dir)
        }
        let job = [root, "--seed", "7", "--batch-size", "3", "--augment", "standard", "--crop-size", "32"]
        let ref = dir.appendingPathComponent("ref.json").path
        var r = try runRepro(["check", "batches"] + job + ["--vary", "workers=0,2", "--write-reference", ref])
        #expect(r.status == 0, "\(r.stderr)")
        let stored = try JSON(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ref))))
        #expect(try stored["format"].string == "repro-batches-reference" && stored["version"].int64 == 1)
        let batches = try stored["batches"].array
        #expect(batches.count >= 2)

        // Today's batches against the stored run: identical, with or without --vary.
        r = try runRepro(["check", "batches"] + job + ["--reference", ref])
        #expect(r.status == 0 && r.stdout.contains("identical (\(batches.count) batches"), "\(r.stdout)\(r.stderr)")
        r = try runRepro(["check", "batches"] + job + ["--reference", ref, "--vary", "resume=0,1"])
        #expect(r.status == 0 && r.stdout.contains("all 2 configurations identical"), "\(r.stdout)\(r.stderr)")

        // A manifest of `repro batches` is a reference too (digests only).
        let manifest = dir.appendingPathComponent("run.json").path
        r = try runRepro(["batches"] + job + ["--manifest", manifest, "--output", dir.appendingPathComponent("b.jsonl").path])
        #expect(r.status == 0, "\(r.stderr)")
        r = try runRepro(["check", "batches"] + job + ["--reference", manifest, "--json"])
        #expect(r.status == 0 && r.stdout.contains("\"identical\":true"), "\(r.stdout)\(r.stderr)")
        // ...but a different job is not: another seed differs at the first batch.
        r = try runRepro(["check", "batches", root, "--seed", "8", "--batch-size", "3", "--augment", "standard", "--crop-size", "32",
                          "--reference", manifest])
        #expect(r.status == 1 && r.stdout.contains("at epoch 0 batch 0"), "\(r.stdout)\(r.stderr)")

        // One differing batch is named.
        var text = try String(contentsOfFile: ref, encoding: .utf8)
        let second = try batches[1]["sha256"].string
        text = text.replacingOccurrences(of: second, with: String(repeating: "0", count: 64))
        let edited = dir.appendingPathComponent("edited.json").path
        try text.write(toFile: edited, atomically: true, encoding: .utf8)
        r = try runRepro(["check", "batches"] + job + ["--reference", edited])
        let place = "epoch \(try batches[1]["epoch"].int64) batch \(try batches[1]["position"].int64)"
        #expect(r.status == 1 && r.stdout.contains("differs from the reference \(edited) at \(place)"), "\(r.stdout)\(r.stderr)")

        // Corrupt, truncated, newer and missing references: exit status 2, named.
        let original = try String(contentsOfFile: ref, encoding: .utf8)
        for (name, content, message) in [("trunc.json", String(original.prefix(original.count / 2)), "truncated"),
                                         ("newer.json", original.replacingOccurrences(of: "\"version\":1", with: "\"version\":9"), "newer"),
                                         ("other.json", "{\"format\": \"something\"}", "neither a batches reference")] {
            let path = dir.appendingPathComponent(name).path
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            r = try runRepro(["check", "batches"] + job + ["--reference", path])
            #expect(r.status == 2 && r.stderr.contains(path) && r.stderr.contains(message), "\(name): \(r.stderr)")
        }
        r = try runRepro(["check", "batches"] + job + ["--reference", dir.appendingPathComponent("absent.json").path])
        #expect(r.status == 2 && r.stderr.contains("absent.json"), "\(r.stderr)")
    }
}
