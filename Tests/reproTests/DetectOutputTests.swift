import Foundation
import ReproImage
import Testing

/// `repro detect`'s outputs: never over an input, never colliding, checked before the model is
/// built, written record by record (so an interrupted run keeps what was done), images decoded
/// when their batch comes. Runs the small `mini` architecture (hidden `--arch mini`).
@Suite struct DetectOutputTests {
    /// Writes a small gradient PNG (`shift` changes the pixels) and returns its bytes.
    @discardableResult
    func writeImage(_ path: String, shift: Int = 0, width: Int = 48, height: Int = 36) throws -> Data {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width { pixels += [UInt8((x * 5 + shift) % 256), UInt8((y * 7) % 256), UInt8((x + y + shift) % 256)] }
        }
        let data = Data(try Image(width: width, height: height, channels: 3, pixels: pixels).pngData())
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
        return data
    }

    static let mini = ["--arch", "mini", "--score-threshold", "0", "--max-detections", "3", "--no-progress"]
    static let modelBuiltMarker = DetectCommandTests.modelBuiltMarker

    @Test func outputOverAnInputIsRefusedAndTheInputUntouched() throws {
        let dir = try makeTemporaryFolder("detect-overwrite")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("photo.png").path
        let bytes = try writeImage(input)
        // The same file by another spelling, and through a symbolic link.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link.png").path, withDestinationPath: input)
        for output in [input, dir.path + "/sub/../photo.png", dir.appendingPathComponent("link.png").path] {
            let r = try runRepro(["detect", input, "--json", "--output", output] + Self.mini)
            #expect(r.status == 1, "\(output)")
            #expect(r.stderr.contains("\(output): refusing to write an output over the input \(input)"), "\(r.stderr)")
            #expect(!r.stderr.contains(Self.modelBuiltMarker))
            #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == bytes)
        }
        // An overlay that would land on an input: `--draw` into the input's folder, where an input is
        // already named like photo.png's overlay.
        let overlayNamed = dir.appendingPathComponent("photo.detections.png").path
        try writeImage(overlayNamed, shift: 3)
        let r = try runRepro(["detect", input, overlayNamed, "--draw", dir.path] + Self.mini)
        #expect(r.status == 1)
        #expect(r.stderr.contains("refusing to write an output over the input \(overlayNamed)"), "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == bytes)
    }

    @Test func unwritableOutputsFailBeforeTheModelIsBuilt() throws {
        let dir = try makeTemporaryFolder("detect-unwritable")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("photo.png").path
        try writeImage(input)
        let aFile = dir.appendingPathComponent("plain-file").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: aFile))
        let cases: [([String], String)] = [
            (["--json", "--output", dir.path + "/missing/out.jsonl"],
             "\(dir.path)/missing/out.jsonl: cannot write there: the directory \(dir.path)/missing does not exist"),
            (["--json", "--output", dir.path], "\(dir.path): is a directory; the output must be a file path"),
            (["--draw", aFile], "\(aFile): exists and is not a directory"),
            (["--draw", aFile + "/overlays"], "\(aFile)/overlays: cannot create the output directory: \(aFile) is not a directory"),
            (["--coco", "--output", aFile + "/out.json"], "\(aFile)/out.json: cannot write there: \(aFile) is not a directory"),
        ]
        for (args, message) in cases {
            let r = try runRepro(["detect", input] + args + Self.mini)
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains(Self.modelBuiltMarker), "\(args): the model was built before the output was checked")
            #expect(!r.stderr.lowercased().contains("usage:"), "\(args)")
        }
    }

    @Test func inputsWithOneBaseNameGetTheirOwnOverlays() throws {
        let dir = try makeTemporaryFolder("detect-overlays")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a/img.png").path, b = dir.appendingPathComponent("b/img.png").path
        try writeImage(a, shift: 0)
        try writeImage(b, shift: 100)
        let out = dir.appendingPathComponent("overlays")
        let r = try runRepro(["detect", a, b, a, "--draw", out.path, "--batch-size", "2"] + Self.mini)
        #expect(r.status == 0, "\(r.stderr)")
        let names = try #require(FileManager.default.subpaths(atPath: out.path)).filter { $0.hasSuffix(".png") }.sorted()
        #expect(names == ["a/img.2.detections.png", "a/img.detections.png", "b/img.detections.png"])
        let overlayA = try Data(contentsOf: out.appendingPathComponent("a/img.detections.png"))
        let overlayB = try Data(contentsOf: out.appendingPathComponent("b/img.detections.png"))
        #expect(overlayA != overlayB, "each overlay shows its own image")
        #expect(try Data(contentsOf: out.appendingPathComponent("a/img.2.detections.png")) == overlayA)
    }

    /// Starts `repro detect` on [first image, FIFO]: the FIFO blocks the run until the test writes an
    /// image into it, so the run is paused after the first image at a point the test controls.
    func startBlockedRun(_ dir: URL, format: [String]) throws -> (Process, output: String, fifo: String, second: Data) {
        let first = dir.appendingPathComponent("first.png").path
        try writeImage(first)
        let second = try writeImage(dir.appendingPathComponent("second-source.png").path, shift: 50)
        let fifo = dir.appendingPathComponent("second.png").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let output = dir.appendingPathComponent("out").path
        let p = try startRepro(["detect", first, fifo, "--output", output, "--batch-size", "1"] + format + Self.mini)
        return (p, output, fifo, second)
    }

    func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Structural proof that images are decoded when their batch comes (memory bounded by the batch):
    /// the first image's record is written while the second input has not been read yet (a FIFO
    /// nobody has written to; reading it all up front would block before any inference).
    @Test func imagesAreDecodedWhenTheirBatchComes() throws {
        let dir = try makeTemporaryFolder("detect-lazy")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (p, output, fifo, second) = try startBlockedRun(dir, format: ["--json"])
        defer { if p.isRunning { p.terminate() } }
        let firstWritten = waitUntil(seconds: 600) { contents(output).split(separator: "\n").count >= 2 || !p.isRunning }
        #expect(firstWritten && p.isRunning, "the first record must be written before the second input is read")
        // Now feed the second image; the run finishes with both records.
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: fifo))
        try writer.write(contentsOf: second)
        try writer.close()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let records = try parseJSONLines(contents(output))
        #expect(records.count == 3)
        #expect(records.dropFirst().map { $0["file"] as? String } == [dir.appendingPathComponent("first.png").path, fifo])
        #expect(records[2]["width"] as? Int == 48)
    }

    @Test func interruptedJSONRunKeepsFinishedRecords() throws {
        let dir = try makeTemporaryFolder("detect-sigterm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (p, output, _, _) = try startBlockedRun(dir, format: ["--json"])
        #expect(waitUntil(seconds: 600) { contents(output).split(separator: "\n").count >= 2 || !p.isRunning })
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGTERM)
        let records = try parseJSONLines(contents(output))
        #expect(records.count == 2)
        let provenance = try #require(records.first?["provenance"] as? [String: Any])
        #expect(provenance["architecture"] as? String == "mini" && provenance["seed"] as? String == "3407")
        #expect((records[1]["detections"] as? [Any])?.count == 3)
    }

    @Test func interruptedCOCORunLeavesAClosedArray() throws {
        let dir = try makeTemporaryFolder("detect-sigint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (p, output, _, _) = try startBlockedRun(dir, format: ["--coco"])
        #expect(waitUntil(seconds: 600) { contents(output).contains("image_id") || !p.isRunning })
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 128 + SIGINT)
        let results = try #require(try JSONSerialization.jsonObject(with: Data(contents(output).utf8)) as? [[String: Any]])
        #expect(results.count == 3)
        #expect(results.allSatisfy { $0["image_id"] as? Int == 1 })
    }

    /// --coco against --json on the same inputs (one from standard input), with a negative seed:
    /// COCO's [x, y, width, height] is the record's [x1, y1, x2 - x1, y2 - y1]; ids follow the file names.
    @Test func cocoResultsMatchTheJSONRecords() throws {
        let dir = try makeTemporaryFolder("detect-coco")
        defer { try? FileManager.default.removeItem(at: dir) }
        let named = dir.appendingPathComponent("000000000139.png").path
        try writeImage(named)
        let stdin = try writeImage(dir.appendingPathComponent("other.png").path, shift: 77)
        let common = ["detect", named, "-", "--seed", "-1"] + Self.mini
        let json = try runRepro(common + ["--json"], stdin: stdin)
        let coco = try runRepro(common + ["--coco"], stdin: stdin)
        #expect(json.status == 0 && coco.status == 0, "\(json.stderr)\(coco.stderr)")
        let records = try parseJSONLines(json.stdout)
        for key in records.flatMap(allKeys) { #expect(isSnakeCase(key), "key \(key)") }
        let provenance = try #require(records.first?["provenance"] as? [String: Any])
        #expect(provenance["seed"] as? String == "-1")
        #expect(provenance["repro_version"] as? String == "0.1.0")
        #expect(provenance["score_threshold"] as? Double == 0 && provenance["max_detections"] as? Int == 3)
        #expect(records.dropFirst().map { $0["image_id"] as? Int } == [139, 2])
        #expect(records.dropFirst().map { $0["file"] as? String } == [named, "-"])
        let results = try #require(try JSONSerialization.jsonObject(with: Data(coco.stdout.utf8)) as? [[String: Any]])
        #expect(results.count == 6)
        var expected: [(Int, Int, [Float], Float)] = []
        for record in records.dropFirst() {
            for d in try #require(record["detections"] as? [[String: Any]]) {
                let b = try #require(d["box"] as? [Double]).map(Float.init)
                expected.append((record["image_id"] as! Int, d["label"] as! Int, [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                                 Float(d["score"] as! Double)))
            }
        }
        for (result, (id, category, bbox, score)) in zip(results, expected) {
            #expect(Set(result.keys) == ["image_id", "category_id", "bbox", "score"])
            #expect(result["image_id"] as? Int == id && result["category_id"] as? Int == category)
            // Tolerance only for the JSON parser: Foundation's JSONSerialization may read a shortest
            // round-trip decimal one ulp off (see RandomCommandTests), so compare to 1e-5 relative.
            let got = try #require(result["bbox"] as? [Double]).map(Float.init)
            for (g, e) in zip(got, bbox) { #expect(abs(g - e) <= 1e-5 * max(1, abs(e)), "\(got) vs \(bbox)") }
            #expect(abs(Float(result["score"] as! Double) - score) <= 1e-6)
        }
    }
}
