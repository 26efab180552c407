import ReproNN

/// Errors from building or running a ``ResNet``.
public enum ResNetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The configuration cannot describe a network.
    case invalidConfiguration(String)
    /// A module failed (its error names the module path) or a checkpoint does not fit.
    case module(ModuleError)
    /// An input cannot be processed.
    case invalidInput(String)

    /// A readable message.
    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return "ResNet configuration: \(m)"
        case .module(let e): return "ResNet: \(e)"
        case .invalidInput(let m): return "ResNet input: \(m)"
        }
    }
}
