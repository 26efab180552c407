import Foundation
import Testing
import _ReproTestSupport

/// The README's example commands, run through the built `repro` executable, so that a renamed
/// option, stream or subcommand breaks a test instead of the documentation.
///
/// The "The `repro` tool" block runs as written, with its placeholder inputs (`photo.jpg`,
/// `images/`) replaced by repository fixtures. The "Real detections" commands need torchvision's
/// COCO checkpoints, which the repository does not hold: each one runs with a checkpoint path that
/// does not exist, which must get past the argument parser and validation (exit 1, our own error
/// naming that path, not a usage error), and every option it uses must be listed by `repro detect --help`.
@Suite struct ReadmeCommandsTests {
    /// Every `repro …` line of the tool block exits 0; JSON output parses line by line.
    @Test func toolBlockCommandsRun() throws {
        let commands = try readmeToolCommands()
        #expect(commands.count >= 5, "the README's `repro` tool block has \(commands.count) commands")
        let folder = try makeImageFolder(sameSize: true)
        // Files the commands write (`ref.json`, `run.json`, …) go here, never into the working directory.
        let scratch = try makeTemporaryFolder("readme-tool")
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(at: scratch)
        }
        for command in commands {
            let arguments = try command.dropFirst().map { try substitutePlaceholder($0, imageFolder: folder, scratch: scratch.path) }
            let r = try runRepro(Array(arguments))
            let shown = command.joined(separator: " ")
            #expect(r.status == 0, "`\(shown)` exited \(r.status): \(r.stderr)")
            #expect(!r.stdout.isEmpty, "`\(shown)` printed nothing")
            if wantsJSON(arguments) {
                for line in r.stdout.split(separator: "\n") {
                    #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil,
                            "`\(shown)` printed a line that is not JSON: \(line)")
                }
            }
        }
    }

    /// The "Real detections" commands parse and validate, and use only options `repro detect --help` lists.
    @Test func realDetectionCommandsParse() throws {
        let commands = try readmeDetectCommands()
        #expect(commands.count >= 2, "the README's real-detections block has \(commands.count) `repro detect` commands")
        let help = try runRepro(["detect", "--help"])
        #expect(help.status == 0, "\(help.stderr)")
        let listed = Set(help.stdout.matches(of: /--[a-z0-9][a-z0-9-]*/).map { String($0.output) })
        #expect(listed.contains("--weights"), "help lists no --weights: \(help.stdout)")
        let scratch = try makeTemporaryFolder("readme-detect")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let missingWeights = scratch.appendingPathComponent("absent-checkpoint.pth").path
        for command in commands {
            let shown = command.joined(separator: " ")
            for option in command where option.hasPrefix("--") {
                #expect(listed.contains(option), "`\(option)` in `\(shown)` is not in `repro detect --help`")
            }
            var arguments: [String] = []
            var index = command.index(after: command.startIndex)
            while index < command.endIndex {
                let token = command[index]
                if token == "--weights", command.index(after: index) < command.endIndex {
                    arguments += [token, missingWeights]
                    index = command.index(index, offsetBy: 2)
                    continue
                }
                if token.hasSuffix("/") && arguments.last == "--draw" {
                    arguments.append(scratch.appendingPathComponent(token).path)
                } else {
                    arguments.append(try substitutePlaceholder(token, imageFolder: scratch.path, scratch: scratch.path))
                }
                index = command.index(after: index)
            }
            #expect(arguments.contains(missingWeights), "`\(shown)` has no --weights")
            let r = try runRepro(arguments)
            // Exit 64 is the argument parser's usage error; 1 is our own error about the missing file.
            #expect(r.status == 1, "`\(shown)` exited \(r.status): \(r.stderr)")
            #expect(r.stderr.contains(missingWeights), "`\(shown)`: \(r.stderr)")
        }
    }

    /// Changing an option name in the block is caught: the extraction sees the README as written.
    @Test func extractionReadsTheREADME() throws {
        let text = try readme()
        let commands = try readmeToolCommands(in: text)
        let broken = text.replacingOccurrences(of: "--count 17", with: "--cuont 17")
        #expect(broken != text, "the README no longer has `--count 17`; update this test's probe")
        let brokenCommands = try readmeToolCommands(in: broken)
        let folder = try makeTemporaryFolder("readme-probe")
        defer { try? FileManager.default.removeItem(at: folder) }
        let changed = zip(commands, brokenCommands).filter { $0 != $1 }.map(\.1)
        #expect(changed.count == 1)
        for command in changed {
            let r = try runRepro(try command.dropFirst().map { try substitutePlaceholder($0, imageFolder: folder.path, scratch: folder.path) })
            #expect(r.status != 0, "a misspelt option was accepted: \(command)")
        }
    }
}

