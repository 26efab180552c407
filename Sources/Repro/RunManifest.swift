import Foundation
import ReproNN
import ReproTensor
import _ReproDigest

/// Everything a run's outputs may depend on, and the SHA-256 of those outputs: written by
/// `repro detect --manifest` and `repro batches --manifest`, checked by `repro verify`, which
/// runs the job again and compares (``changedFacts(since:)``).
///
/// The JSON form has sorted snake_case keys and a ``schemaVersion``; a manifest from a newer
/// schema is refused (``RunManifestError/newerSchema(path:found:supported:)``) rather than
/// misread.
///
/// ```swift
/// let manifest = try RunManifest(contentsOf: "run.manifest.json")
/// print(manifest.command.arguments, manifest.outputSHA256)
/// ```
public struct RunManifest: Codable, Equatable, Sendable {
    /// The schema this version of Repro writes and the newest it reads.
    public static let currentSchemaVersion = 1

    /// The schema of this manifest.
    public var schemaVersion: Int
    /// The binary that ran the job.
    public var executable: Executable
    /// Repro version and commit, Swift compiler, OS and kernel, CPU model and features, the SIMD
    /// extensions the kernels were compiled for, build configuration, hashing mode.
    public var environment: EnvironmentFingerprint
    /// Every ``Runtime`` setting in effect for the job.
    public var runtime: RuntimeRecord
    /// The floating-point control state of the thread that ran the job (``FloatingPointEnvironment``).
    public var floatingPoint: String
    /// The command that ran, as given on the command line.
    public var command: Command
    /// Every seed the job used, by role (`"model"`, `"loader"`), as decimal text.
    public var seeds: [String: String]
    /// The checkpoint, when the job read one.
    public var weights: Weights?
    /// Every input, in the order the job read them.
    public var inputs: [Input]
    /// Every output, in the order the job wrote them.
    public var outputs: [Output]
    /// SHA-256 of the whole output, as written (every byte of the result stream).
    public var outputSHA256: String

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case executable, environment, runtime
        case floatingPoint = "floating_point"
        case command, seeds, weights, inputs, outputs
        case outputSHA256 = "output_sha256"
    }

    /// The program file that ran the job.
    public struct Executable: Codable, Equatable, Sendable {
        /// Its path.
        public var path: String
        /// SHA-256 of its bytes (`"unknown"` when it cannot be read).
        public var sha256: String

        /// Creates a record.
        public init(path: String, sha256: String) {
            self.path = path
            self.sha256 = sha256
        }

        /// This process's executable (`/proc/self/exe` on Linux).
        public static func current() -> Executable {
            #if os(Linux)
            let probe = "/proc/self/exe"
            let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: probe)) ?? CommandLine.arguments.first ?? "unknown"
            #else
            let probe = Bundle.main.executablePath ?? CommandLine.arguments.first ?? ""
            let path = probe
            #endif
            return Executable(path: path, sha256: RunManifest.fileSHA256(probe) ?? "unknown")
        }
    }

    /// The ``RuntimeSettings`` fields.
    public struct RuntimeRecord: Codable, Equatable, Sendable {
        /// ``RuntimeSettings/threads``.
        public var threads: Int
        /// ``RuntimeSettings/deterministicAlgorithms``.
        public var deterministicAlgorithms: Bool
        /// ``RuntimeSettings/warnOnly``.
        public var warnOnly: Bool
        /// ``RuntimeSettings/benchmark``.
        public var benchmark: Bool
        /// ``RuntimeSettings/maxAllocationBytes``.
        public var maxAllocationBytes: Int
        /// ``RuntimeSettings/storageCacheBytes``.
        public var storageCacheBytes: Int

        enum CodingKeys: String, CodingKey {
            case threads
            case deterministicAlgorithms = "deterministic_algorithms"
            case warnOnly = "warn_only"
            case benchmark
            case maxAllocationBytes = "max_allocation_bytes"
            case storageCacheBytes = "storage_cache_bytes"
        }

        /// The settings as recorded.
        public init(_ s: RuntimeSettings) {
            threads = s.threads
            deterministicAlgorithms = s.deterministicAlgorithms
            warnOnly = s.warnOnly
            benchmark = s.benchmark
            maxAllocationBytes = s.maxAllocationBytes
            storageCacheBytes = s.storageCacheBytes
        }
    }

    /// The command line of the job.
    public struct Command: Codable, Equatable, Sendable {
        /// The subcommand (`detect`, `batches`).
        public var subcommand: String
        /// Its arguments, after the subcommand name, as given.
        public var arguments: [String]
        /// The working directory relative paths in ``arguments`` are resolved against.
        public var workingDirectory: String

        enum CodingKeys: String, CodingKey {
            case subcommand, arguments
            case workingDirectory = "working_directory"
        }

        /// Creates a record.
        public init(subcommand: String, arguments: [String], workingDirectory: String) {
            self.subcommand = subcommand
            self.arguments = arguments
            self.workingDirectory = workingDirectory
        }
    }

    /// A checkpoint the job read.
    public struct Weights: Codable, Equatable, Sendable {
        /// Its path, as given.
        public var path: String
        /// SHA-256 of the file's bytes.
        public var sha256: String
        /// SHA-256 of its tensors in canonical form (``ReproNN/StateDict/canonicalSHA256``): equal for
        /// two files that hold the same tensors in different containers or orders.
        public var tensorsSHA256: String

        enum CodingKeys: String, CodingKey {
            case path, sha256
            case tensorsSHA256 = "tensors_sha256"
        }

        /// Creates a record.
        public init(path: String, sha256: String, tensorsSHA256: String) {
            self.path = path
            self.sha256 = sha256
            self.tensorsSHA256 = tensorsSHA256
        }
    }

    /// An input the job read.
    public struct Input: Codable, Equatable, Sendable {
        /// Its path (or a name for a built-in input).
        public var path: String
        /// SHA-256 of the file's bytes (nil for a built-in input).
        public var sha256: String?
        /// SHA-256 of the decoded RGB pixels (``ReproImage/Image/rgbDigest``), nil when not decoded.
        public var pixelSHA256: String?

        enum CodingKeys: String, CodingKey {
            case path, sha256
            case pixelSHA256 = "pixel_sha256"
        }

        /// Creates a record.
        public init(path: String, sha256: String?, pixelSHA256: String?) {
            self.path = path
            self.sha256 = sha256
            self.pixelSHA256 = pixelSHA256
        }
    }

    /// One output of the job: an image's detections or a batch's digest.
    public struct Output: Codable, Equatable, Sendable {
        /// What it is (the image's path, `epoch 0 batch 3`).
        public var name: String
        /// Its SHA-256.
        public var sha256: String

        /// Creates a record.
        public init(name: String, sha256: String) {
            self.name = name
            self.sha256 = sha256
        }
    }

    /// A manifest of this process: the environment, runtime settings and floating-point state
    /// are read now; the caller supplies what the job did.
    public init(command: Command, seeds: [String: String], weights: Weights?, inputs: [Input],
                outputs: [Output], outputSHA256: String) {
        schemaVersion = Self.currentSchemaVersion
        executable = .current()
        environment = .current()
        runtime = RuntimeRecord(Runtime.settings)
        floatingPoint = FloatingPointEnvironment.current.description
        self.command = command
        self.seeds = seeds
        self.weights = weights
        self.inputs = inputs
        self.outputs = outputs
        self.outputSHA256 = outputSHA256
    }
}

