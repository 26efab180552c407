import ArgumentParser
import Repro

/// `repro env [--json] [--output PATH]`: the environment fingerprint.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print the environment fingerprint: Repro version and commit, Swift, OS, CPU and SIMD, build, threads, hashing.",
        discussion: """
            The version and the git commit describe the running binary: the commit is embedded when the binary \
            is built (from git, by the package's build plugin), so it does not depend on the working directory; \
            it is "unknown" for a build outside a git checkout. With --json the output is one JSON object \
            (sorted snake_case keys) on one line.
            """
    )

    @OptionGroup var output: OutputOptions

    func run() throws {
        var guardian = OutputGuard()
        if let path = output.output { try guardian.claimFile(path) }
        let sink = try OutputSink.named(output.output)
        let fingerprint = EnvironmentFingerprint.current()
        try sink.write(output.json ? JSONOutput.line(fingerprint) + "\n" : fingerprint.text)
        try sink.close()
    }
}
