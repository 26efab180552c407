import Foundation
import Testing
import ReproImage

/// End-to-end tests of `repro train` on the built-in data set (16×16 images, cnn-small).
@Suite struct TrainCommandTests {
    static let common = ["train", "--image-size", "16", "--batch-size", "8", "--no-val", "--no-progress", "--optimizer", "sgd",
                         "--schedule", "constant", "--lr", "0.05"]

    /// The `weights_sha256` of the final line of a `--log -` run.
    static func finalDigest(_ r: ProcessResult) throws -> String {
        let lines = try parseJSONLines(r.stdout)
        let last = try #require(lines.last)
        #expect(last["final"] as? Bool == true)
        return try #require(last["weights_sha256"] as? String)
    }

    @Test func helpSaysTheWeightsDoNotChangeWithTheMicroBatch() throws {
        let r = try runRepro(["train", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("--micro-batch"))
        let text = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("not on --threads, --workers or --micro-batch"))
        #expect(text.contains("Defaults without DIR (the built-in recipe): batch 64, AdamW lr 0.006"))
    }

    /// The built-in recipe's defaults apply without DIR (batch 64), the classic ones with a folder (batch 32).
    @Test func defaultsDependOnTheData() throws {
        let builtIn = try runRepro(["train", "--micro-batch", "65"])
        #expect(builtIn.status != 0 && builtIn.stderr.contains("--micro-batch 65 is larger than --batch-size 64"), "\(builtIn.stderr)")
        let folder = try runRepro(["train", "/nonexistent-folder", "--micro-batch", "33"])
        #expect(folder.status != 0 && folder.stderr.contains("--micro-batch 33 is larger than --batch-size 32"), "\(folder.stderr)")
    }

    @Test func logFormatAndInvariance() throws {
        let base = try runRepro(Self.common + ["--steps", "4", "--log", "-", "--digest-every", "2", "--threads", "1"])
        #expect(base.status == 0, "\(base.stderr)")
        let lines = try parseJSONLines(base.stdout)
        #expect(lines.count == 6, "4 steps, 1 digest, 1 final: \(base.stdout)")
        #expect(Set(lines[0].keys) == ["step", "epoch", "loss", "lr", "samples"])
        #expect(lines[0]["step"] as? Int == 1 && lines[0]["samples"] as? Int == 8 && lines[0]["lr"] as? Double == 0.05)
        #expect(lines[2]["step"] as? Int == 2 && (lines[2]["weights_sha256"] as? String)?.count == 64)
        #expect(base.stdout.split(separator: "\n")[0].contains("\"lr\":0.05"), "shortest round-trip form")
        let digest = try Self.finalDigest(base)
        for extra in [["--threads", "2", "--micro-batch", "3"], ["--threads", "4", "--workers", "2", "--micro-batch", "1"]] {
            let r = try runRepro(Self.common + ["--steps", "4", "--log", "-"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try Self.finalDigest(r) == digest, "\(extra)")
        }
        // Another seed trains other weights.
        let other = try runRepro(Self.common + ["--steps", "4", "--log", "-", "--seed", "1"])
        #expect(try Self.finalDigest(other) != digest)
    }

    /// `--profile`: the phase table on stderr and the `{"profile": …}` log line, without changing the weights.
    @Test func profileReportsThePhases() throws {
        let plain = try runRepro(Self.common + ["--steps", "3", "--log", "-", "--workers", "1"])
        let r = try runRepro(Self.common + ["--steps", "3", "--log", "-", "--workers", "1", "--profile"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.finalDigest(r) == Self.finalDigest(plain))
        #expect(r.stderr.contains("profile: 3 steps") && r.stderr.contains("forward_backward"), "\(r.stderr)")
        let lines = try parseJSONLines(r.stdout)
        #expect(lines.count == 5, "3 steps, the profile, the final line")
        let profile = try #require(lines[3]["profile"] as? [String: Any])
        #expect(profile["steps"] as? Int == 3)
        let rows = try #require(profile["rows"] as? [[String: Any]])
        #expect(rows.map { $0["phase"] as? String } == ["startup", "batch_wait", "forward_backward", "optimizer", "checks", "log",
                                                        "checkpoint", "validation", "finish"])
        let forward = try #require(rows.first { $0["phase"] as? String == "forward_backward" })
        #expect((forward["wall_seconds"] as? Double ?? 0) > 0 && (forward["process_cpu_seconds"] as? Double ?? 0) > 0)
        let loader = try #require(profile["loader_thread_seconds"] as? [String: Double])
        #expect(Set(loader.keys) == ["decode", "augment", "collate"] && loader.values.allSatisfy { $0 > 0 }, "\(loader)")
    }

