import ArgumentParser
import Foundation
import Repro

/// `repro check`: proves a run reproducible, or finds where two runs part.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Compare activation traces, or rerun detection / data loading under varied settings and compare.",
        discussion: """
            'check diff A B' compares two traces written by 'repro detect --trace' (or by \
            scripts/torchvision_trace.py) and names the first module whose output differs. 'check detect' and \
            'check batches' rerun a job under every combination of --vary settings and compare each run with the first. \
            Exit status: 0 identical, 1 different, 2 unreadable input or traces that cannot be compared.
            """,
        subcommands: [CheckDiffCommand.self, CheckDetectCommand.self, CheckBatchesCommand.self]
    )
}

/// Exit status 2 with a message: the input could not be read or compared.
func unreadableInput(_ message: String) -> ExitCode {
    printError("error: " + message)
    return ExitCode(2)
}

/// `repro check diff A B`.
struct CheckDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two activation traces and name the first module whose output differs.",
        discussion: """
            Modules are matched by name and by run (a head shared by the pyramid levels runs once per level) and \
            reported in A's execution order. Without --tolerance outputs are equal when their SHA-256 digests are; with \
            --tolerance ABS[,REL] when every value satisfies |a - b| <= ABS + REL * |b| (needs both traces written with \
            --trace-tensors). With tensors kept the report gives the number of differing values, the largest absolute and \
            relative difference and the first differing index (row-major in the recorded channels-last shape). Traces of \
            different architectures or different input images are refused (exit 2); different weights are noted.
            """
    )

    @Argument(help: "The first trace (JSON).")
    var a: String

    @Argument(help: "The second trace (JSON).")
    var b: String

    @Option(name: .long, help: ArgumentHelp("Compare values within |a - b| <= ABS + REL * |b| instead of bit for bit.", valueName: "ABS[,REL]"),
            transform: { text in try Self.parseTolerance(text) })
    var tolerance: TraceTolerance?

    @OptionGroup var output: OutputOptions

    static func parseTolerance(_ text: String) throws -> TraceTolerance {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw ValidationError("--tolerance takes ABS or ABS,REL: non-negative numbers, e.g. 1e-4,1e-3")
        }
        return TraceTolerance(absolute: parts[0]!, relative: parts.count == 2 ? parts[1]! : 0)
    }

    func run() throws {
        let sink = try OutputSink.named(output.output)
        let result: TraceComparison
        do {
            let docA = try TraceDocument(contentsOf: a), docB = try TraceDocument(contentsOf: b)
            let ta = try Self.tensors(of: docA, at: a), tb = try Self.tensors(of: docB, at: b)
            result = try TraceComparison.compare(docA, docB, tensorsA: ta, tensorsB: tb, tolerance: tolerance)
        } catch {
            throw unreadableInput(error.description)
        }
        for note in result.notes { printError("note: " + note) }
        if result.onlyInA + result.onlyInB > 0 {
            printError("note: \(result.onlyInA) module output(s) only in A, \(result.onlyInB) only in B (not compared)")
        }
        if output.json {
            try sink.writeLine(JSONOutput.line(DiffRecord(result)))
        } else {
            try sink.writeLine(Self.text(result))
        }
        try sink.close()
        if !result.identical { throw ExitCode(1) }
    }

    /// The kept tensors of a trace (`nil` when it kept none), read from the file beside it.
    static func tensors(of doc: TraceDocument, at path: String) throws(TraceError) -> SafetensorsFile? {
        guard let name = doc.tensors else { return nil }
        let file = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
        do { return try SafetensorsFile(contentsOf: file) } catch {
            throw .unreadable(path: file, reason: "the trace's tensors cannot be read: \(error)")
        }
    }

    /// `identical (N modules, final sha256 …)` or the divergence in a few lines.
    static func text(_ r: TraceComparison) -> String {
        guard let d = r.firstDivergence else {
            return "identical (\(r.modulesCompared) modules, final sha256 \(r.finalSHA256 ?? "-"))"
        }
        var lines = ["differs: first divergence at \(d.name)\(d.occurrence > 0 ? " (run \(d.occurrence + 1))" : "") in image \(d.image) (\(d.file))",
                     "  op A: \(d.opA)", "  op B: \(d.opB)"]
        if d.shapeA != d.shapeB { lines.append("  shapes: \(d.shapeA) vs \(d.shapeB)") }
        if let n = d.differingValues, let abs = d.maxAbsDiff, let rel = d.maxRelDiff {
            let total = d.shapeA.reduce(1, *)
            var line = "  \(n) of \(total) values differ, max abs diff \(abs), max rel diff \(rel)"
            if let i = d.index { line += ", first at index \(i) \(coordinates(i, shape: d.shapeA))" }
            lines.append(line)
        } else {
            lines.append("  (record both runs with --trace-tensors to see how large the difference is)")
        }
        lines.append("  \(r.modulesCompared) modules compared")
        return lines.joined(separator: "\n")
    }

    /// Row-major coordinates of a flat index.
    static func coordinates(_ index: Int, shape: [Int]) -> String {
        var i = index, c: [Int] = []
        for d in shape.reversed() where d > 0 {
            c.append(i % d)
            i /= d
        }
        return "[" + c.reversed().map(String.init).joined(separator: ", ") + "]"
    }
}

/// `check diff --json`: nil values are written as `null`.
struct DiffRecord: Encodable {
    var result: TraceComparison
    init(_ r: TraceComparison) { result = r }

    enum Keys: String, CodingKey {
        case identical, modulesCompared = "modules_compared", finalSha256 = "final_sha256", firstDivergence = "first_divergence"
        case onlyInA = "only_in_a", onlyInB = "only_in_b", notes
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(result.identical, forKey: .identical)
        try c.encode(result.modulesCompared, forKey: .modulesCompared)
        try c.encode(result.finalSHA256, forKey: .finalSha256)
        try c.encode(result.onlyInA, forKey: .onlyInA)
        try c.encode(result.onlyInB, forKey: .onlyInB)
        try c.encode(result.notes, forKey: .notes)
        if let d = result.firstDivergence { try c.encode(DivergenceRecord(d), forKey: .firstDivergence) } else { try c.encodeNil(forKey: .firstDivergence) }
    }
}

/// One divergence in JSON (nil values as `null`).
struct DivergenceRecord: Encodable {
    var d: TraceDivergence
    init(_ d: TraceDivergence) { self.d = d }

    enum Keys: String, CodingKey {
        case file, image, name, occurrence, opA = "op_a", opB = "op_b", shapeA = "shape_a", shapeB = "shape_b"
        case differingValues = "differing_values", maxAbsDiff = "max_abs_diff", maxRelDiff = "max_rel_diff", index
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(d.file, forKey: .file)
        try c.encode(d.image, forKey: .image)
        try c.encode(d.name, forKey: .name)
        try c.encode(d.occurrence, forKey: .occurrence)
        try c.encode(d.opA, forKey: .opA)
        try c.encode(d.opB, forKey: .opB)
        try c.encode(d.shapeA, forKey: .shapeA)
        try c.encode(d.shapeB, forKey: .shapeB)
        try c.encode(d.differingValues, forKey: .differingValues)
        try c.encode(d.maxAbsDiff, forKey: .maxAbsDiff)
        try c.encode(d.maxRelDiff, forKey: .maxRelDiff)
        try c.encode(d.index, forKey: .index)
    }
}