/// README.md at the repository root.
private func readme() throws -> String {
    let url = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")
    return try String(contentsOf: url, encoding: .utf8)
}

/// The lines of every ```sh block in the section whose heading starts with `heading` (up to the next `## `).
private func shellBlocks(after heading: String, in text: String) throws -> [Substring] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let start = try #require(lines.firstIndex { $0.hasPrefix(heading) }, "README has no heading `\(heading)`")
    var block: [Substring] = []
    var fence: Substring?
    for line in lines[start...].dropFirst() {
        if fence == nil && line.hasPrefix("## ") { break }
        if line.hasPrefix("```") {
            fence = fence == nil ? line : nil
            continue
        }
        if fence == "```sh" { block.append(line) }
    }
    return block
}

/// Splits a command line on blanks after dropping a trailing `# comment`; refuses shell syntax
/// (quotes, substitutions, pipes; `$` unless `allowingVariables`) that this plain split would misread.
private func words(_ line: Substring, allowingVariables: Bool = false) throws -> [String] {
    let code = line.firstRange(of: " #").map { line[..<$0.lowerBound] } ?? line
    let tokens = code.split(whereSeparator: \.isWhitespace).map(String.init)
    let refused = "'\"`|;&<>(){}*?" + (allowingVariables ? "" : "$")
    for token in tokens where token.contains(where: { refused.contains($0) }) {
        throw ReadmeCommandError.unsupportedShellSyntax(String(line))
    }
    return tokens
}

/// The `repro …` commands of the README's "The `repro` tool" block, one word list each.
private func readmeToolCommands(in text: String? = nil) throws -> [[String]] {
    try shellBlocks(after: "## The `repro` tool", in: text ?? readme())
        .filter { $0.hasPrefix("repro ") }
        .map { try words($0) }
}

/// The `repro detect …` commands of the "Real detections" block (continuation lines joined),
/// from `repro` on, with the `swift run …` prefix dropped.
private func readmeDetectCommands() throws -> [[String]] {
    let block = try shellBlocks(after: "## Real detections", in: readme())
    var joined: [String] = []
    var pending = ""
    for line in block {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("\\") {
            pending += trimmed.dropLast() + " "
        } else {
            joined.append(pending + trimmed)
            pending = ""
        }
    }
    return try joined.filter { $0.contains("repro detect ") }.map { line in
        let tokens = try words(Substring(line), allowingVariables: true)
        let at = try #require(tokens.firstIndex(of: "repro"), "no `repro` word in \(line)")
        return Array(tokens[at...])
    }
}

/// Replaces a README placeholder input with a repository fixture: an image file name with a JPEG or
/// PNG fixture, a folder (`name/`) with `imageFolder`. Other words pass through.
private func substitutePlaceholder(_ word: String, imageFolder: String, scratch: String) throws -> String {
    if word.hasPrefix("-") { return word }
    let lower = word.lowercased()
    // A bare file name the command writes or reads back (a reference, a manifest, a log): the
    // scratch folder, so that running the README leaves nothing in the working directory.
    if !word.contains("/"), [".json", ".jsonl"].contains(where: { lower.hasSuffix($0) }) {
        return scratch + "/" + word
    }
    if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") {
        return Fixtures.url("images/photo_chelsea.jpg").path
    }
    if lower.hasSuffix(".png") { return Fixtures.url("images/photo_camera.png").path }
    if word.hasSuffix("/") { return imageFolder }
    return word
}

/// Whether the arguments ask for JSON output.
private func wantsJSON(_ arguments: some Collection<String>) -> Bool {
    let list = Array(arguments)
    return list.contains("--json") || zip(list, list.dropFirst()).contains { $0 == ("--format", "json") }
}

/// A README command this test cannot run faithfully.
private enum ReadmeCommandError: Error, CustomStringConvertible {
    /// The line uses shell syntax that splitting on blanks would misread.
    case unsupportedShellSyntax(String)

    var description: String {
        switch self {
        case .unsupportedShellSyntax(let line): "README command uses shell syntax this test does not model: \(line)"
        }
    }
}
