#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure reported to the user as one sentence in our own words (exit status 1, no usage text).
struct CLIError: Error, CustomStringConvertible {
    /// The message, usually `"PATH: what went wrong"`.
    var description: String

    init(_ description: String) { self.description = description }

    /// The message without a leading `"path: "` (for callers that print the path themselves).
    func message(without path: String) -> String {
        description.hasPrefix(path + ": ") ? String(description.dropFirst(path.count + 2)) : description
    }

    /// `"PATH: action: cause"` with the cause from `errno`, e.g.
    /// `"out/result.json: cannot create the output file: Permission denied"`.
    static func posix(_ path: String, _ action: String, errno code: Int32 = errno) -> CLIError {
        CLIError("\(path): \(action): \(String(cString: strerror(code)))")
    }
}
