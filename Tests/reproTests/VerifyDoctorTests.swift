import Foundation
import Repro
import Testing
import _ReproTestSupport

/// `repro detect/batches --manifest`, `repro verify` and `repro doctor`, end to end, on the small
/// `mini` architecture (hidden `--arch mini`) with checkpoints written here from seeded models.
@Suite struct VerifyDoctorTests {
    /// A 120×90 gradient PNG (`shift` changes the pixels).
    static func writeImage(_ path: String, shift: Int = 0) throws {
        var pixels: [UInt8] = []
        for y in 0..<90 { for x in 0..<120 { pixels += [UInt8(x * 2), UInt8((y * 2 + shift) % 256), UInt8((x + y) % 256)] } }
        try Image(width: 120, height: 90, channels: 3, pixels: pixels).writePNG(to: path)
    }

    /// The mini model initialised from `seed`, as safetensors (keys optionally prefixed).
    static func writeWeights(_ path: String, seed: Int64, prefix: String = "") throws {
        let dict = try StateDict(module: RetinaNet(configuration: .mini, seed: seed))
        try StateDict(dict.keys.map { (prefix + $0, dict[$0]!) }).writeSafetensors(to: path)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not JSON: \(text)")
    }

    static let mini = ["--arch", "mini", "--score-threshold", "0", "--max-detections", "3", "--no-progress"]

    @Test func verifyReproducesThenPinpointsChangedWeightsAndInput() throws {
        let dir = try makeTemporaryFolder("verify").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/scene.png", weights = dir + "/w.safetensors", out = dir + "/out.jsonl", manifest = dir + "/run.json"
        try Self.writeImage(image)
        try Self.writeWeights(weights, seed: 5)
        let run = try runRepro(["detect", image, "--weights", weights, "--json", "--output", out, "--manifest", manifest,
                                "--threads", "2"] + Self.mini)
        #expect(run.status == 0, "\(run.stderr)")
        let m = try Self.json(String(contentsOfFile: manifest, encoding: .utf8))
        #expect(m["schema_version"] as? Int == RunManifest.currentSchemaVersion)
        let w = try #require(m["weights"] as? [String: Any])
        #expect(w["sha256"] as? String == RunManifest.fileSHA256(weights))
        #expect(w["tensors_sha256"] as? String == (try StateDict(contentsOf: weights).canonicalSHA256))
        let inputs = try #require(m["inputs"] as? [[String: Any]])
        #expect(inputs.count == 1 && inputs[0]["path"] as? String == image && inputs[0]["pixel_sha256"] is String)
        #expect((m["outputs"] as? [Any])?.count == 1)
        #expect(m["output_sha256"] as? String == RunManifest.fileSHA256(out), "the whole output's hash is the --output file's")
        #expect((m["runtime"] as? [String: Any])?["threads"] as? Int == 2)
        #expect((m["seeds"] as? [String: String])?["model"] == "3407")
        #expect(((m["executable"] as? [String: Any])?["sha256"] as? String)?.count == 64)

        // Same job, other thread count: reproduced; the thread count is the one (harmless) changed fact.
        let same = try runRepro(["verify", manifest, "--json", "--threads", "1"])
        #expect(same.status == 0, "\(same.stdout) \(same.stderr)")
        let ok = try Self.json(same.stdout)
        #expect(ok["reproduced"] as? Bool == true && (ok["outputs_differing"] as? [String])?.isEmpty == true)
        let okFacts = try #require(ok["changed_facts"] as? [[String: Any]])
        #expect(okFacts.map { $0["fact"] as? String } == ["threads"] && okFacts[0]["explains_outputs"] as? Bool == false)
        let text = try runRepro(["verify", manifest])
        #expect(text.status == 0 && text.stdout.hasPrefix("reproduced: 1 outputs identical"), "\(text.stdout)")

        // Other weights: the detections differ, and the weights are named first.
        try Self.writeWeights(weights, seed: 6)
        let changed = try runRepro(["verify", manifest, "--json"])
        #expect(changed.status == 1, "\(changed.stderr)")
        let bad = try Self.json(changed.stdout)
        #expect(bad["reproduced"] as? Bool == false)
        #expect(bad["outputs_differing"] as? [String] == [image, "whole output"])
        let facts = try #require(bad["changed_facts"] as? [[String: Any]]).map { $0["fact"] as? String }
        #expect(Array(facts.prefix(2)) == ["weights tensors", "weights file"], "\(facts)")

        // Weights back, other pixels: the input is named first.
        try Self.writeWeights(weights, seed: 5)
        try Self.writeImage(image, shift: 17)
        let input = try runRepro(["verify", manifest, "--json"])
        #expect(input.status == 1, "\(input.stderr)")
        let inputFacts = try #require(try Self.json(input.stdout)["changed_facts"] as? [[String: Any]])
        #expect(inputFacts.first?["fact"] as? String == "input \(image) pixels")
        #expect(inputFacts.contains { $0["fact"] as? String == "input \(image) file" })
        #expect(!inputFacts.contains { ($0["fact"] as? String)?.hasPrefix("weights") == true })

        // A missing input cannot run: exit 2, the file named.
        try FileManager.default.removeItem(atPath: image)
        let missing = try runRepro(["verify", manifest])
        #expect(missing.status == 2 && missing.stderr.contains(image), "\(missing.stderr)")
    }

