#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Repro

/// The `repro` command-line tool.
@main
struct ReproCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repro",
        abstract: "Bitwise-reproducible deep-learning inference and data pipelines, with proof.",
        discussion: """
            Deterministic hashing: Swift seeds its Hasher per process unless \
            SWIFT_DETERMINISTIC_HASHING is set when the process starts. When it is not set, repro \
            re-executes itself once with SWIFT_DETERMINISTIC_HASHING=1 (same arguments, and \
            REPRO_REEXECUTED=1 to rule out a loop). Set REPRO_NO_REEXEC=1 to opt out; a value you \
            set for SWIFT_DETERMINISTIC_HASHING yourself is always kept. `repro env` reports the mode.
            """,
        version: ReproBuild.version,
        subcommands: [DemoCommand.self, DetectCommand.self, CheckCommand.self, VerifyCommand.self, DoctorCommand.self,
                      RandomCommand.self, EnvCommand.self, ImageCommand.self, BatchesCommand.self, TrainCommand.self,
                      TrainBenchCommand.self]
    )

    /// Makes hashing deterministic (re-executing once if needed), then runs the command.
    static func main() {
        SelfReexec.ensureDeterministicHashing()
        acceptInterrupts()
        main(nil)
    }

    /// Unblocks SIGINT and SIGTERM, which a parent may have left blocked in the inherited signal
    /// mask (a thread of a dispatch queue that starts a process does): an interrupted run must stop,
    /// keeping the records it wrote (see `DetectionWriter`). Threads started later inherit the mask.
    static func acceptInterrupts() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
