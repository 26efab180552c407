import Foundation
import Testing
import _ReproDigest
import _ReproTestSupport

/// `repro demo` on the full-size v2 model: the seeded runs give identical bytes across runs, thread
/// counts and batch compositions, the detection digest equals torchvision's pinned one
/// (`demo/demo_reference.json`, `scripts/make_demo_reference.py`), and the PyTorch figures it prints
/// are the fixture's. About 30 s per run in release; in a debug build only with `REPRO_HEAVY_TESTS=1`.
@Suite(.serialized) struct DemoCommandTests {
    static func reference() throws -> JSON { try Fixtures.json("demo/demo_reference.json") }

    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "full-size model: release builds, or REPRO_HEAVY_TESTS=1"))
    func jsonReportsIdenticalSeededRunsAndTorchvisionsDigest() throws {
        let fixture = try Self.reference()
        let r = try runRepro(["demo", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let provenance = try JSON(JSONSerialization.jsonObject(with: Data(try #require(lines.first).utf8)))["provenance"]
        #expect(try provenance["command"].string == "demo" && provenance["seed"].string == "3407")
        let demo = try JSON(JSONSerialization.jsonObject(with: Data(try #require(lines.last).utf8)))

        // 1. Two fresh seeds (a different seed each run; the flag says whether the bits differed).
        let fresh = try demo["fresh_entropy"].array
        #expect(fresh.count == 2)
        #expect(try fresh[0]["seed"].string != fresh[1]["seed"].string)
        #expect(try demo["fresh_entropy_differs"].bool == (fresh[0]["bits_sha256"].string != fresh[1]["bits_sha256"].string))

        // 2. Seeded twice: identical bits; the digest is torchvision's.
        let seeded = try demo["seeded"].array
        let bits = try seeded[0]["bits_sha256"].string
        #expect(try seeded[1]["bits_sha256"].string == bits)
        #expect(try demo["seeded_runs_identical"].bool)
        #expect(try seeded[0]["count"].int64 == fixture["torchvision"]["count"].int64)
        let torchvisionDigest = try fixture["torchvision"]["digest"].string
        #expect(try demo["torchvision"]["reference"].string == torchvisionDigest)
        #expect(try demo["torchvision"]["ours"].string == torchvisionDigest)
        #expect(try demo["torchvision"]["matches"].bool)

        // 3. Threads (the 2-thread run really ran on 2 threads) and batches: the seeded bits everywhere.
        let threads = try demo["threads"].array
        #expect(try threads.map { try $0["threads"].int64 } == [1, 2])
        #expect(try threads[1]["largest_team"].int64 == 2, "the 2-thread run did not run on 2 threads")
        #expect(try threads.allSatisfy { try $0["bits"].string == bits })
        let batch = try demo["batch"].array
        #expect(try batch.map { try $0["image"].string } == ["sample", "mirrored", "portrait"])
        #expect(try batch.allSatisfy { try $0["alone"].string == $0["in_batch"].string })
        #expect(try batch[0]["alone"].string == bits)
        #expect(try Set(batch.map { try $0["alone"].string }).count == 3, "three different images, three different results")
        #expect(try demo["threads_identical"].bool && demo["batch_identical"].bool)

        // PyTorch's figures are the fixture's measurements.
        let pytorch = try demo["pytorch"]
        let perImage = try fixture["pytorch_batch_1_vs_3"]
        for image in ["sample", "mirrored", "portrait"] {
            let counts = "\(try perImage[image]["count_a"].int64)→\(try perImage[image]["count_b"].int64)"
            #expect(try pytorch["batch1_vs3"].string.contains(counts), "\(image): \(counts)")
        }
        let threadsFixture = try fixture["pytorch_threads_1_vs_2"]
        #expect(try !threadsFixture["identical_bits"].bool)
        let scoreDiff = String(format: "%.1e", Double(try threadsFixture["max_abs_score_diff"].float)).replacingOccurrences(of: "e-07", with: "e-7")
        #expect(try pytorch["threads1_vs2"].string.contains(scoreDiff), "\(scoreDiff)")

        // 4. Doctor: every tensor missing, split into random and constant-initialised ones exactly as
        // `repro doctor` splits them for a checkpoint with no entries.
        let doctor = try demo["doctor"]
        #expect(try doctor["verdict"].string == "seed-dependent")
        let tensors = try doctor["tensors"].int64, random = try doctor["random_tensors"].int64
        #expect(try doctor["missing"].int64 == tensors && tensors > 0)
        #expect(try random > 0 && random < tensors, "norm scales and running statistics start at a constant")
        #expect(try random + doctor["constant_tensors"].int64 == tensors)
        let groups = try doctor["groups"].array
        #expect(try groups.map { try $0["module"].string }
                == ["backbone.body", "backbone.fpn", "head.classification_head", "head.regression_head"])
        #expect(try groups.reduce(0) { $0 + (try $1["random"].int64) } == random)
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("repro-demo-empty-\(UInt64.random(in: 0...UInt64.max)).safetensors")
        defer { try? FileManager.default.removeItem(at: empty) }
        try (Data([2, 0, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8)).write(to: empty)
        let d = try runRepro(["doctor", "--weights", empty.path, "--json"])
        #expect(d.status == 1, "\(d.stderr)")
        let report = try JSON(JSONSerialization.jsonObject(with: Data(try #require(d.stdout.split(separator: "\n").last).utf8)))
        #expect(try Int64(report["random"].array.count) == random)
        #expect(try Int64(report["missing"].array.count) == tensors)
    }

    /// The demo's digest is the canonical text of `repro detect`'s own output (the README's main command).
    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "full-size model: release builds, or REPRO_HEAVY_TESTS=1"))
    func digestOfTheReadmeCommandIsTorchvisions() throws {
        let r = try runRepro(["detect", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let record = try JSON(JSONSerialization.jsonObject(with: Data(try #require(r.stdout.split(separator: "\n").last).utf8)))
        let lines = try record["detections"].array.map { d in
            let box = try d["box"].array.map { Double(try $0.float) }
            return String(format: "%d %.2f %.0f %.0f %.0f %.0f", Int(try d["label"].int64), Double(try d["score"].float),
                          box[0], box[1], box[2], box[3])
        }
        let text = lines.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { $0 + "\n" }.joined()
        #expect(SHA256.hash(Array(text.utf8)).hex == (try Self.reference()["torchvision"]["digest"].string))
    }

    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "full-size model: release builds, or REPRO_HEAVY_TESTS=1"))
    func textShowsTheSummaryTable() throws {
        let r = try runRepro(["demo"])
        #expect(r.status == 0, "\(r.stderr)")
        for line in ["matches torchvision: yes", "Summary", "1 vs 2 threads           identical bytes",
                     "batch 1 vs 3             identical bytes", "--seed 3407, run A vs B  identical bytes",
                     "doctor                   seed-dependent", "constant-initialised"] {
            #expect(r.stdout.contains(line), "missing: \(line)\n\(r.stdout)")
        }
        print(r.stdout)
    }
}
