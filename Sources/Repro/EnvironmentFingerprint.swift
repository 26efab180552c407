import Foundation
import ReproTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a run's bits may depend on, recorded so two runs can be compared:
/// Repro version and commit, compiler, OS, CPU and its SIMD features, build
/// configuration, thread count and hashing mode. `repro env` prints it.
///
/// ```swift
/// let env = EnvironmentFingerprint.current()
/// print(env.cpuModel, env.simdBuild)
/// print(env.jsonString())   // sorted keys
/// ```
public struct EnvironmentFingerprint: Codable, Equatable, Sendable {
    /// ``ReproBuild/version``.
    public var reproVersion: String
    /// The source commit this binary was built from (``ReproBuild/commit``), or `"unknown"`.
    public var gitCommit: String
    /// How ``gitCommit`` was found (or why it could not be).
    public var gitCommitSource: String
    /// The Swift compiler release that built this binary (from compile-time
    /// `#if compiler(>=…)` checks, so the patch level is not known).
    public var swiftCompiler: String
    /// The operating system (`/etc/os-release` `PRETTY_NAME` on Linux).
    public var operatingSystem: String
    /// The kernel (`uname`: system name and release).
    public var kernel: String
    /// The machine architecture (`uname -m`).
    public var architecture: String
    /// The CPU model (`/proc/cpuinfo` on Linux, `sysctl machdep.cpu.brand_string` on macOS).
    public var cpuModel: String
    /// The SIMD extensions Repro's numeric targets are compiled for (Package.swift:
    /// AVX2 and FMA on x86-64, NEON on arm64).
    public var simdBuild: [String]
    /// The instruction-set path the tensor kernels take in this process (``Runtime/kernelISA``'s raw
    /// value: `avx512`, `avx2`, `neon` or `baseline`; `REPRO_ISA` can force a lower one). Results never
    /// depend on it. `nil` only in manifests written before it was recorded.
    public var kernelISA: String?
    /// The SIMD-related features the CPU reports (a fixed list of names, those present).
    public var cpuFeatures: [String]
    /// Whether the CPU reports every extension in ``simdBuild``.
    public var cpuSupportsBuild: Bool
    /// `debug` or `release`.
    public var buildConfiguration: String
    /// Threads available to Repro (active processors; a runtime setting will come later).
    public var threadCount: Int
    /// Whether Swift's hashing is deterministic in this process.
    public var deterministicHashing: Bool
    /// Who set `SWIFT_DETERMINISTIC_HASHING` (see ``HashingDeterminism/origin``).
    public var deterministicHashingOrigin: String

    /// JSON keys are snake_case, like every JSON output of Repro and the `repro` tool.
    enum CodingKeys: String, CodingKey {
        case reproVersion = "repro_version"
        case gitCommit = "git_commit"
        case gitCommitSource = "git_commit_source"
        case swiftCompiler = "swift_compiler"
        case operatingSystem = "operating_system"
        case kernel
        case architecture
        case cpuModel = "cpu_model"
        case simdBuild = "simd_build"
        case kernelISA = "kernel_isa"
        case cpuFeatures = "cpu_features"
        case cpuSupportsBuild = "cpu_supports_build"
        case buildConfiguration = "build_configuration"
        case threadCount = "thread_count"
        case deterministicHashing = "deterministic_hashing"
        case deterministicHashingOrigin = "deterministic_hashing_origin"
    }

    /// The fingerprint of this process and machine.
    public static func current() -> EnvironmentFingerprint {
        let (commit, source) = gitCommit()
        let u = Uname.current
        let features = cpuFeatureList()
        let build = simdBuildFeatures
        return EnvironmentFingerprint(
            reproVersion: ReproBuild.version,
            gitCommit: commit,
            gitCommitSource: source,
            swiftCompiler: swiftCompilerVersion,
            operatingSystem: operatingSystemName(u),
            kernel: "\(u.sysname) \(u.release)",
            architecture: u.machine,
            cpuModel: cpuModelName(),
            simdBuild: build.names,
            kernelISA: Runtime.kernelISA.rawValue,
            cpuFeatures: features,
            cpuSupportsBuild: build.required.allSatisfy(features.contains),
            buildConfiguration: buildConfiguration,
            threadCount: ProcessInfo.processInfo.activeProcessorCount,
            deterministicHashing: HashingDeterminism.isDeterministic,
            deterministicHashingOrigin: HashingDeterminism.origin
        )
    }

