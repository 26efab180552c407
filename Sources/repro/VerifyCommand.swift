import ArgumentParser
import Foundation
import Repro

/// `repro verify MANIFEST`: runs a recorded job again and says whether it reproduced.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-run the job a run manifest records (repro detect/batches --manifest) and check every output hash.",
        discussion: """
            The job runs again in this process with the recorded subcommand and options (its output is hashed, not \
            written; --output, --draw and --manifest are dropped), in the recorded working directory when it still \
            exists. Prints `reproduced` when every output's SHA-256 equals the recorded one, otherwise which outputs \
            differ; then every recorded fact that differs now — weights, inputs, seeds, Repro version or binary, \
            runtime settings, floating-point mode first (they can explain a difference), then the machine (CPU, OS, \
            threads), which must not change any bit. --json prints {"reproduced", "outputs_differing", \
            "changed_facts", "outputs_compared"}. Exit status: 0 reproduced, 1 an output differs, 2 the job cannot \
            run (a missing file, named) or the manifest is unreadable, corrupt or from a newer schema.
            """
    )

    @Argument(help: "A manifest written by repro detect --manifest or repro batches --manifest.")
    var manifest: String

    @Option(name: .long, help: "Re-run with this many worker threads instead of the recorded setting (outputs must not change).")
    var threads: Int?

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let recorded: RunManifest
        do { recorded = try RunManifest(contentsOf: manifest) } catch { try Self.cannotRun(error.description) }
        let cwd = recorded.command.workingDirectory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: cwd, isDirectory: &isDirectory), isDirectory.boolValue {
            _ = FileManager.default.changeCurrentDirectoryPath(cwd)
        }
        let recorder = ManifestRecorder(subcommand: recorded.command.subcommand, arguments: recorded.command.arguments)
        let sink = OutputSink.discarding()
        do {
            switch recorded.command.subcommand {
            case "detect":
                var command = try Self.parse(DetectCommand.self, recorded)
                command.manifest = nil
                command.output.output = nil
                command.draw = nil
                command.progress = false
                if let threads { command.threadsOption.threads = threads }
                try Self.requireFiles((command.weights.map { [$0] } ?? []) + command.images)
                try Self.rerun { try command.execute(recorder: recorder, sink: sink) }
            case "batches":
                var command = try Self.parse(BatchesCommand.self, recorded)
                command.manifest = nil
                command.output.output = nil
                command.progress = false
                if let threads { command.threadsOption.threads = threads }
                try Self.requireFiles([command.folder])
                try Self.rerun { try command.execute(recorder: recorder, sink: sink) }
            default:
                try Self.cannotRun("\(manifest): records `\(recorded.command.subcommand)`, which repro verify cannot re-run (detect, batches)")
            }
        }
        let now = recorder.manifest(wholeOutput: sink.sha256)
        let differing = now.outputsDiffering(from: recorded)
        let facts = now.changedFacts(since: recorded)
        try printReport(recorded: recorded, differing: differing, facts: facts)
        if !differing.isEmpty { throw ExitCode(1) }
    }

    /// The recorded arguments parsed as `type` (the subcommand) parses them.
    static func parse<C: ParsableCommand>(_ type: C.Type, _ recorded: RunManifest) throws -> C {
        do { return try C.parse(recorded.command.arguments) } catch {
            try cannotRun("the recorded command is not valid for this repro: \(C.message(for: error))")
        }
    }

    /// Exit status 2 with a message: the job cannot run.
    static func cannotRun(_ message: String) throws -> Never {
        printError("cannot run: \(message)")
        throw ExitCode(2)
    }

    /// Every path must exist and be readable ('-' cannot be read again).
    static func requireFiles(_ paths: [String]) throws {
        for path in paths {
            if path == "-" { try cannotRun("the job read standard input, which cannot be read again") }
            if access(path, R_OK) != 0 { try cannotRun(CLIError.posix(path, "missing").description) }
        }
    }

    /// Runs the job; an image that failed (exit 1) is a recorded output like any other, anything else cannot run.
    static func rerun(_ body: () throws -> Void) throws {
        do { try body() } catch let code as ExitCode where code == ExitCode(1) {
            // Failures were recorded as outputs and are compared below.
        } catch let code as ExitCode {
            try cannotRun("the job stopped with status \(code.rawValue)")
        } catch {
            try cannotRun("\(error)")
        }
    }

    private func printReport(recorded: RunManifest, differing: [String], facts: [RunManifest.ChangedFact]) throws {
        let sink = OutputSink.standardOutput
        if json {
            struct Report: Encodable {
                var reproduced: Bool, outputsDiffering: [String], changedFacts: [RunManifest.ChangedFact], outputsCompared: Int
            }
            try sink.writeLine(JSONOutput.line(Report(
                reproduced: differing.isEmpty, outputsDiffering: differing, changedFacts: facts,
                outputsCompared: recorded.outputs.count)))
            return
        }
        var lines: [String] = []
        if differing.isEmpty {
            lines.append("reproduced: \(recorded.outputs.count) outputs identical (whole output sha256 \(recorded.outputSHA256))")
        } else {
            lines.append("DIFFERS: \(differing.count) output\(differing.count == 1 ? "" : "s") not reproduced: \(differing.joined(separator: ", "))")
        }
        if facts.isEmpty {
            lines.append("no recorded fact changed")
        } else {
            lines.append(differing.isEmpty ? "facts that changed (no output did):" : "facts that changed (those that can explain it first):")
            for f in facts {
                lines.append("  \(f.explainsOutputs ? "*" : "-") \(f.fact): \(f.recorded) -> \(f.now)")
            }
        }
        try sink.write(lines.joined(separator: "\n") + "\n")
    }
}
