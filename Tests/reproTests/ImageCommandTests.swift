import Foundation
import Testing
import _ReproTestSupport

/// End-to-end tests of `repro image`.
@Suite struct ImageCommandTests {
    @Test func printsPillowDigestAsJSON() throws {
        let jpg = Fixtures.url("images/exif_orient6.jpg").path
        let png = Fixtures.url("images/pal_13x11_d4.png").path
        let r = try runRepro(["image", jpg, png, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let list = try parseJSONLines(r.stdout)   // one object per file and line
        #expect(list.count == 2)
        let manifest = try Fixtures.json("images/manifest.json")
        let entries = try #require(try manifest["images"].raw as? [[String: Any]])
        func expected(_ name: String) -> [String: Any]? { entries.first { $0["file"] as? String == name } }
        let e0 = try #require(expected("exif_orient6.jpg")), e1 = try #require(expected("pal_13x11_d4.png"))
        #expect(list[0]["rgb_sha256"] as? String == e0["rgb_sha256"] as? String)
        #expect(list[0]["exif_orientation"] as? Int == 6)
        #expect(list[0]["format"] as? String == "JPEG")
        #expect(list[0]["width"] as? Int == 20 && list[0]["height"] as? Int == 12)
        #expect(list[1]["rgb_sha256"] as? String == e1["rgb_sha256"] as? String)
        #expect(list[1]["mode"] as? String == "P")
    }

    @Test func textOutputAndFailures() throws {
        let png = Fixtures.url("images/gray_1x1_d8.png").path
        let ok = try runRepro(["image", png])
        #expect(ok.status == 0)
        #expect(ok.stdout.hasPrefix("\(png): PNG 1x1 L channels=1 orientation=1 rgb_sha256="))
        let bad = try runRepro(["image", png, "/nonexistent/file.jpg"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("/nonexistent/file.jpg: error: cannot open: No such file or directory"))
        #expect(!bad.stderr.contains("NSCocoaErrorDomain"))
        let limited = try runRepro(["image", Fixtures.url("images/q075_420.jpg").path, "--max-pixels", "100", "--json"])
        #expect(limited.status == 1)
        let failure = try #require(try parseJSONLines(limited.stdout).first)
        #expect(failure["file"] as? String == Fixtures.url("images/q075_420.jpg").path)
        #expect((failure["error"] as? String)?.contains("exceeds the limit of 100 pixels") == true)
    }

    @Test func standardInputAndOutputFile() throws {
        let png = Fixtures.url("images/pal_13x11_d4.png").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        let fromFile = try runRepro(["image", png, "--json"])
        let fromStdin = try runRepro(["image", "-", "--json"], stdin: bytes)
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        let a = try #require(try parseJSONLines(fromFile.stdout).first), b = try #require(try parseJSONLines(fromStdin.stdout).first)
        #expect(b["file"] as? String == "-")
        #expect(a["rgb_sha256"] as? String == b["rgb_sha256"] as? String)
        // --output writes the same JSON to a file; an output over the input is refused and the input kept.
        let dir = try makeTemporaryFolder("image-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.png").path
        try bytes.write(to: URL(fileURLWithPath: input))
        let out = dir.appendingPathComponent("out.jsonl").path
        let written = try runRepro(["image", input, "--json", "--output", out])
        #expect(written.status == 0 && written.stdout.isEmpty)
        #expect(try parseJSONLines(String(contentsOfFile: out, encoding: .utf8)).count == 1)
        let refused = try runRepro(["image", input, "--json", "--output", input])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(input): refusing to write an output over the input \(input)"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == bytes)
    }
}
