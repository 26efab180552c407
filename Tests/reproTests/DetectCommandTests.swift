import Foundation
import Testing
import _ReproTestSupport

/// `repro detect` failure paths (cheap: they fail before the model is built).
/// The full-size run is exercised by the README command; detections are covered by
/// ReproVisionTests (parity, invariance).
@Suite struct DetectCommandTests {
    @Test func unknownArchitectureIsAUsageError() throws {
        let r = try runRepro(["detect", "--arch", "v3"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--arch must be v2 or v1"))
    }

    @Test func unreadableCheckpointExitsWithItsName() throws {
        let r = try runRepro(["detect", "--weights", "/nonexistent/model.pth"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/nonexistent/model.pth: error:"))
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
        #expect(r.stderr.contains("/nonexistent/photo.jpg: error:"))
    }

    @Test func badNumericOptionsAreRejected() throws {
        for args in [["--batch", "0"], ["--threads", "0"], ["--max-detections", "-1"], ["--norm-eps", "-1"], ["--norm-eps", "nan"]] {
            let r = try runRepro(["detect"] + args)
            #expect(r.status != 0, "\(args)")
        }
    }
}
