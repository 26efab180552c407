import Foundation
import ReproTensor
import _ReproDigest

/// Why a trace could not be read, written or compared. Every case names the file or the facts.
public enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file could not be written (nothing was left at its path).
    case unwritable(path: String, reason: String)
    /// The file is not a trace: not JSON, truncated, or a field is missing or of the wrong type.
    case malformed(path: String, reason: String)
    /// The trace was written by a newer format version.
    case unsupportedVersion(path: String, version: Int)
    /// The two traces come from different architectures (their fingerprints differ).
    case differentModels(String)
    /// The two traces are of different inputs (image count or pixel digests differ).
    case differentInputs(String)
    /// A comparison needs the tensors (a tolerance, or sizes of differences) and a side has none.
    case missingTensors(String)
    /// The two traces hash module outputs with different ``TraceDigest`` algorithms.
    case differentDigests(String)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case let .unreadable(p, r): return "\(p): cannot read the trace: \(r)"
        case let .unwritable(p, r): return "\(p): cannot write the trace: \(r)"
        case let .malformed(p, r): return "\(p): not a valid trace: \(r)"
        case let .unsupportedVersion(p, v): return "\(p): trace format version \(v) is newer than this Repro reads (\(TraceDocument.currentVersion))"
        case let .differentModels(m): return "refusing to compare traces of different models: \(m)"
        case let .differentInputs(m): return "refusing to compare traces of different inputs: \(m)"
        case let .missingTensors(m): return m
        case let .differentDigests(m): return "refusing to compare traces with different digest algorithms: \(m)"
        }
    }
}

/// A trace file: the model's identity, and per input image its identity and the module trace.
///
/// JSON: `{"format": "repro-trace", "version": 1, "producer", "layout": "channels-last",
/// "digest": "sha256" | "repro-nh-v1" (absent: "sha256"), "model": {"arch", "fingerprint", "weights_sha256"}, "tensors": null | "FILE.safetensors",
/// "images": [{"file", "input_sha256", "modules": [{"name", "op", "shape", "dtype", "sha256"}…]}]}`.
/// Kept tensors live in the safetensors file beside it, under the key `"<image>/<entry>"` (both from 0).
///
/// ```swift
/// let doc = try TraceDocument(contentsOf: "a.trace.json")
/// print(doc.images[0].modules.count)
/// ```
public struct TraceDocument: Sendable, Codable, Equatable {
    /// The format name written in every trace.
    public static let formatName = "repro-trace"
    /// The format version this Repro writes and the newest it reads.
    public static let currentVersion = 1
    /// The layout name of digested feature maps.
    public static let channelsLast = "channels-last"

    /// Always ``formatName``.
    public var format: String
    /// The format version.
    public var version: Int
    /// What wrote the trace (`repro 0.9.0`, `torchvision 0.28.0`…).
    public var producer: String
    /// The element order of hashed feature maps: ``channelsLast`` (`[N, H, W, C]`).
    public var layout: String
    /// The algorithm of every entry's digest (a trace without the field is ``TraceDigest/sha256``).
    public var digest: TraceDigest
    /// The model's identity.
    public var model: Model
    /// The safetensors file (relative to the trace's folder) holding the outputs, if they were kept.
    public var tensors: String?
    /// One record per input image, in input order.
    public var images: [Image]

    /// The model's identity: what must match before two traces are compared.
    public struct Model: Sendable, Codable, Equatable {
        /// The architecture name (`v2`, `v1`, …).
        public var arch: String
        /// ``ModuleFingerprint/architecture(of:)``: SHA-256 of the state-dict keys, dtypes and shapes.
        public var fingerprint: String
        /// ``ModuleFingerprint/weights(of:)``: SHA-256 of the keys and parameter bytes.
        public var weightsSHA256: String

        /// Creates the record.
        public init(arch: String, fingerprint: String, weightsSHA256: String) {
            self.arch = arch
            self.fingerprint = fingerprint
            self.weightsSHA256 = weightsSHA256
        }

        enum CodingKeys: String, CodingKey {
            case arch, fingerprint
            case weightsSHA256 = "weights_sha256"
        }
    }

    /// One input image and its trace.
    public struct Image: Sendable, Codable, Equatable {
        /// The input's name as given.
        public var file: String
        /// SHA-256 of the image's RGB pixels (Pillow's `convert("RGB").tobytes()`).
        public var inputSHA256: String
        /// The module outputs in execution order.
        public var modules: [TraceEntry]