    @Test func newerCorruptAndTruncatedManifestsAreRefused() throws {
        let dir = try makeTemporaryFolder("manifest").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/scene.png", manifest = dir + "/run.json"
        try Self.writeImage(image)
        // A manifest may never replace an input.
        let clash = try runRepro(["detect", image, "--manifest", image] + Self.mini)
        #expect(clash.status != 0 && clash.stderr.contains(image))
        #expect(try Image(contentsOfFile: image).width == 120, "the input was overwritten")
        let run = try runRepro(["detect", image, "--manifest", manifest] + Self.mini)
        #expect(run.status == 0, "\(run.stderr)")
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        #expect(try RunManifest(contentsOf: manifest).command.subcommand == "detect")
        let cases: [(String, String)] = [
            (text.replacingOccurrences(of: "\"schema_version\" : 1", with: "\"schema_version\" : 99"), "newer"),
            (String(text.prefix(text.count / 2)), "not a valid Repro manifest"),
            (text.replacingOccurrences(of: "\"output_sha256\"", with: "\"x\""), "output_sha256"),
            ("[1, 2]", "not a JSON object"),
        ]
        for (i, (content, message)) in cases.enumerated() {
            let path = dir + "/bad\(i).json"
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try runRepro(["verify", path])
            #expect(r.status == 2, "case \(i): \(r.stderr)")
            #expect(r.stderr.contains(message) && r.stderr.contains(path), "case \(i): \(r.stderr)")
        }
        let absent = try runRepro(["verify", dir + "/none.json"])
        #expect(absent.status == 2 && absent.stderr.contains("none.json"))
    }

