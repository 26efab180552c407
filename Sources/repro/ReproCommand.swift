import ArgumentParser
import Repro

/// The `repro` command-line tool.
@main
struct ReproCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repro",
        abstract: "Bitwise-reproducible deep-learning inference and data pipelines, with proof.",
        subcommands: [ImageCommand.self]
    )
}