        /// Creates the record.
        public init(file: String, inputSHA256: String, modules: [TraceEntry]) {
            self.file = file
            self.inputSHA256 = inputSHA256
            self.modules = modules
        }

        enum CodingKeys: String, CodingKey {
            case file, modules
            case inputSHA256 = "input_sha256"
        }
    }

    /// A trace document of the current version.
    public init(producer: String, digest: TraceDigest = .sha256, model: Model, tensors: String? = nil, images: [Image]) {
        format = Self.formatName
        version = Self.currentVersion
        self.producer = producer
        layout = Self.channelsLast
        self.digest = digest
        self.model = model
        self.tensors = tensors
        self.images = images
    }

    enum CodingKeys: String, CodingKey {
        case format, version, producer, layout, digest, model, tensors, images
    }

    /// Decodes a trace; a missing `"digest"` means ``TraceDigest/sha256`` (traces written before the field).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decode(Int.self, forKey: .version)
        producer = try c.decode(String.self, forKey: .producer)
        layout = try c.decode(String.self, forKey: .layout)
        digest = try c.decodeIfPresent(TraceDigest.self, forKey: .digest) ?? .sha256
        model = try c.decode(Model.self, forKey: .model)
        tensors = try c.decodeIfPresent(String.self, forKey: .tensors)
        images = try c.decode([Image].self, forKey: .images)
    }

    /// The safetensors key of entry `entry` of image `image`.
    public static func tensorKey(image: Int, entry: Int) -> String { "\(image)/\(entry)" }

    /// Reads and validates a trace file.
    ///
    /// - Throws: ``TraceError/unreadable(path:reason:)``, ``TraceError/malformed(path:reason:)``
    ///   (not JSON, truncated, wrong format name, a field missing) or
    ///   ``TraceError/unsupportedVersion(path:version:)``.
    public init(contentsOf path: String) throws(TraceError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(json: data, path: path)
    }

    /// Decodes and validates trace JSON (`path` names the source in errors).
    public init(json data: Data, path: String = "<trace>") throws(TraceError) {
        struct Header: Decodable { var format: String?; var version: Int?; var digest: String? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw .malformed(path: path, reason: "not a JSON object (empty, truncated or not JSON)")
        }
        guard header.format == Self.formatName else {
            throw .malformed(path: path, reason: "\"format\" is \(header.format.map { "\"\($0)\"" } ?? "missing"), expected \"\(Self.formatName)\"")
        }
        guard let version = header.version else { throw .malformed(path: path, reason: "\"version\" is missing") }
        guard version <= Self.currentVersion else { throw .unsupportedVersion(path: path, version: version) }
        if let name = header.digest, TraceDigest(rawValue: name) == nil {
            throw .malformed(path: path, reason: "digest \"\(name)\" is not one this Repro knows ("
                + TraceDigest.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + ")")
        }
        do {
            self = try JSONDecoder().decode(Self.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .malformed(path: path, reason: "\"\(key.stringValue)\" is missing at \(Self.where(context))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .malformed(path: path, reason: "wrong type at \(Self.where(context))")
        } catch let DecodingError.valueNotFound(_, context) {
            throw .malformed(path: path, reason: "null at \(Self.where(context))")
        } catch {
            throw .malformed(path: path, reason: "\(error)")
        }
        guard layout == Self.channelsLast else { throw .malformed(path: path, reason: "layout \"\(layout)\" is not \"\(Self.channelsLast)\"") }
    }

    private static func `where`(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "the top level" : p
    }

    /// The document as JSON (one line per module entry, keys in a fixed order).
    public func jsonData() -> Data {
        func q(_ s: String) -> String { StateDict.jsonString(s) }
        var out = "{\"format\": \(q(format)), \"version\": \(version), \"producer\": \(q(producer)), \"layout\": \(q(layout)),\n"
        out += " \"digest\": \(q(digest.rawValue)),\n"
        out += " \"model\": {\"arch\": \(q(model.arch)), \"fingerprint\": \(q(model.fingerprint)), \"weights_sha256\": \(q(model.weightsSHA256))},\n"
        out += " \"tensors\": \(tensors.map(q) ?? "null"),\n \"images\": ["
        for (i, image) in images.enumerated() {
            out += i == 0 ? "\n" : ",\n"
            out += "  {\"file\": \(q(image.file)), \"input_sha256\": \(q(image.inputSHA256)), \"modules\": ["
            for (k, m) in image.modules.enumerated() {
                out += k == 0 ? "\n" : ",\n"
                out += "   {\"name\": \(q(m.name)), \"op\": \(q(m.op)), \"shape\": [\(m.shape.map(String.init).joined(separator: ", "))], "
                    + "\"dtype\": \(q(m.dtype)), \"sha256\": \(q(m.sha256))}"
            }
            out += "]}"
        }
        out += "]}\n"
        return Data(out.utf8)
    }

    /// Writes the JSON to `path` atomically (temporary file, then rename).
    public func write(to path: String) throws(TraceError) {
        do { try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .unwritable(path: path, reason: error.localizedDescription)
        }
    }

    /// The kept tensors of `traces` (one per image, in order) as a state dict keyed by ``tensorKey(image:entry:)``.
    public static func tensorDict(_ traces: [ModuleTrace]) throws(TraceError) -> StateDict {
        var entries: [(String, CheckpointTensor)] = []
        for (key, t) in keyedTensors(traces) {
            do {
                entries.append((key, try CheckpointTensor(dtype: checkpointDType(t.dtype), shape: t.shape, bytes: t.withElementBytes { Array($0) })))
            } catch { throw .malformed(path: "<tensors>", reason: "\(error)") }
        }
        return StateDict(entries)
    }

    /// Writes the kept tensors of `traces` as a safetensors file (keys ``tensorKey(image:entry:)``),
    /// streaming each tensor's bytes into a temporary file that is then renamed to `path`
    /// (``TraceTensorWriter``): no copy of the tensors is made in memory.
    public static func writeTensors(_ traces: [ModuleTrace], to path: String) throws(TraceError) {
        let header = StateDict.safetensorsHeader(keyedTensors(traces).map { ($0.0, checkpointDType($0.1.dtype), $0.1.shape, $0.1.count * $0.1.dtype.byteCount) })
        let writer = try TraceTensorWriter(path: path, reservedHeaderBytes: header.count)
        for trace in traces {
            for (i, t) in (trace.tensors ?? []).enumerated() { writer.append(t, entry: i) }
            writer.finishImage()
        }
        try writer.commit()
    }

    private static func keyedTensors(_ traces: [ModuleTrace]) -> [(String, Tensor)] {
        traces.enumerated().flatMap { i, trace in (trace.tensors ?? []).enumerated().map { (tensorKey(image: i, entry: $0.offset), $0.element) } }
    }

    static func checkpointDType(_ d: DType) -> CheckpointDType {
        switch d {
        case .float32: .float32
        case .float64: .float64
        case .int64: .int64
        case .uint8: .uint8
        }
    }
}

