import ReproNN
import ReproTensor

/// Errors from building or running a ``RetinaNet``.
public enum RetinaNetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The configuration cannot describe a network.
    case invalidConfiguration(String)
    /// Building or loading the module tree failed (the module error names the keys or the module).
    case module(ModuleError)
    /// A tensor operation outside the module tree (transform, post-processing) failed.
    case tensor(TensorError)
    /// A module failed in a stage (`body`, `fpn`, `head`); the module error names its path,
    /// e.g. `head.classification_head.conv.2.0`.
    case stage(String, ModuleError)
    /// An input image cannot be processed (e.g. zero size).
    case invalidImage(index: Int, reason: String)

    /// A readable message.
    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return "RetinaNet configuration: \(m)"
        case .module(let e): return "\(e)"
        case .tensor(let e): return "RetinaNet: \(e)"
        case .stage(let stage, let e): return "RetinaNet \(stage): \(e)"
        case .invalidImage(let i, let r): return "image \(i): \(r)"
        }
    }
}
