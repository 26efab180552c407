import Foundation
import Testing
import _ReproTestSupport

/// `repro detect` failure paths (cheap: they fail before the model is built).
/// The full-size run is exercised by the README command; detections are covered by
/// ReproVisionTests (parity, invariance).
@Suite struct DetectCommandTests {
    /// The line `repro detect` prints right after building a model without --weights: its absence
    /// proves that a run stopped before the model was built.
    static let modelBuiltMarker = "warning: no --weights given"

    @Test func unknownArchitectureIsAUsageError() throws {
        let r = try runRepro(["detect", "--arch", "v3"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--arch must be v2 or v1"))
    }

    @Test func unreadableCheckpointExitsWithItsName() throws {
        let r = try runRepro(["detect", "--weights", "/nonexistent/model.pth"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/nonexistent/model.pth: error: cannot open: No such file or directory"))
    }

    @Test func hostileCheckpointIsRefusedBeforeAnyWork() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("repro-detect-hostile-\(getpid()).pth").path
        try Data("this is not a checkpoint".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try runRepro(["detect", "--weights", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(path): error:"))
    }

    @Test func unreadableImageExitsNonZero() throws {
        let r = try runRepro(["detect", "/nonexistent/photo.jpg"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/nonexistent/photo.jpg: error: cannot read the image: No such file or directory"))
        #expect(!r.stderr.contains(Self.modelBuiltMarker), "no input left: the model is not built")
    }

    @Test func impossibleOptionsAreRefused() throws {
        let cases: [([String], String)] = [
            (["--batch-size", "0"], "--batch-size must be at least 1"),
            (["--threads", "0"], "--threads must be at least 1"),
            (["--max-detections", "0"], "--max-detections must be at least 1"),
            (["--max-detections", "-1"], "--max-detections must be at least 1"),
            (["--score-threshold", "1"], "--score-threshold must be in [0, 1)"),
            (["--score-threshold", "-0.5"], "--score-threshold must be in [0, 1)"),
            (["--score-threshold", "nan"], "--score-threshold must be in [0, 1)"),
            (["--json", "--coco"], "--json and --coco are two output formats"),
            (["-", "-"], "standard input ('-') can be read only once"),
            (["--seed", "18446744073709551616"], "--seed 18446744073709551616 is out of range"),
            (["--seed", "-9223372036854775809"], "--seed -9223372036854775809 is out of range"),
            (["--seed", "1e3"], "seed '1e3' is not a decimal integer"),
            (["--norm-eps", "-1"], "--norm-eps must be finite and ≥ 0"),
            (["--norm-eps", "nan"], "--norm-eps must be finite and ≥ 0"),
        ]
        for (args, message) in cases {
            let r = try runRepro(["detect"] + args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains(Self.modelBuiltMarker), "\(args)")
        }
    }

    /// Negative and 64-bit seeds parse (torch accepts -2^63...2^64-1); the run then stops at an
    /// output error, before the model is built.
    @Test func negativeAnd64BitSeedsParse() throws {
        for seed in ["-1", "-9223372036854775808", "18446744073709551615"] {
            let r = try runRepro(["detect", "--seed", seed, "--json", "--output", "/nonexistent-dir/out.jsonl"])
            #expect(r.status == 1, "\(seed)")
            #expect(r.stderr.contains("/nonexistent-dir/out.jsonl: cannot write there: the directory /nonexistent-dir does not exist"),
                    "\(seed): \(r.stderr)")
        }
    }
}