/// Identity digests of a module tree, for refusing to compare traces of different models.
public enum ModuleFingerprint {
    /// SHA-256 (hex) of the architecture: for each state-dict entry in order, the UTF-8 line
    /// `key<TAB>dtype<TAB>d0,d1,…<LF>`. Equal for two models with the same keys, dtypes and shapes,
    /// whatever their values.
    ///
    /// ```swift
    /// let f = ModuleFingerprint.architecture(of: model)
    /// ```
    public static func architecture<M: Module>(of model: M) -> String {
        var h = SHA256()
        for spec in model.parameterSpecs {
            h.update(Array("\(spec.name)\t\(spec.dtype)\t\(spec.shape.map(String.init).joined(separator: ","))\n".utf8))
        }
        return h.finalize().hex
    }

    /// SHA-256 (hex) of the parameter values: for each state-dict entry in order, the key's UTF-8
    /// bytes, a zero byte, then the elements little-endian (NumPy's `tobytes()`).
    ///
    /// ```swift
    /// let w = ModuleFingerprint.weights(of: model)
    /// ```
    public static func weights<M: Module>(of model: M) -> String {
        var copy = model
        var walker = ModuleWalker(WeightsHasher())
        try? copy.walk(&walker)
        return walker.visitor.h.finalize().hex
    }
}

/// Hashes every visited tensor (``ModuleFingerprint/weights(of:)``).
struct WeightsHasher: ModuleVisitor {
    var h = SHA256()
    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        h.update(Array(key.utf8) + [0])
        tensor.withElementBytes { h.update($0) }
    }
}
