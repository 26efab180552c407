/// Why a ``RandomStream`` name, seed or count was refused.
public enum RandomStreamError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The name matches no stream; `accepted` lists the names that do.
    case unknownStream(String, accepted: [String])
    /// The name has the wrong number of `:`-separated parameters (`expected` is the pattern).
    case wrongParameterCount(String, expected: String)
    /// A parameter is not in the expected syntax.
    case malformedParameter(String, parameter: String, value: String, expected: String)
    /// A parameter is well formed but outside what the library accepts.
    case invalidParameter(String, parameter: String, detail: String)
    /// The seed is outside the range the stream's library accepts.
    case seedOutOfRange(String, seed: String, accepted: String)
    /// The count is negative, too large, or larger than the stream's fixed length.
    case countOutOfRange(String, count: Int, accepted: String)

    /// A sentence naming the stream and the problem, with what is accepted.
    public var description: String {
        switch self {
        case let .unknownStream(name, accepted):
            return "unknown stream '\(name)'; accepted streams: \(accepted.joined(separator: ", "))"
        case let .wrongParameterCount(name, expected):
            return "stream '\(name)' has the wrong number of parameters; expected \(expected)"
        case let .malformedParameter(name, parameter, value, expected):
            return "stream '\(name)': parameter \(parameter) '\(value)' is not \(expected)"
        case let .invalidParameter(name, parameter, detail):
            return "stream '\(name)': parameter \(parameter) \(detail)"
        case let .seedOutOfRange(name, seed, accepted):
            return "seed \(seed) is out of range for '\(name)'; accepted: \(accepted)"
        case let .countOutOfRange(name, count, accepted):
            return "count \(count) is out of range for '\(name)'; accepted: \(accepted)"
        }
    }
}
