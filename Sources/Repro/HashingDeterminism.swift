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
    /// `REPRO_NO_REEXEC`: when set to a true value, the `repro` tool does not
    /// re-execute itself to make hashing deterministic.
    public static let optOutVariable = "REPRO_NO_REEXEC"
    /// `REPRO_REEXECUTED`: set by the `repro` tool on the process it re-executes,
    /// so it never re-executes twice (and so the fingerprint can say who set the variable).
    public static let reexecMarkerVariable = "REPRO_REEXECUTED"

    /// Who set `SWIFT_DETERMINISTIC_HASHING` for this process, in words.
    public static var origin: String {
        let hasMarker = getenv(reexecMarkerVariable) != nil
        switch (isSet, isDeterministic, hasMarker) {
        case (true, true, true): return "set by repro re-executing itself"
        case (true, true, false): return "set in the environment at launch"
        case (true, false, _): return "set to a false value at launch"
        case (false, _, _):
            if let v = getenv(optOutVariable), isTrue(String(cString: v)) { return "not set (\(optOutVariable) opts out)" }
            return "not set"
        }
    }

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

    /// Whether the `repro` tool should re-execute itself to set
    /// `SWIFT_DETERMINISTIC_HASHING=1`, given its environment: only when the
    /// variable is absent (a value the user set, even a false one, is respected),
    /// the process is not already the re-executed one (``reexecMarkerVariable``:
    /// the loop guard), and ``optOutVariable`` does not hold a true value.
    ///
    /// ```swift
    /// HashingDeterminism.needsReexec(environment: [:])                                   // true
    /// HashingDeterminism.needsReexec(environment: ["SWIFT_DETERMINISTIC_HASHING": "1"])  // false
    /// ```
    public static func needsReexec(environment: [String: String]) -> Bool {
        guard environment[environmentVariable] == nil, environment[reexecMarkerVariable] == nil else { return false }
        if let optOut = environment[optOutVariable], isTrue(optOut) { return false }
        return true
    }

    /// The Swift runtime's reading of a boolean environment value (first character).
    static func isTrue(_ value: String) -> Bool {
        guard let first = value.first else { return false }
        return "1tTyY".contains(first)
    }
}
