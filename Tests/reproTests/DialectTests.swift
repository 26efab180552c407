import Foundation
import Testing
import _ReproTestSupport

/// One dialect across subcommands: `--json` is a switch (JSON lines, snake_case keys) with
/// `--output PATH`, `--seed` parses every integer torch accepts, an output error names the path
/// (exit 1, no usage text), and help paragraphs are wrapped only by the argument parser.
@Suite struct DialectTests {
    static let subcommands = ["random", "env", "detect", "image", "batches", "demo", "check", "verify", "doctor"]

    @Test func everyJSONOutputParsesWithSnakeCaseKeys() throws {
        let root = try makeImageFolder(sameSize: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let runs: [[String]] = [
            ["env", "--json"],
            ["doctor", "--json"],
            ["random", "torch.randn", "--seed", "1", "--count", "3", "--json"],
            ["image", Fixtures.url("images/gray_1x1_d8.png").path, "/nonexistent.png", "--json"],
            ["batches", root, "--batch-size", "5", "--json"],
        ]
        for args in runs {
            let r = try runRepro(args)
            #expect(r.status == 0 || args[0] == "image", "\(args): \(r.stderr)")
            let objects = try parseJSONLines(r.stdout)
            #expect(!objects.isEmpty, "\(args)")
            for key in objects.flatMap(allKeys) { #expect(isSnakeCase(key), "\(args): key \(key)") }
        }
        // detect: DetectOutputTests.cocoResultsMatchTheJSONRecords checks its keys the same way.
    }

    @Test func seedsParseEverywhere() throws {
        // random: any integer parses; each stream then checks its library's range.
        let minusOne = try runRepro(["random", "torch.randn", "--seed", "-1", "--count", "2"])
        let twoTo64Minus1 = try runRepro(["random", "torch.randn", "--seed", "18446744073709551615", "--count", "2"])
        #expect(minusOne.status == 0 && minusOne.stdout == twoTo64Minus1.stdout, "torch.manual_seed(-1) keeps 2^64 - 1")
        let huge = try runRepro(["random", "python.random", "--seed", "-1267650600228229401496703205383", "--count", "1"])
        #expect(huge.status == 0, "\(huge.stderr)")
        // detect and batches: DetectCommandTests.negativeAnd64BitSeedsParse, BatchesCommandTests.seedsAndResumeLimits.
        for command in ["random", "detect", "batches"] {
            let help = try runRepro([command, "--help"])
            #expect(help.stdout.contains("--seed <integer>"), "\(command)")
        }
    }

    @Test func outputErrorsNameThePathWithoutUsageText() throws {
        let bad = "/nonexistent-dir/out.txt"
        let root = try makeImageFolder(sameSize: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for args in [["env"], ["random", "python.random", "--seed", "1"], ["image", Fixtures.url("images/gray_1x1_d8.png").path],
                     ["batches", root], ["detect"]] {
            let r = try runRepro(args + ["--output", bad])
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.contains("\(bad): cannot write there: the directory /nonexistent-dir does not exist"), "\(args): \(r.stderr)")
            #expect(!r.stderr.lowercased().contains("usage:"), "\(args)")
            #expect(!r.stderr.contains("NSCocoaErrorDomain"), "\(args)")
        }
    }

    /// The overview and discussion are wrapped by the argument parser alone (79 columns and the
    /// line break): a line inside a paragraph ends only where the next word would not fit.
    @Test func helpIsNotBrokenMidSentence() throws {
        for command in [[]] + Self.subcommands.map { [$0] } {
            let r = try runRepro(command + ["--help"])
            #expect(r.status == 0)
            let head = r.stdout.components(separatedBy: "\nUSAGE:")[0].trimmingCharacters(in: .newlines)
            for paragraph in head.components(separatedBy: "\n\n") {
                let lines = paragraph.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                for (line, next) in zip(lines, lines.dropFirst()) where !next.isEmpty {
                    let nextWord = next.split(separator: " ").first.map(String.init) ?? ""
                    #expect(line.count + 1 + nextWord.count >= 80, "\(command): line broken early: '\(line)'")
                }
            }
        }
    }
}