// MARK: - Reading and writing

/// Why a manifest could not be read or written. Every case names the file.
public enum RunManifestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file is not a manifest: not JSON, truncated, or a field is missing or has the wrong type.
    case corrupt(path: String, reason: String)
    /// The manifest was written by a newer Repro with a schema this one does not know.
    case newerSchema(path: String, found: Int, supported: Int)
    /// The manifest could not be written.
    case unwritable(path: String, reason: String)

    /// A sentence naming the file and the problem.
    public var description: String {
        switch self {
        case let .unreadable(p, r): return "\(p): cannot read the manifest: \(r)"
        case let .corrupt(p, r): return "\(p): not a valid Repro manifest: \(r)"
        case let .newerSchema(p, f, s):
            return "\(p): manifest schema \(f) is newer than this Repro reads (schema \(s)); use Repro \(ReproBuild.version) or later that knows it"
        case let .unwritable(p, r): return "\(p): cannot write the manifest: \(r)"
        }
    }
}

extension RunManifest {
    /// Reads a manifest file.
    ///
    /// - Throws: ``RunManifestError`` naming the file: unreadable, corrupt or truncated, or from a
    ///   newer schema.
    public init(contentsOf path: String) throws(RunManifestError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(json: data, path: path)
    }

    /// Decodes a manifest from its JSON bytes (`path` names it in errors).
    ///
    /// - Throws: ``RunManifestError/corrupt(path:reason:)`` or ``RunManifestError/newerSchema(path:found:supported:)``.
    public init(json data: Data, path: String = "manifest") throws(RunManifestError) {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw .corrupt(path: path, reason: "not JSON (truncated or damaged file)")
        }
        guard let dict = object as? [String: Any] else { throw .corrupt(path: path, reason: "not a JSON object") }
        guard let version = dict["schema_version"] as? Int else {
            throw .corrupt(path: path, reason: "no integer schema_version")
        }
        guard version <= Self.currentSchemaVersion else {
            throw .newerSchema(path: path, found: version, supported: Self.currentSchemaVersion)
        }
        guard version >= 1 else { throw .corrupt(path: path, reason: "schema_version \(version) is not a schema") }
        do {
            self = try JSONDecoder().decode(RunManifest.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .corrupt(path: path, reason: "field \(Self.keyPath(context.codingPath + [key])) is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .corrupt(path: path, reason: "field \(Self.keyPath(context.codingPath)) has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw .corrupt(path: path, reason: "field \(Self.keyPath(context.codingPath)) is null")
        } catch {
            throw .corrupt(path: path, reason: "\(error)")
        }
    }

    private static func keyPath(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return ((try? encoder.encode(self)) ?? Data("{}".utf8)) + Data("\n".utf8)
    }

    /// Writes the manifest atomically: a temporary file in the same folder, renamed over `path`.
    ///
    /// - Throws: ``RunManifestError/unwritable(path:reason:)``.
    public func write(to path: String) throws(RunManifestError) {
        do { try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .unwritable(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    /// SHA-256 (hex) of a file's bytes, or nil when it cannot be read.
    public static func fileSHA256(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 22) } catch { return nil }
            guard let chunk, !chunk.isEmpty else { break }   // nil or empty: the end of the file
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalize().hex
    }
}

// MARK: - Comparing

extension RunManifest {
    /// A recorded fact that differs now.
    public struct ChangedFact: Equatable, Sendable, Codable {
        /// What changed (`weights file`, `input photo.jpg pixels`, `cpu features`…).
        public var fact: String
        /// The recorded value.
        public var recorded: String
        /// The value now.
        public var now: String
        /// Whether the change can explain different outputs under Repro's contract (weights,
        /// inputs, seeds, options, Repro version or binary, runtime algorithm settings,
        /// floating-point mode); facts that must not change an output bit (thread count, CPU
        /// model, OS) are `false`.
        public var explainsOutputs: Bool

        enum CodingKeys: String, CodingKey {
            case fact, recorded, now
            case explainsOutputs = "explains_outputs"
        }

        /// Creates a record.
        public init(fact: String, recorded: String, now: String, explainsOutputs: Bool) {
            self.fact = fact
            self.recorded = recorded
            self.now = now
            self.explainsOutputs = explainsOutputs
        }
    }

    /// Every fact of `recorded` that differs in `self` (a manifest of the same job made now), the
    /// ones that can explain different outputs first, each group in a fixed order.
    ///
    /// ```swift
    /// for f in rerun.changedFacts(since: recorded) { print(f.fact, f.recorded, "→", f.now) }
    /// ```
    public func changedFacts(since recorded: RunManifest) -> [ChangedFact] {
        var facts: [ChangedFact] = []
        func check(_ name: String, _ old: String?, _ new: String?, explains: Bool) {
            if old != new { facts.append(ChangedFact(fact: name, recorded: old ?? "none", now: new ?? "none", explainsOutputs: explains)) }
        }
        // Inputs of the computation.
        check("weights tensors", recorded.weights?.tensorsSHA256, weights?.tensorsSHA256, explains: true)
        check("weights file", recorded.weights?.sha256, weights?.sha256, explains: recorded.weights?.tensorsSHA256 != weights?.tensorsSHA256)
        let now = Dictionary(inputs.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        for old in recorded.inputs {
            guard let new = now[old.path] else {
                check("input \(old.path)", "read", "not read", explains: true)
                continue
            }
            check("input \(old.path) pixels", old.pixelSHA256, new.pixelSHA256, explains: true)
            check("input \(old.path) file", old.sha256, new.sha256, explains: old.pixelSHA256 != new.pixelSHA256)
        }
        let before = Set(recorded.inputs.map(\.path))
        for new in inputs where !before.contains(new.path) { check("input \(new.path)", "not read", "read", explains: true) }
        for role in Set(recorded.seeds.keys).union(seeds.keys).sorted() {
            check("seed \(role)", recorded.seeds[role], seeds[role], explains: true)
        }
        check("command", recorded.command.subcommand + " " + recorded.command.arguments.joined(separator: " "),
              command.subcommand + " " + command.arguments.joined(separator: " "), explains: false)
        // The code that ran.
        let e0 = recorded.environment, e1 = environment
        check("repro version", e0.reproVersion, e1.reproVersion, explains: true)
        check("git commit", e0.gitCommit, e1.gitCommit, explains: true)
        check("executable", recorded.executable.sha256, executable.sha256, explains: true)
        check("build configuration", e0.buildConfiguration, e1.buildConfiguration, explains: false)
        check("swift compiler", e0.swiftCompiler, e1.swiftCompiler, explains: true)
        check("simd build", e0.simdBuild.joined(separator: " "), e1.simdBuild.joined(separator: " "), explains: false)
        check("kernel isa", e0.kernelISA ?? "not recorded", e1.kernelISA ?? "not recorded", explains: false)
        check("deterministic algorithms", String(recorded.runtime.deterministicAlgorithms), String(runtime.deterministicAlgorithms), explains: true)
        check("warn only", String(recorded.runtime.warnOnly), String(runtime.warnOnly), explains: true)
        check("benchmark mode", String(recorded.runtime.benchmark), String(runtime.benchmark), explains: true)
        check("floating-point mode", recorded.floatingPoint, floatingPoint, explains: true)
        // The machine: none of these may change a bit.
        check("cpu features", e0.cpuFeatures.joined(separator: " "), e1.cpuFeatures.joined(separator: " "), explains: false)
        check("cpu supports build", String(e0.cpuSupportsBuild), String(e1.cpuSupportsBuild), explains: false)
        check("cpu model", e0.cpuModel, e1.cpuModel, explains: false)
        check("architecture", e0.architecture, e1.architecture, explains: false)
        check("operating system", e0.operatingSystem, e1.operatingSystem, explains: false)
        check("kernel", e0.kernel, e1.kernel, explains: false)
        check("threads", String(recorded.runtime.threads), String(runtime.threads), explains: false)
        check("max allocation bytes", String(recorded.runtime.maxAllocationBytes), String(runtime.maxAllocationBytes), explains: false)
        check("storage cache bytes", String(recorded.runtime.storageCacheBytes), String(runtime.storageCacheBytes), explains: false)
        check("deterministic hashing", String(e0.deterministicHashing), String(e1.deterministicHashing), explains: false)
        // Stable partition: explaining facts first.
        return facts.filter(\.explainsOutputs) + facts.filter { !$0.explainsOutputs }
    }

    /// The names of the outputs whose SHA-256 differs in `self` from `recorded` (outputs present
    /// in only one of them included), in recorded order, then `"whole output"` when the whole
    /// output's SHA-256 differs.
    public func outputsDiffering(from recorded: RunManifest) -> [String] {
        var names: [String] = []
        var now: [String: [String]] = [:]
        for o in outputs { now[o.name, default: []].append(o.sha256) }
        var seen: [String: Int] = [:]
        for o in recorded.outputs {
            let k = seen[o.name, default: 0]
            seen[o.name] = k + 1
            let list = now[o.name] ?? []
            if k >= list.count || list[k] != o.sha256 { names.append(o.name) }
        }
        for name in now.keys.sorted() where now[name]!.count > seen[name, default: 0] { names.append(name) }
        if outputSHA256 != recorded.outputSHA256 { names.append("whole output") }
        return names
    }
}

// MARK: - Canonical tensor contents

extension StateDict {
    /// SHA-256 (hex) of the tensors in a canonical form that does not depend on the container
    /// (safetensors or `.pth`), the key order or the file's layout: for each key in byte order of
    /// its UTF-8, the key, a 0 byte, the dtype name, a 0 byte, the rank and each dimension and the
    /// byte count as 64-bit little-endian integers, then the element bytes.
    ///
    /// ```swift
    /// let digest = try StateDict(contentsOf: "weights.safetensors").canonicalSHA256
    /// ```
    public var canonicalSHA256: String {
        var hasher = SHA256()
        func u64(_ v: Int) {
            let x = UInt64(v)
            hasher.update((0..<8).map { UInt8(truncatingIfNeeded: x >> (8 * UInt64($0))) })
        }
        for key in keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            guard let t = self[key] else { continue }
            hasher.update(Array(key.utf8) + [0] + Array(t.dtype.rawValue.utf8) + [0])
            u64(t.shape.count)
            for d in t.shape { u64(d) }
            u64(t.bytes.count)
            t.bytes.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalize().hex
    }
}
