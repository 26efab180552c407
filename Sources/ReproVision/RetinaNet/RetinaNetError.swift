import ReproNN
import ReproTensor

/// Errors from building or running a ``RetinaNet``.
public enum RetinaNetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The configuration cannot describe a network.
    case invalidConfiguration(String)
    /// Loading parameters failed (the module error names the keys).
    case module(ModuleError)
    /// A layer failed.
    case tensor(TensorError)
    /// An input image cannot be processed (e.g. zero size).
    case invalidImage(index: Int, reason: String)

    /// A readable message.
    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return "RetinaNet configuration: \(m)"
        case .module(let e): return "\(e)"
        case .tensor(let e): return "RetinaNet layer: \(e)"
        case .invalidImage(let i, let r): return "image \(i): \(r)"
        }
    }
}
