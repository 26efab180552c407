import Foundation
import Testing

/// `repro env` and the deterministic-hashing re-execution, end to end.
@Suite struct EnvCommandTests {
    static let keys = [
        "architecture", "build_configuration", "cpu_features", "cpu_model", "cpu_supports_build",
        "deterministic_hashing", "deterministic_hashing_origin", "git_commit", "git_commit_source", "kernel", "kernel_isa",
        "operating_system", "repro_version", "simd_build", "swift_compiler", "thread_count",
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
        #expect(obj["repro_version"] as? String == "0.1.0")
        #expect(obj.keys.allSatisfy(isSnakeCase))
        #expect((obj["thread_count"] as? Int ?? 0) >= 1)
        let commit = try #require(obj["git_commit"] as? String)
        #expect(commit == "unknown" || (commit.count == 40 && commit.allSatisfy(\.isHexDigit)))
        // The commit is embedded at build time: it is the same from any working directory.
        let source = try #require(obj["git_commit_source"] as? String)
        #expect(commit == "unknown" ? source == "not built from a git checkout" : source.hasPrefix("embedded at build time"))
        #expect(raw.split(separator: "\n").count == 1, "one object on one line")
        #if arch(x86_64)
        #expect(obj["simd_build"] as? [String] == ["AVX2", "FMA"])
        #endif
        #if DEBUG
        #expect(obj["build_configuration"] as? String == "debug")
        #else
        #expect(obj["build_configuration"] as? String == "release")
        #endif
    }

    /// `kernel_isa` is the path the kernels take: AVX-512 when the CPU has it, the compiled
    /// Swift kernels when `REPRO_ISA` forces them (an unknown value is ignored).
    @Test func kernelISAFollowsTheCPUAndREPRO_ISA() throws {
        let compiled: String
        #if arch(x86_64)
        compiled = "avx2"
        #elseif arch(arm64)
        compiled = "neon"
        #else
        compiled = "baseline"
        #endif
        let cpuHasAVX512 = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").contains("avx512f") ?? false
        #expect(try envJSON([:]).object["kernel_isa"] as? String == (cpuHasAVX512 ? "avx512" : compiled))
        #expect(try envJSON(["REPRO_ISA": "avx2"]).object["kernel_isa"] as? String == compiled)
        #expect(try envJSON(["REPRO_ISA": "baseline"]).object["kernel_isa"] as? String == compiled)
        #expect(try envJSON(["REPRO_ISA": "avx512"]).object["kernel_isa"] as? String == (cpuHasAVX512 ? "avx512" : compiled))
        #expect(try envJSON(["REPRO_ISA": "sse9"]).object["kernel_isa"] as? String == (cpuHasAVX512 ? "avx512" : compiled))
    }

    @Test func reexecutesOnceToMakeHashingDeterministic() throws {
        let (_, obj) = try envJSON([:])
        #expect(obj["deterministic_hashing"] as? Bool == true)
        #expect(obj["deterministic_hashing_origin"] as? String == "set by repro re-executing itself")
    }

    @Test func respectsTheOptOutAndTheUsersValue() throws {
        let optOut = try envJSON(["REPRO_NO_REEXEC": "1"]).object
        #expect(optOut["deterministic_hashing"] as? Bool == false)
        #expect(optOut["deterministic_hashing_origin"] as? String == "not set (REPRO_NO_REEXEC opts out)")
        let userOn = try envJSON(["SWIFT_DETERMINISTIC_HASHING": "1"]).object
        #expect(userOn["deterministic_hashing"] as? Bool == true)
        #expect(userOn["deterministic_hashing_origin"] as? String == "set in the environment at launch")
        let userOff = try envJSON(["SWIFT_DETERMINISTIC_HASHING": "0"]).object
        #expect(userOff["deterministic_hashing"] as? Bool == false)
        // The loop guard: a process marked as re-executed never re-executes again.
        let guarded = try envJSON(["REPRO_REEXECUTED": "1"]).object
        #expect(guarded["deterministic_hashing"] as? Bool == false)
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
