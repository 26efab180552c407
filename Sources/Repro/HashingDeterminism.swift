#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether Swift's `Hasher` is deterministic in this process.
///
/// Swift seeds `Hasher` randomly per process unless the environment variable
/// `SWIFT_DETERMINISTIC_HASHING` is set when the process **starts** (setting it
/// later has no effect). Repro never lets `Dictionary`/`Set` order reach an
/// output, so its results do not depend on it; it is reported because user
/// code might. The `repro` tool re-executes itself once with the variable set
/// (opt out with `REPRO_NO_REEXEC=1`).
///
/// ```swift
/// if !HashingDeterminism.isDeterministic { print("hash order varies per run") }
/// ```
public enum HashingDeterminism {
    /// `SWIFT_DETERMINISTIC_HASHING`.
    public static let environmentVariable = "SWIFT_DETERMINISTIC_HASHING"

    /// Whether the variable holds a value the Swift runtime reads as true (its
    /// boolean parser looks at the first character only: `1`, `t`/`T` or `y`/`Y`,
    /// so `1`, `true` and `yes` all count). Reads the process environment, which
    /// holds what was set at launch unless the process changed it since.
    public static var isDeterministic: Bool {
        guard let raw = getenv(environmentVariable) else { return false }
        return isTrue(String(cString: raw))
    }

    /// Whether the variable is present at all (even with a false value).
    public static var isSet: Bool { getenv(environmentVariable) != nil }

    /// The Swift runtime's reading of a boolean environment value (first character).
    static func isTrue(_ value: String) -> Bool {
        guard let first = value.first else { return false }
        return "1tTyY".contains(first)
    }
}
