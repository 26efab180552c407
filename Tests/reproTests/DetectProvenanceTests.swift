import Foundation
import Repro
import Testing
import _ReproDigest
import _ReproTestSupport

/// `repro detect --weights`: the checkpoint's SHA-256 (hashed on a thread of its own while the
/// model is built) in the provenance record, and `--profile`'s memory and init-phase fields.
@Suite struct DetectProvenanceTests {
    /// The portable (never SHA-NI) SHA-256 of a file read through Foundation.
    static func independentSHA256(_ path: String) throws -> String {
        var h = SHA256(implementation: .portable)
        h.update([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        return h.finalize().hex
    }

    static func provenance(_ stdout: String) throws -> [String: Any] {
        let first = try #require(stdout.split(separator: "\n").first.map(String.init))
        let record = try VerifyDoctorTests.json(first)
        return try #require(record["provenance"] as? [String: Any], "\(first)")
    }

    /// The provenance's `weights_sha256` is an independent SHA-256 of the file, for a safetensors
    /// and a `.pth` path and for standard input; a file rewritten with other weights gives the new
    /// file's digest (and other detections), the same file the same JSON, byte for byte.
    @Test func provenanceDigestIsTheFilesSHA256AndFollowsAChangedFile() throws {
        let dir = try makeTemporaryFolder("provenance").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/scene.png", safetensors = dir + "/w.safetensors", pth = dir + "/w.pth"
        try VerifyDoctorTests.writeImage(image)
        try VerifyDoctorTests.writeWeights(safetensors, seed: 5)
        try StateDict(contentsOf: safetensors).writeTorchSave(to: pth)
        var outputs: [String: String] = [:]
        for path in [safetensors, pth] {
            let r = try runRepro(["detect", image, "--weights", path, "--json"] + VerifyDoctorTests.mini)
            #expect(r.status == 0, "\(r.stderr)")
            let p = try Self.provenance(r.stdout)
            #expect(p["weights"] as? String == path)
            #expect(p["weights_sha256"] as? String == (try Self.independentSHA256(path)), "\(path)")
            outputs[path] = r.stdout
        }
        let piped = try runRepro(["detect", image, "--weights", "-", "--json"] + VerifyDoctorTests.mini,
                                 stdin: Data(contentsOf: URL(fileURLWithPath: pth)))
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try Self.provenance(piped.stdout)["weights_sha256"] as? String == (try Self.independentSHA256(pth)))

        let again = try runRepro(["detect", image, "--weights", pth, "--json"] + VerifyDoctorTests.mini)
        #expect(again.stdout == outputs[pth], "the same file gives the same output, byte for byte")

        let old = try Self.independentSHA256(pth)
        try VerifyDoctorTests.writeWeights(safetensors, seed: 6)
        try StateDict(contentsOf: safetensors).writeTorchSave(to: pth)
        let changed = try runRepro(["detect", image, "--weights", pth, "--json"] + VerifyDoctorTests.mini)
        #expect(changed.status == 0, "\(changed.stderr)")
        let digest = try #require(try Self.provenance(changed.stdout)["weights_sha256"] as? String)
        #expect(digest == (try Self.independentSHA256(pth)) && digest != old)
        #expect(changed.stdout.split(separator: "\n").dropFirst() != outputs[pth]!.split(separator: "\n").dropFirst())
    }

    /// `--profile` reports the process's peak resident memory (it printed -1 when `VmHWM`'s
    /// number was padded with spaces, i.e. below 10 GB), where the time to a ready model went,
    /// and each pass's page faults and fresh tensor storage.
    @Test func profileReportsPeakMemoryAndInitPhases() throws {
        let dir = try makeTemporaryFolder("profile").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/scene.png", weights = dir + "/w.safetensors"
        try VerifyDoctorTests.writeImage(image)
        try VerifyDoctorTests.writeWeights(weights, seed: 5)
        for extra in [["--weights", weights], ["--seed", "3"]] {
            let r = try runRepro(["detect", image, "--profile", "--profile-runs", "1", "--profile-warmup", "0"]
                                 + extra + VerifyDoctorTests.mini)
            #expect(r.status == 0, "\(r.stderr)")
            let record = try VerifyDoctorTests.json(try #require(r.stdout.split(separator: "\n").last.map(String.init)))
            let peak = try #require(record["peak_rss_kb"] as? Int)
            #expect(peak > 1024, "\(extra): peak_rss_kb \(peak)")
            // One count per pass; on Linux getrusage counts faults, and the first pass of a fresh
            // process allocates its activations fresh (later ones may find them cached).
            let faults = try #require(record["page_faults"] as? [Int]), fresh = try #require(record["fresh_storage_bytes"] as? [Int])
            #expect(faults.count == 1 && fresh.count == 1, "\(record)")
            #expect(faults.allSatisfy { $0 >= 0 } && fresh.allSatisfy { $0 >= 0 }, "\(extra): \(faults) \(fresh)")
            let total = try #require(record["init_seconds"] as? Double)
            let phases = try #require(record["init_phases"] as? [String: Double], "\(record)")
            #expect(Set(phases.keys) == ["read", "construct", "convert", "prepare", "sha256_thread", "sha256_wait"])
            #expect(phases.values.allSatisfy { $0 >= 0 })
            let serial = ["read", "construct", "convert", "prepare", "sha256_wait"].reduce(0) { $0 + phases[$1]! }
            #expect(serial <= total + 1e-6, "\(extra): the serial phases (\(serial) s) fit in init_seconds (\(total) s)")
            if extra[0] == "--weights" {
                #expect(phases["sha256_thread"]! > 0 && phases["convert"]! > 0, "\(phases)")
            } else {
                #expect(phases["read"] == 0 && phases["sha256_thread"] == 0 && phases["construct"]! > 0, "\(phases)")
            }
        }
    }
}
