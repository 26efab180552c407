/// Errors thrown by tensor operations; each names the operation and the shapes involved.
///
/// ```swift
/// do { _ = try a.matmul(b) } catch { print(error) }
/// // matmul: shapes [2, 3] and [4, 5] do not match (expected [m, k] and [k, n])
/// ```
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Operand shapes are incompatible.
    case shapeMismatch(op: String, shapes: [[Int]], reason: String)
    /// A shape is invalid by itself (negative or overflowing size, wrong rank…).
    case invalidShape(op: String, shape: [Int], reason: String)
    /// An argument other than a shape is invalid (stride 0, k out of range…).
    case invalidArgument(op: String, reason: String)
    /// The element type is not the one the operation needs.
    case dtypeMismatch(op: String, expected: DType, actual: DType)
    /// The allocation would exceed ``Runtime/maxAllocationBytes``.
    case allocationTooLarge(op: String, shape: [Int], bytes: Int, limit: Int)
    /// Raw access needs a contiguous tensor; call `contiguous()` first.
    case notContiguous(op: String, shape: [Int], strides: [Int])
    /// An algorithm whose bits depend on timing, thread count or batch
    /// composition was requested while ``Runtime/deterministicAlgorithms`` is on.
    case nondeterministicAlgorithm(op: String, algorithm: String, reason: String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .shapeMismatch(op, shapes, reason):
            return "\(op): shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) do not match (\(reason))"
        case let .invalidShape(op, shape, reason):
            return "\(op): invalid shape \(shape) (\(reason))"
        case let .invalidArgument(op, reason):
            return "\(op): \(reason)"
        case let .dtypeMismatch(op, expected, actual):
            return "\(op): expected dtype \(expected), got \(actual)"
        case let .allocationTooLarge(op, shape, bytes, limit):
            return "\(op): allocating \(shape) needs \(bytes) bytes, above the limit of \(limit) (Runtime.maxAllocationBytes)"
        case let .notContiguous(op, shape, strides):
            return "\(op): tensor of shape \(shape) with strides \(strides) is not contiguous; call contiguous() first"
        case let .nondeterministicAlgorithm(op, algorithm, reason):
            return "\(op): algorithm '\(algorithm)' is nondeterministic (\(reason)); it is refused while Runtime.deterministicAlgorithms is on"
        }
    }
}
