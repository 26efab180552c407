import Foundation
import Testing

/// `repro env` and the deterministic-hashing re-execution, end to end.
@Suite struct EnvCommandTests {
    static let keys = [
        "architecture", "buildConfiguration", "cpuFeatures", "cpuModel", "cpuSupportsBuild",
        "deterministicHashing", "deterministicHashingOrigin", "gitCommit", "gitCommitSource", "kernel",
        "operatingSystem", "reproVersion", "simdBuild", "swiftCompiler", "threadCount",
    ]

    func envJSON(_ environment: [String: String]?) throws -> (raw: String, object: [String: Any]) {
        let r = try runRepro(["env", "--json"], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return (r.stdout, obj)
    }

    @Test func jsonHasEveryKeyInSortedOrder() throws {
        let (raw, obj) = try envJSON(nil)
        #expect(obj.keys.sorted() == Self.keys)
        // Keys appear in sorted order in the text itself.
        let positions = Self.keys.map { raw.range(of: "\"\($0)\"")!.lowerBound }
        #expect(positions == positions.sorted())
        #expect(obj["reproVersion"] as? String == "0.1.0")
        #expect((obj["threadCount"] as? Int ?? 0) >= 1)
        let commit = try #require(obj["gitCommit"] as? String)
        #expect(commit == "unknown" || (commit.count == 40 && commit.allSatisfy(\.isHexDigit)))
        #if arch(x86_64)
        #expect(obj["simdBuild"] as? [String] == ["AVX2", "FMA"])
        #endif
        #if DEBUG
        #expect(obj["buildConfiguration"] as? String == "debug")
        #else
        #expect(obj["buildConfiguration"] as? String == "release")
        #endif
    }

    @Test func reexecutesOnceToMakeHashingDeterministic() throws {
        let (_, obj) = try envJSON([:])
        #expect(obj["deterministicHashing"] as? Bool == true)
        #expect(obj["deterministicHashingOrigin"] as? String == "set by repro re-executing itself")
    }

    @Test func respectsTheOptOutAndTheUsersValue() throws {
        let optOut = try envJSON(["REPRO_NO_REEXEC": "1"]).object
        #expect(optOut["deterministicHashing"] as? Bool == false)
        #expect(optOut["deterministicHashingOrigin"] as? String == "not set (REPRO_NO_REEXEC opts out)")
        let userOn = try envJSON(["SWIFT_DETERMINISTIC_HASHING": "1"]).object
        #expect(userOn["deterministicHashing"] as? Bool == true)
        #expect(userOn["deterministicHashingOrigin"] as? String == "set in the environment at launch")
        let userOff = try envJSON(["SWIFT_DETERMINISTIC_HASHING": "0"]).object
        #expect(userOff["deterministicHashing"] as? Bool == false)
        // The loop guard: a process marked as re-executed never re-executes again.
        let guarded = try envJSON(["REPRO_REEXECUTED": "1"]).object
        #expect(guarded["deterministicHashing"] as? Bool == false)
    }

    @Test func textOutputAndHelp() throws {
        let r = try runRepro(["env"])
        #expect(r.status == 0)
        for label in ["repro:", "git commit:", "swift compiler:", "os:", "kernel:", "cpu:", "simd (build):",
                      "cpu features:", "build:", "threads:", "deterministic hashing:"] {
            #expect(r.stdout.contains("\n" + label) || r.stdout.hasPrefix(label), "\(label)")
        }
        let help = try runRepro(["--help"])
        #expect(help.stdout.contains("REPRO_NO_REEXEC=1"))
        #expect(help.stdout.contains("random") && help.stdout.contains("env"))
        let randomHelp = try runRepro(["random", "--help"])
        #expect(randomHelp.stdout.contains("numpy.default_rng.integers:LOW:HIGH"))
    }
}
