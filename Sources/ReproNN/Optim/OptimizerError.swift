/// Why an optimizer, a schedule or a clipping call refused its input. Nothing is changed when
/// one of these is thrown.
public enum OptimizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A hyper-parameter is out of range (the checks PyTorch's optimizers and schedulers make).
    case invalidHyperparameter(String)
    /// The optimizer was given no parameters, or a group has none.
    case emptyParameterList
    /// A parameter name appears twice (in one group or in two).
    case duplicateParameter(String)
    /// The number of parameters or gradients handed to `step` is not the optimizer's.
    case countMismatch(expected: Int, actual: Int, what: String)
    /// A parameter or its gradient does not have the shape the optimizer was built for.
    case shapeMismatch(parameter: String, expected: [Int], actual: [Int])
    /// A parameter or gradient is not a float32 tensor.
    case notFloat32(parameter: String)
    /// A gradient holds NaN or infinity at `step` (1-based count of this optimizer's steps);
    /// the step is refused so the weights are never silently corrupted.
    case nonFiniteGradient(parameter: String, step: Int, index: Int)
    /// A model parameter the optimizer updates is missing from the model, or a gradient names a
    /// parameter the optimizer does not know.
    case unknownParameter(String)
    /// A saved state does not fit this optimizer or model: the first offending key and why.
    case stateMismatch(key: String, reason: String)
    /// A schedule was stepped past its end (`OneCycleLR` beyond `total_steps`).
    case scheduleExhausted(step: Int, totalSteps: Int)
    /// The clipping norm is NaN or infinite and `errorIfNonfinite` was set.
    case nonFiniteNorm(Float)
    /// Writing the updated parameters back into a model failed.
    case module(ModuleError)

    /// A one-line explanation naming the problem.
    public var description: String {
        switch self {
        case .invalidHyperparameter(let m): return "invalid hyper-parameter: \(m)"
        case .emptyParameterList: return "optimizer got an empty parameter list"
        case .duplicateParameter(let n): return "parameter \(n) appears more than once in the optimizer's groups"
        case let .countMismatch(expected, actual, what): return "\(what): expected \(expected), got \(actual)"
        case let .shapeMismatch(p, e, a): return "\(p): shape \(a) does not match the optimizer's \(e)"
        case .notFloat32(let p): return "\(p): optimizers update float32 tensors only"
        case let .nonFiniteGradient(p, s, i): return "\(p): gradient element \(i) is not finite at step \(s); step refused, nothing changed"
        case .unknownParameter(let n): return "unknown parameter \(n)"
        case let .stateMismatch(k, r): return "optimizer state does not fit: \(k): \(r)"
        case let .scheduleExhausted(s, t): return "schedule stepped to \(s), beyond its total of \(t) steps"
        case .nonFiniteNorm(let v): return "the total norm of the gradients is \(v) (errorIfNonfinite)"
        case .module(let e): return "module: \(e)"
        }
    }
}
