/// Why a PyTorch-compatible random call, initialiser or sampler refused its input.
///
/// Each case mirrors a check PyTorch performs (its message is quoted in the
/// description where there is one); Repro checks **before** drawing anything,
/// so a refused call leaves the generator untouched.
public enum TorchRandomError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A negative element count.
    case negativeCount(Int)
    /// `uniform_` bounds with `from > to`, a NaN, or a range wider than the
    /// dtype's largest finite value.
    case invalidUniformBounds(from: Double, to: Double)
    /// `normal_` with `std < 0` or NaN.
    case invalidStandardDeviation(Double)
    /// `random_(from, to)` / `randint` with `from >= to`.
    case emptyRange(from: Int64, to: Int64)
    /// A bound that the output dtype cannot hold.
    case boundOutsideDType(bound: Int64, dtype: TorchDType)
    /// A call PyTorch refuses for this dtype.
    case unsupportedDType(operation: String, dtype: TorchDType)
    /// `randperm(n)` whose values do not fit the requested integer type.
    case permutationTooLarge(n: Int, type: String)
    /// A Bernoulli probability outside `[0, 1]` (or NaN); `index` is nil for a scalar `p`.
    case invalidProbability(Double, index: Int?)
    /// `calculate_gain`/`leaky_relu` with a slope that is not finite.
    case invalidParameter(name: String, value: Double)
    /// fan-in/fan-out asked of a tensor with fewer than 2 dimensions.
    case fanNeedsTwoDimensions(shape: [Int])
    /// A shape with a negative extent, or a buffer whose size is not the shape's product.
    case shapeMismatch(shape: [Int], count: Int)
    /// A fan of 0 where the formula divides by it.
    case zeroFan(shape: [Int])
    /// A size or count that PyTorch rejects (layer sizes, batch size, sample count…).
    case invalidArgument(name: String, value: Int)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case .negativeCount(let n):
            return "element count must be non-negative, got \(n)"
        case let .invalidUniformBounds(from, to):
            return "uniform_ expects to return a [from, to) range within the dtype's finite range, but found from=\(from) to=\(to)"
        case .invalidStandardDeviation(let std):
            return "normal expects std >= 0.0, but found std \(std)"
        case let .emptyRange(from, to):
            return "random_ expects 'from' to be less than 'to', but got from=\(from) >= to=\(to)"
        case let .boundOutsideDType(bound, dtype):
            return "random_ bound \(bound) is out of bounds for \(dtype)"
        case let .unsupportedDType(operation, dtype):
            return "\(operation) is not supported for \(dtype)"
        case let .permutationTooLarge(n, type):
            return "randperm(\(n)): values up to \(n - 1) do not fit \(type)"
        case let .invalidProbability(p, index):
            let at = index.map { " at index \($0)" } ?? ""
            return "bernoulli expects p to be in [0, 1], but got p=\(p)\(at)"
        case let .invalidParameter(name, value):
            return "invalid \(name): \(value)"
        case .fanNeedsTwoDimensions(let shape):
            return "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape \(shape))"
        case let .shapeMismatch(shape, count):
            return "shape \(shape) does not describe \(count) elements"
        case .zeroFan(let shape):
            return "fan of a tensor of shape \(shape) is 0; the init formula divides by it"
        case let .invalidArgument(name, value):
            return "invalid \(name): \(value)"
        }
    }
}
