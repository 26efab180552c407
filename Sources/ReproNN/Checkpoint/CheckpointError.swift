/// Why a checkpoint could not be read. Every case names the problem; reading a
/// checkpoint never executes anything from it.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// A checkpoint file could not be written (the file at `path` is unchanged).
    case unwritable(path: String, reason: String)
    /// The bytes are not a format Repro reads (safetensors, PyTorch zip or legacy `.pth`).
    case unknownFormat(String)
    /// The file ends before a structure it declares.
    case truncated(String)
    /// The zip container is malformed.
    case corruptArchive(String)
    /// A zip entry is compressed with a method Repro does not read (PyTorch stores entries uncompressed).
    case unsupportedCompression(entry: String, method: Int)
    /// An entry the format requires is missing.
    case missingEntry(String)
    /// The pickle stream is malformed or uses an opcode outside the allowed set.
    case invalidPickle(offset: Int, reason: String)
    /// The pickle names a global outside the allow-list (e.g. `os.system`); nothing was called.
    case forbiddenGlobal(module: String, name: String)
    /// A tensor's declared shape, strides or offsets do not fit its storage or header.
    case invalidTensor(name: String, reason: String)
    /// The safetensors header is malformed.
    case invalidHeader(String)
    /// A tensor has a different element type than the caller asked for.
    case wrongDType(name: String, expected: CheckpointDType, actual: CheckpointDType)
    /// The caller asked for a key the checkpoint does not have.
    case missingKey(String)
    /// The checkpoint is big-endian; Repro reads little-endian storages only.
    case unsupportedByteOrder(String)
    /// A declared size exceeds the configured limit.
    case tooLarge(String)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case let .unreadable(p, r): return "cannot read checkpoint \(p): \(r)"
        case let .unwritable(p, r): return "cannot write checkpoint \(p): \(r)"
        case let .unknownFormat(m): return "not a checkpoint Repro can read: \(m)"
        case let .truncated(m): return "checkpoint is truncated: \(m)"
        case let .corruptArchive(m): return "corrupt checkpoint archive: \(m)"
        case let .unsupportedCompression(e, m): return "zip entry \(e) uses compression method \(m); only stored entries are read"
        case let .missingEntry(e): return "checkpoint archive has no entry \(e)"
        case let .invalidPickle(o, r): return "invalid pickle at byte \(o): \(r)"
        case let .forbiddenGlobal(m, n): return "checkpoint pickle references \(m).\(n), which is not on the allow-list; refusing to load (nothing was executed)"
        case let .invalidTensor(n, r): return "tensor \(n.isEmpty ? "?" : n): \(r)"
        case let .invalidHeader(m): return "invalid safetensors header: \(m)"
        case let .wrongDType(n, e, a): return "tensor \(n) is \(a.rawValue), expected \(e.rawValue)"
        case let .missingKey(k): return "checkpoint has no tensor named \(k)"
        case let .unsupportedByteOrder(b): return "checkpoint byte order is \(b); only little-endian is supported"
        case let .tooLarge(m): return "checkpoint exceeds a size limit: \(m)"
        }
    }
}
