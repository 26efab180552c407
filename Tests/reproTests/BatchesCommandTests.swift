import Foundation
import Testing
import ReproImage

/// Writes a small class-folder dataset of PNGs (two classes, mixed sizes) into a fresh temp folder.
func makeImageFolder(sameSize: Bool) throws -> String {
    let root = FileManager.default.temporaryDirectory
        .appendingPathComponent("repro-batches-\(UUID().uuidString)").path
    for (c, name) in ["cat", "dog"].enumerated() {
        try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
        for i in 0..<5 {
            let w = sameSize ? 12 : 20 + 3 * i, h = sameSize ? 9 : 15 + 2 * i
            let pixels = (0..<(w * h * 3)).map { UInt8(truncatingIfNeeded: $0 &* (7 + i) &+ c &* 91) }
            try Image(width: w, height: h, channels: 3, pixels: pixels).writePNG(to: "\(root)/\(name)/\(i).png")
        }
    }
    return root
}

/// End-to-end tests of `repro batches`.
@Suite struct BatchesCommandTests {
    /// Same lines for workers 0, 1 and 4, and with --resume-at (mid-epoch and at an epoch end).
    @Test func identicalForWorkerCountsAndResume() throws {
        let root = try makeImageFolder(sameSize: false)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let common = ["batches", root, "--seed", "7", "--batch-size", "3", "--epochs", "2", "--augment", "standard", "--crop-size", "32"]
        let base = try runRepro(common + ["--workers", "0"])
        #expect(base.status == 0, "\(base.stderr)")
        let lines = base.stdout.split(separator: "\n")
        #expect(lines.count == 8)  // 10 images, batch 3 → 4 batches × 2 epochs
        #expect(lines[0].hasPrefix("epoch 0 batch 0 indices "))
        #expect(Set(lines.map { $0.split(separator: " ").last! }).count == 8, "distinct batch digests")
        for extra in [["--workers", "1"], ["--workers", "4"], ["--workers", "4", "--resume-at", "2"],
                      ["--workers", "1", "--resume-at", "4"], ["--resume-at", "7"]] {
            let r = try runRepro(common + extra)
            #expect(r.status == 0, "\(extra): \(r.stderr)")
            #expect(r.stdout == base.stdout, "\(extra)")
        }
        let torch = try runRepro(common + ["--shuffle", "torch", "--json", "--workers", "2"])
        #expect(torch.status == 0)
        let torchResumed = try runRepro(common + ["--shuffle", "torch", "--json", "--workers", "3", "--resume-at", "5"])
        #expect(torchResumed.stdout == torch.stdout)
        let first = try JSONSerialization.jsonObject(with: Data(torch.stdout.split(separator: "\n")[0].utf8)) as? [String: Any]
        #expect(first?["shape"] as? [Int] == [3, 3, 32, 32])
        #expect(first?["epoch"] as? Int == 0)
    }

    @Test func unaugmentedAndErrors() throws {
        let root = try makeImageFolder(sameSize: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try runRepro(["batches", root, "--batch-size", "4", "--shuffle", "none", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix(#"{"epoch":0,"indices":[0,1,2,3],"position":0,"sha256":""#))
        #expect(r.stdout.split(separator: "\n")[0].hasSuffix(#"","shape":[4,3,9,12]}"#))
        let missing = try runRepro(["batches", root + "/nope"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains(root + "/nope"))
        // A corrupt image is reported with its path and sample index.
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: root + "/cat/2.png"))
        let bad = try runRepro(["batches", root, "--shuffle", "none"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("sample 2") && bad.stderr.contains("cat/2.png"), "\(bad.stderr)")
    }

    @Test func seedsAndResumeLimits() throws {
        let root = try makeImageFolder(sameSize: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let common = ["batches", root, "--batch-size", "4", "--json"]
        // torch.manual_seed(-1) keeps 2^64 - 1: both spellings give the same batches.
        let negative = try runRepro(common + ["--seed", "-1"])
        let big = try runRepro(common + ["--seed", "18446744073709551615"])
        #expect(negative.status == 0, "\(negative.stderr)")
        #expect(negative.stdout == big.stdout)
        #expect(negative.stdout != (try runRepro(common + ["--seed", "1"])).stdout)
        let tooBig = try runRepro(common + ["--seed", "18446744073709551616"])
        #expect(tooBig.status != 0 && tooBig.stderr.contains("--seed 18446744073709551616 is out of range"))
        // 10 images in batches of 4: 3 batches; resuming after 3 is legal, after 4 is refused.
        #expect(try runRepro(common + ["--resume-at", "3"]).status == 0)
        let past = try runRepro(common + ["--resume-at", "4"])
        #expect(past.status == 1)
        #expect(past.stderr.contains("--resume-at 4 is past the end: this run has 3 batches"))
        #expect(past.stdout.isEmpty)
        let zero = try runRepro(common + ["--resume-at", "0"])
        #expect(zero.status != 0 && zero.stderr.contains("--resume-at must be at least 1"))
        for line in try parseJSONLines(negative.stdout) { #expect(line.keys.allSatisfy(isSnakeCase)) }
    }
}