    @Test func resumeEndsWhereAnUninterruptedRunEnds() throws {
        let dir = try makeTemporaryFolder("train-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = try runRepro(Self.common + ["--steps", "5", "--log", "-"])
        #expect(whole.status == 0, "\(whole.stderr)")
        let first = try runRepro(Self.common + ["--steps", "2", "--checkpoint-dir", dir.path, "--log", "-"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/latest.json"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/step-00000002.safetensors"))
        let resumed = try runRepro(Self.common + ["--steps", "5", "--resume", dir.path, "--threads", "2", "--micro-batch", "3",
                                                  "--workers", "2", "--log", "-"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.finalDigest(resumed) == Self.finalDigest(whole))
        // The resumed log continues the step numbering.
        #expect(try parseJSONLines(resumed.stdout).first?["step"] as? Int == 3)
        // Another architecture, or other hyper-parameters, are refused with a clear message.
        let arch = try runRepro(Self.common + ["--steps", "5", "--resume", dir.path, "--arch", "resnet18"])
        #expect(arch.status == 1)
        #expect(arch.stderr.contains("cnn-small checkpoint, not resnet18"), "\(arch.stderr)")
        let lr = try runRepro(["train", "--image-size", "16", "--batch-size", "8", "--no-val", "--steps", "5", "--resume", dir.path])
        #expect(lr.status == 1 && lr.stderr.contains("optimizer"), "\(lr.stderr)")
    }

    @Test func interruptWritesAResumableCheckpoint() throws {
        let dir = try makeTemporaryFolder("train-sigint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = try startRepro(Self.common + ["--steps", "400", "--checkpoint-dir", dir.path, "--checkpoint-every", "1"])
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: dir.path + "/latest.json") })
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("latest.json"))) as? [String: Any]
        let steps = try #require(sidecar?["completedSteps"] as? Int)
        #expect(steps >= 1 && steps < 400)
        let target = String(steps + 2)
        let resumed = try runRepro(Self.common + ["--steps", target, "--resume", dir.path, "--log", "-"])
        let whole = try runRepro(Self.common + ["--steps", target, "--log", "-"])
        #expect(resumed.status == 0 && whole.status == 0, "\(resumed.stderr)")
        #expect(try Self.finalDigest(resumed) == Self.finalDigest(whole))
    }

    @Test func exportsTorchAndSafetensorsWeights() throws {
        let dir = try makeTemporaryFolder("train-export")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["w.pth", "w.safetensors"] {
            let r = try runRepro(Self.common + ["--steps", "1", "--export", dir.path + "/" + name])
            #expect(r.status == 0, "\(r.stderr)")
            // Training from the export for 0 steps reproduces the exported weights.
            let back = try runRepro(Self.common + ["--steps", "0", "--weights", dir.path + "/" + name, "--log", "-"])
            #expect(back.status == 0, "\(back.stderr)")
            #expect(r.stdout.contains(try Self.finalDigest(back)), "\(name)")
        }
    }

    @Test func badInputIsNamed() throws {
        let root = try makeTemporaryFolder("train-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        // An empty folder.
        let empty = try runRepro(["train", root.path, "--no-progress"])
        #expect(empty.status == 1 && empty.stderr.contains("no images"), "\(empty.stderr)")
        // A class folder without images.
        for (c, name) in ["a", "b"].enumerated() {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true)
            for i in 0..<4 {
                let pixels = (0..<(8 * 8 * 3)).map { UInt8(truncatingIfNeeded: $0 &* (3 + i) &+ c &* 101) }
                try Image(width: 8, height: 8, channels: 3, pixels: pixels).writePNG(to: root.path + "/\(name)/\(i).png")
            }
        }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("c"), withIntermediateDirectories: true)
        let noImages = try runRepro(["train", root.path, "--no-progress", "--batch-size", "4"])
        #expect(noImages.status == 1 && noImages.stderr.contains("/c: class folder without images"), "\(noImages.stderr)")
        try FileManager.default.removeItem(at: root.appendingPathComponent("c"))
        let fine = try runRepro(["train", root.path, "--no-progress", "--batch-size", "4", "--steps", "2", "--shuffle", "none"])
        #expect(fine.status == 0, "\(fine.stderr)")
        // A corrupt image: the run stops naming the sample, or skips it when asked.
        try Data("not a png".utf8).write(to: root.appendingPathComponent("a/2.png"))
        let corrupt = try runRepro(["train", root.path, "--no-progress", "--batch-size", "4", "--steps", "2", "--shuffle", "none"])
        #expect(corrupt.status == 1 && corrupt.stderr.contains("sample 2") && corrupt.stderr.contains("a/2.png"), "\(corrupt.stderr)")
        let skipped = try runRepro(["train", root.path, "--no-progress", "--batch-size", "4", "--steps", "2", "--shuffle", "none",
                                    "--skip-unreadable", "--log", "-"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("skipped unreadable sample 2"), "\(skipped.stderr)")
        #expect(try parseJSONLines(skipped.stdout).first?["samples"] as? Int == 3)
        // --micro-batch larger than the batch.
        let micro = try runRepro(Self.common + ["--steps", "1", "--micro-batch", "9"])
        #expect(micro.status != 0 && micro.stderr.contains("--micro-batch 9 is larger than --batch-size 8"), "\(micro.stderr)")
        // An unwritable checkpoint folder.
        let locked = root.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: locked.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: locked.path) }
        if getuid() != 0 {
            let unwritable = try runRepro(Self.common + ["--steps", "1", "--checkpoint-dir", locked.path])
            #expect(unwritable.status == 1 && unwritable.stderr.contains(locked.path), "\(unwritable.stderr)")
        }
        let fileAsDir = try runRepro(Self.common + ["--steps", "1", "--checkpoint-dir", root.path + "/a/0.png"])
        #expect(fileAsDir.status == 1 && fileAsDir.stderr.contains("a/0.png"), "\(fileAsDir.stderr)")
        #if os(Linux)
        // A folder that cannot be created even by root (procfs): refused before training.
        let proc = try runRepro(Self.common + ["--steps", "1", "--checkpoint-dir", "/proc/repro-checkpoints"])
        #expect(proc.status == 1 && proc.stderr.contains("/proc/repro-checkpoints: cannot create the checkpoint folder"), "\(proc.stderr)")
        #endif
        // A non-finite loss: stopped with the step and batch named; the last good checkpoint stays intact.
        // Steps 1–2 train at lr 0.05, then StepLR multiplies it by 1e30: the weights blow up at step 3 or 4.
        let nan = root.appendingPathComponent("nan")
        let explosive = Self.common + ["--schedule", "step", "--lr-step-size", "2", "--lr-gamma", "1e30"]
        let blowUp = try runRepro(explosive + ["--steps", "20", "--checkpoint-dir", nan.path, "--checkpoint-every", "1"])
        #expect(blowUp.status == 1, "\(blowUp.stderr)")
        #expect(blowUp.stderr.contains("non-finite") && blowUp.stderr.contains("batch samples"), "\(blowUp.stderr)")
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: nan.appendingPathComponent("latest.json"))) as? [String: Any]
        let good = try #require(sidecar?["completedSteps"] as? Int)
        #expect(good == 2 || good == 3, "\(blowUp.stderr)")
        #expect(blowUp.stderr.contains("at step \(good + 1)"), "\(blowUp.stderr)")
        #expect(blowUp.stderr.contains("the last good checkpoint is \(nan.path)/step-0000000\(good)"), "\(blowUp.stderr)")
        // The checkpoint loads (its hashes verified) and equals an uninterrupted run of `good` steps; training from it fails again
        // at the same step.
        let upToGood = try runRepro(explosive + ["--steps", String(good), "--log", "-"])
        let fromCheckpoint = try runRepro(explosive + ["--steps", String(good), "--resume", nan.path, "--log", "-"])
        #expect(upToGood.status == 0 && fromCheckpoint.status == 0, "\(fromCheckpoint.stderr)")
        #expect(try Self.finalDigest(fromCheckpoint) == Self.finalDigest(upToGood))
        let again = try runRepro(explosive + ["--steps", "20", "--resume", nan.path])
        #expect(again.status == 1 && again.stderr.contains("non-finite") && again.stderr.contains("at step \(good + 1)"), "\(again.stderr)")
    }
}
