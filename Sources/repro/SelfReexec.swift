#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Repro

/// Re-executes the running `repro` once with `SWIFT_DETERMINISTIC_HASHING=1`
/// (see `HashingDeterminism.needsReexec(environment:)` for when).
///
/// The new image is the same executable (`/proc/self/exe` on Linux,
/// `_NSGetExecutablePath` on macOS) with the same argv; `REPRO_REEXECUTED=1`
/// marks it so it never re-executes again. If `execv` fails, the variables are
/// removed again and the command runs with per-process hashing, with a warning.
enum SelfReexec {
    static func ensureDeterministicHashing() {
        guard HashingDeterminism.needsReexec(environment: ProcessInfo.processInfo.environment) else { return }
        guard let path = executablePath() else {
            warn("cannot find the executable's path")
            return
        }
        setenv(HashingDeterminism.environmentVariable, "1", 1)
        setenv(HashingDeterminism.reexecMarkerVariable, "1", 1)
        execv(path, CommandLine.unsafeArgv)
        let reason = String(cString: strerror(errno))
        unsetenv(HashingDeterminism.environmentVariable)
        unsetenv(HashingDeterminism.reexecMarkerVariable)
        warn(reason)
    }

    static func executablePath() -> String? {
        #if os(Linux)
        return "/proc/self/exe"
        #elseif os(macOS)
        var size: UInt32 = 0
        _ = _NSGetExecutablePath(nil, &size)
        var buffer = [CChar](repeating: 0, count: Int(size) + 1)
        guard _NSGetExecutablePath(&buffer, &size) == 0 else { return nil }
        return String(cString: buffer)
        #else
        return nil
        #endif
    }

    static func warn(_ reason: String) {
        let message = "repro: warning: could not re-execute with SWIFT_DETERMINISTIC_HASHING=1 (\(reason)); "
            + "hashing stays per-process\n"
        FileHandle.standardError.write(Data(message.utf8))
    }
}