    @Test func batchesManifestVerifies() throws {
        let root = try makeImageFolder(sameSize: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let manifest = root + ".manifest.json"
        defer { try? FileManager.default.removeItem(atPath: manifest) }
        let run = try runRepro(["batches", root, "--seed", "3", "--batch-size", "4", "--manifest", manifest])
        #expect(run.status == 0, "\(run.stderr)")
        let m = try RunManifest(contentsOf: manifest)
        #expect(m.inputs.count == 10 && m.inputs.allSatisfy { $0.pixelSHA256 != nil && $0.sha256 != nil })
        #expect(m.outputs.map(\.name) == ["epoch 0 batch 0", "epoch 0 batch 1", "epoch 0 batch 2"])
        #expect(m.seeds == ["loader": "3"])
        let lines = run.stdout.split(separator: "\n")
        #expect(m.outputs.map(\.sha256) == lines.map { String($0.split(separator: " ").last!) })
        let verify = try runRepro(["verify", manifest, "--threads", "1"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.hasPrefix("reproduced: 3 outputs identical"))
    }

    @Test func doctorFindsThePrefixAndDetectStripsIt() throws {
        let dir = try makeTemporaryFolder("doctor").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/scene.png", plain = dir + "/plain.safetensors", ddp = dir + "/ddp.safetensors"
        try Self.writeImage(image)
        try Self.writeWeights(plain, seed: 5)
        try Self.writeWeights(ddp, seed: 5, prefix: "module.")

        let diagnosis = try runRepro(["doctor", "--weights", ddp, "--arch", "mini", "--json"])
        #expect(diagnosis.status == 1, "\(diagnosis.stderr)")
        let d = try Self.json(diagnosis.stdout)
        #expect(d["file"] as? String == ddp && d["arch"] as? String == "mini")
        #expect(d["prefix"] as? String == "module." && d["verdict"] as? String == "seed-dependent")
        #expect(d["verdict_after_stripping"] as? String == "complete")
        #expect(d["matched"] as? Int == 0 && (d["random"] as? [String])?.isEmpty == false)
        #expect((d["unexpected"] as? [String])?.count == d["entries"] as? Int)
        for key in ["missing", "mismatched", "dtypes", "nonfinite"] { #expect(d[key] != nil, "\(key)") }
        let complete = try runRepro(["doctor", "--weights", plain, "--arch", "mini"])
        #expect(complete.status == 0 && complete.stdout.contains("verdict: complete"), "\(complete.stdout)")

        // detect refuses the prefixed file, naming the prefix and the option…
        let refused = try runRepro(["detect", image, "--weights", ddp] + Self.mini)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("--strip-prefix module."), "\(refused.stderr)")
        #expect(refused.stderr.contains("0 of ") && refused.stderr.contains("expected tensors matched; nothing was loaded"))
        // …and with --strip-prefix gives exactly the detections of the plain file.
        let stripped = try runRepro(["detect", image, "--weights", ddp, "--strip-prefix", "module.", "--json"] + Self.mini)
        let reference = try runRepro(["detect", image, "--weights", plain, "--json"] + Self.mini)
        #expect(stripped.status == 0 && reference.status == 0, "\(stripped.stderr)")
        #expect(stripped.stdout.split(separator: "\n").dropFirst() == reference.stdout.split(separator: "\n").dropFirst())

        // A 2-class head: --num-classes runs it; doctor calls the 91-class head seed-dependent.
        var two = RetinaNetConfiguration.mini
        two.numClasses = 2
        let head = dir + "/two.safetensors"
        try StateDict(module: RetinaNet(configuration: two, seed: 8)).writeSafetensors(to: head)
        let coco = try runRepro(["doctor", "--weights", head, "--arch", "mini", "--json"])
        #expect(coco.status == 1)
        let mismatched = try #require(try Self.json(coco.stdout)["mismatched"] as? [[String: Any]])
        #expect(mismatched.map { $0["name"] as? String } == ["head.classification_head.cls_logits.weight", "head.classification_head.cls_logits.bias"])
        #expect(try runRepro(["doctor", "--weights", head, "--arch", "mini", "--num-classes", "2"]).status == 0)
        let fineTuned = try runRepro(["detect", image, "--weights", head, "--num-classes", "2", "--json"] + Self.mini)
        #expect(fineTuned.status == 0, "\(fineTuned.stderr)")
        let labels = try parseJSONLines(fineTuned.stdout).last?["detections"] as? [[String: Any]]
        #expect(labels?.isEmpty == false && labels?.allSatisfy { ($0["label"] as? Int).map { $0 < 2 } ?? false } == true)

        // Not a checkpoint: exit 2, named.
        let junk = dir + "/junk.bin"
        try Data("not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: junk))
        let unreadable = try runRepro(["doctor", "--weights", junk])
        #expect(unreadable.status == 2 && unreadable.stderr.contains(junk), "\(unreadable.stderr)")
    }

    @Test func doctorChecksTheEnvironment() throws {
        let r = try runRepro(["doctor", "--json"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let report = try Self.json(r.stdout)
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(Set(checks.compactMap { $0["name"] as? String })
                    .isSuperset(of: ["hashing", "threads", "floating point", "cpu", "deterministic algorithms"]))
        let fp = try #require(checks.first { $0["name"] as? String == "floating point" })
        #expect(fp["status"] as? String == "ok" && (fp["detail"] as? String)?.contains("subnormals kept") == true)
        let off = try runRepro(["doctor"], environment: ProcessInfo.processInfo.environment.merging(["REPRO_DETERMINISTIC": "0"]) { $1 })
        #expect(off.status == 1 && off.stdout.contains("FAIL deterministic algorithms"), "\(off.stdout)")
    }

    /// The README's "Proving a run reproducible" commands use only options their subcommand's
    /// `--help` lists (they need checkpoints the repository does not hold, so they are not run;
    /// the tests above run the same options on generated files).
    @Test func readmeCommandsUseListedOptions() throws {
        let readme = try String(contentsOf: Fixtures.root.appendingPathComponent("../../README.md").standardizedFileURL, encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("## Proving a run reproducible") })
        var commands: [[String]] = []
        var inBlock = false
        for line in lines[(start + 1)...] {
            if !inBlock && line.hasPrefix("## ") { break }
            if line.hasPrefix("```") { inBlock.toggle(); continue }
            if inBlock && line.hasPrefix("repro ") {
                let code = line.firstRange(of: " #").map { line[..<$0.lowerBound] } ?? line
                commands.append(code.split(separator: " ").map(String.init))
            }
        }
        #expect(commands.count >= 5)
        #expect(Set(commands.map { $0[1] }) == ["detect", "verify", "doctor"])
        for command in commands {
            let help = try runRepro([command[1], "--help"])
            #expect(help.status == 0)
            for option in command where option.hasPrefix("--") {
                #expect(help.stdout.contains(option), "`\(option)` is not in `repro \(command[1]) --help`")
            }
        }
    }
}
