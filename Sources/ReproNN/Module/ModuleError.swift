import ReproTensor

/// Errors from building modules and loading state dicts.
public enum ModuleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The checkpoint does not fit the module; the report names every offending key.
    case incompatibleStateDict(LoadReport)
    /// A tensor's element type cannot be stored as the module's type.
    case unsupportedDType(key: String, dtype: String)
    /// The checkpoint itself could not be read.
    case checkpoint(CheckpointError)
    /// A layer rejected its parameters or inputs.
    case tensor(TensorError)
    /// The module's configuration is invalid.
    case invalidConfiguration(String)
    /// A layer failed; `path` is its dotted module path (`head.classification_head.conv.2.0`).
    case layer(path: String, TensorError)
    /// A layer ran before ``Module/prepare(in:)`` built its inference form.
    case notPrepared(path: String)

    /// A readable message naming the problem.
    public var description: String {
        switch self {
        case .incompatibleStateDict(let r): return "state dict does not match the model:\n\(r)"
        case .unsupportedDType(let key, let dtype): return "\(key): dtype \(dtype) cannot be loaded as a float/int tensor"
        case .checkpoint(let e): return "checkpoint: \(e)"
        case .tensor(let e): return "tensor: \(e)"
        case .invalidConfiguration(let m): return "invalid configuration: \(m)"
        case .layer(let path, let e): return "\(path.isEmpty ? "<root>" : path): \(e)"
        case .notPrepared(let path): return "\(path.isEmpty ? "<root>" : path): not prepared (call prepare(in:) after changing parameters)"
        }
    }
}
