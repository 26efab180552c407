import ArgumentParser
import Foundation
import ReproLintKit

/// `repro-lint PATH… [--format text|json|sarif]`: flags sources of nondeterminism in Swift code.
@main
struct ReproLint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repro-lint",
        abstract: "Find sources of nondeterminism in Swift code (unseeded randomness, clocks, hash-ordered iteration, …).",
        discussion: """
            Rules (ids as printed): \(LintRule.allCases.map(\.rawValue).joined(separator: ", ")). \
            Each is a syntactic heuristic (no type checking); docs/lint.md describes what each one matches. \
            Suppress a finding with a comment on its line, or alone on the line above: \
            `// repro-lint: allow <rule> — <reason>` (the reason is required).

            Exit status: 0 no finding, 1 findings, 2 a path could not be read (its findings, if any, are still printed).
            """
    )

    @Argument(help: "Swift files, or folders searched recursively for .swift files.")
    var paths: [String]

    @Option(name: .long, help: "Output format: text, json or sarif (SARIF 2.1.0).")
    var format: String = "text"

    func validate() throws {
        guard LintFormat(rawValue: format) != nil else { throw ValidationError("--format must be text, json or sarif") }
        guard !paths.isEmpty else { throw ValidationError("give at least one file or folder") }
    }

    func run() throws {
        let (report, unreadable) = LintInput.lint(paths)
        for problem in unreadable {
            FileHandle.standardError.write(Data("repro-lint: error: \(problem)\n".utf8))
        }
        FileHandle.standardOutput.write(Data(report.rendered(LintFormat(rawValue: format) ?? .text).utf8))
        if !unreadable.isEmpty { throw ExitCode(2) }
        if !report.findings.isEmpty { throw ExitCode(1) }
    }
}