    /// Pretty-printed JSON with sorted snake_case keys (stable key order), ending in a newline.
    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// `key: value` lines in a fixed order, for people.
    public var text: String {
        let rows: [(String, String)] = [
            ("repro", reproVersion),
            ("git commit", "\(gitCommit) (\(gitCommitSource))"),
            ("swift compiler", swiftCompiler),
            ("os", operatingSystem),
            ("kernel", kernel),
            ("architecture", architecture),
            ("cpu", cpuModel),
            ("simd (build)", simdBuild.joined(separator: " ")),
            ("kernel isa", kernelISA ?? "not recorded"),
            ("cpu features", cpuFeatures.isEmpty ? "(none reported)" : cpuFeatures.joined(separator: " ")),
            ("cpu supports build", cpuSupportsBuild ? "yes" : "NO: this CPU lacks SIMD extensions the build uses"),
            ("build", buildConfiguration),
            ("threads", String(threadCount)),
            ("deterministic hashing", "\(deterministicHashing ? "yes" : "no") (\(deterministicHashingOrigin))"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 1) + $0.1 + "\n" }.joined()
    }
}

// MARK: - Probes

extension EnvironmentFingerprint {
    static var swiftCompilerVersion: String {
        #if compiler(>=6.5)
        return "6.5 or later"
        #elseif compiler(>=6.4)
        return "6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #elseif compiler(>=6.0)
        return "6.0"
        #else
        return "before 6.0"
        #endif
    }

    static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// The extensions Package.swift compiles the numeric targets for, and the
    /// CPU feature names (as ``cpuFeatureList()`` spells them) they need.
    static var simdBuildFeatures: (names: [String], required: [String]) {
        #if arch(x86_64)
        // Without the flags (`REPRO_NO_ISA_FLAGS=1`) the Swift kernels are portable x86-64 code.
        return Runtime.compiledKernelISA == .avx2 ? (["AVX2", "FMA"], ["avx2", "fma"]) : ([], [])
        #elseif arch(arm64)
        return (["NEON"], [])   // NEON (with FMA) is part of every arm64 CPU
        #else
        return ([], [])
        #endif
    }

    /// The SIMD-related feature names this probe looks for, in report order.
    static let probedFeatures = [
        "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",  // x86-64 (/proc/cpuinfo flags)
        "asimd", "asimdhp", "asimddp", "sve", "sve2", "bf16", "i8mm",               // arm64 (/proc/cpuinfo Features)
    ]

    static func cpuFeatureList() -> [String] {
        #if os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        var present = Set<String>()
        for line in info.split(separator: "\n") where line.hasPrefix("flags") || line.hasPrefix("Features") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            present.formUnion(line[line.index(after: colon)...].split(separator: " ").map(String.init))
            break   // the first CPU's list
        }
        return probedFeatures.filter(present.contains)
        #elseif os(macOS)
        var out: [String] = []
        for (key, name) in [("hw.optional.avx2_0", "avx2"), ("hw.optional.fma", "fma"),
                            ("hw.optional.avx512f", "avx512f"), ("hw.optional.AdvSIMD", "asimd"),
                            ("hw.optional.arm.FEAT_BF16", "bf16"), ("hw.optional.arm.FEAT_I8MM", "i8mm")] {
            var value: Int32 = 0
            var size = MemoryLayout<Int32>.size
            if sysctlbyname(key, &value, &size, nil, 0) == 0, value != 0 { out.append(name) }
        }
        return out
        #else
        return []
        #endif
    }

    static func cpuModelName() -> String {
        #if os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for key in ["model name", "Hardware", "Processor"] {
            for line in info.split(separator: "\n") where line.hasPrefix(key) {
                if let colon = line.firstIndex(of: ":") {
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    if !value.isEmpty { return value }
                }
            }
        }
        return "unknown"
        #elseif os(macOS)
        var size = 0
        guard sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 0 else { return "unknown" }
        var bytes = [CChar](repeating: 0, count: size)
        guard sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 else { return "unknown" }
        return String(cString: bytes)
        #else
        return "unknown"
        #endif
    }

    static func operatingSystemName(_ u: Uname) -> String {
        #if os(Linux)
        if let release = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) {
            for line in release.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
                return String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return u.sysname
        #else
        return ProcessInfo.processInfo.operatingSystemVersionString
        #endif
    }

    /// The commit embedded at build time (``ReproBuild/commit``) and where it came from.
    static func gitCommit() -> (String, String) {
        let commit = ReproBuild.commit
        guard commit != "unknown" else { return (commit, "not built from a git checkout") }
        switch ReproBuild.hasUncommittedChanges {
        case true?: return (commit, "embedded at build time; the checkout had uncommitted changes")
        case false?: return (commit, "embedded at build time")
        case nil: return (commit, "embedded at build time")
        }
    }
}

/// The `uname` fields, as Swift strings.
struct Uname {
    var sysname: String
    var release: String
    var machine: String

    static var current: Uname {
        var u = utsname()
        guard uname(&u) == 0 else { return Uname(sysname: "unknown", release: "unknown", machine: "unknown") }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        return Uname(sysname: text(u.sysname), release: text(u.release), machine: text(u.machine))
    }
}
