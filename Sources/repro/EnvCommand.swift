import ArgumentParser
import Repro

/// `repro env [--json]`: the environment fingerprint.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print the environment fingerprint: Repro version and commit, Swift, OS, CPU and SIMD, build, threads, hashing.",
        discussion: """
            The git commit is `git rev-parse HEAD` run in the source checkout the binary was built \
            from (its path is recorded at build time), so it is "unknown" when that checkout is gone \
            or git is missing. With --json the output is one JSON object with sorted keys.
            """
    )

    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.")
    var json = false

    func run() {
        let fingerprint = EnvironmentFingerprint.current()
        print(json ? fingerprint.jsonString() : fingerprint.text, terminator: "")
    }
}
