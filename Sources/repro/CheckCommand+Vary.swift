import ArgumentParser
import Foundation
import Repro

/// One `--vary KEY=V1,V2,…` axis.
struct VaryAxis: ExpressibleByArgument {
    var key: String
    var values: [String]

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty else { return nil }
        key = String(parts[0])
        values = parts[1].split(separator: ",").map(String.init)
        guard !values.isEmpty else { return nil }
    }

    /// Every combination of the axes' values (the first axis varies slowest), each `runs` times.
    static func configurations(_ axes: [VaryAxis], runs: Int) -> [[(key: String, value: String)]] {
        var combos: [[(key: String, value: String)]] = [[]]
        for axis in axes {
            combos = combos.flatMap { c in axis.values.map { c + [(axis.key, $0)] } }
        }
        return combos.flatMap { c in (0..<runs).map { r in runs > 1 ? c + [("run", String(r + 1))] : c } }
    }
}

/// What `check detect` / `check batches` share: the variation options, a scratch folder, running
/// the job in this process or in a fresh one, and the result table.
struct VariationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A setting to vary, with its values (repeatable).", valueName: "key=v1,v2,…"))
    var vary: [VaryAxis] = []

    @Option(name: .long, help: "Runs of each configuration.")
    var runs: Int = 1

    @Flag(name: .long, help: "Run each configuration in a fresh process (this executable) instead of in this process.")
    var processes = false

    @OptionGroup var output: OutputOptions

    func validate(keys allowed: [String], hasReference: Bool = false) throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        for axis in vary where !allowed.contains(axis.key) {
            throw ValidationError("--vary \(axis.key)=…: the keys are \(allowed.joined(separator: ", "))")
        }
        guard !vary.isEmpty || runs > 1 || hasReference else {
            throw ValidationError("nothing to compare: give --vary KEY=V1,V2, --runs 2 or a stored --reference")
        }
    }

    /// Runs `subcommand arguments` in this process or in a fresh one; failures become a `CLIError`.
    func runJob<C: ParsableCommand>(_ type: C.Type, _ arguments: [String]) throws {
        if processes {
            guard let exe = SelfReexec.executablePath() else { throw CLIError("cannot find this executable's path for --processes") }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = [C._commandName] + arguments
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw CLIError("'repro \(C._commandName) \(arguments.joined(separator: " "))' exited with status \(p.terminationStatus)")
            }
        } else {
            var command = try C.parse(arguments)
            do { try command.run() } catch let e as ExitCode where e.rawValue != 0 {
                throw CLIError("'repro \(C._commandName) \(arguments.joined(separator: " "))' failed (status \(e.rawValue))")
            }
        }
    }

    /// A fresh scratch folder, removed by the caller.
    static func scratchFolder() throws -> URL {
        let pid = ProcessInfo.processInfo.processIdentifier  // repro-lint: allow run-varying-value — a unique scratch folder name; nothing in it reaches a result
        // repro-lint: allow unseeded-random — a unique scratch folder name; nothing in it reaches a result
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("repro-check-\(pid)-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// One row of a `check detect` / `check batches` table.
struct VariationRow: Encodable {
    var settings: [String: String]
    var identical: Bool
    var summary: String
    var modulesCompared: Int?
    var firstDivergence: DivergenceRecord?
    var firstDifferingBatch: Int?

    enum Keys: String, CodingKey {
        case settings, identical, summary, modulesCompared = "modules_compared", firstDivergence = "first_divergence"
        case firstDifferingBatch = "first_differing_batch"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(settings, forKey: .settings)
        try c.encode(identical, forKey: .identical)
        try c.encode(summary, forKey: .summary)
        try c.encodeIfPresent(modulesCompared, forKey: .modulesCompared)
        try c.encodeIfPresent(firstDivergence, forKey: .firstDivergence)
        try c.encodeIfPresent(firstDifferingBatch, forKey: .firstDifferingBatch)
    }

    static func label(_ config: [(key: String, value: String)]) -> String {
        config.isEmpty ? "(as given)" : config.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// Prints the table (or one JSON object) and exits 1 when a row differs.
    static func emit(_ rows: [(String, VariationRow)], options: VariationOptions) throws {
        let sink = try OutputSink.named(options.output.output)
        let same = rows.allSatisfy(\.1.identical)
        if options.output.json {
            struct Table: Encodable { var identical: Bool; var configurations: [VariationRow] }
            try sink.writeLine(JSONOutput.line(Table(identical: same, configurations: rows.map(\.1))))
        } else {
            let width = max(13, rows.map(\.0.count).max() ?? 0)
            try sink.writeLine("configuration".padding(toLength: width, withPad: " ", startingAt: 0) + "  result")
            for (label, row) in rows {
                try sink.writeLine(label.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + row.summary)
            }
            try sink.writeLine(same ? "all \(rows.count) configurations identical" : "configurations differ")
        }
        try sink.close()
        if !same { throw ExitCode(1) }
    }
}

/// `repro check detect [IMAGE…] [detect options] --vary threads=1,2,4 --vary batch=1,3`.
struct CheckDetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Run 'repro detect' under every combination of --vary settings and compare the activation traces.",
        discussion: """
            Every argument that is not an option of 'check detect' is passed to 'repro detect' (images, --weights, \
            --arch, --seed, …; without images the built-in sample scene is used). --vary keys: threads (--threads), \
            batch (--batch-size). The first configuration is the reference; each row says 'identical' or names the first \
            module whose output differs from the reference's.
            """
    )

    @OptionGroup var variation: VariationOptions

    @Argument(parsing: .allUnrecognized, help: "Images and options passed to 'repro detect'.")
    var detectArguments: [String] = []

    func validate() throws {
        try variation.validate(keys: ["threads", "batch"])
        for reserved in ["--trace", "--trace-tensors", "--output", "--json", "--coco", "--draw", "--threads", "--batch-size", "--profile"]
        where detectArguments.contains(reserved) {
            throw ValidationError("\(reserved) is set by 'check detect' itself")
        }
    }

    func run() throws {
        let scratch = try VariationOptions.scratchFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        var rows: [(String, VariationRow)] = []
        var reference: (doc: TraceDocument, label: String)?
        for (n, config) in VaryAxis.configurations(variation.vary, runs: variation.runs).enumerated() {
            let trace = scratch.appendingPathComponent("run\(n).trace.json").path
            var args = detectArguments + ["--trace", trace, "--output", scratch.appendingPathComponent("run\(n).out").path, "--no-progress"]
            for (key, value) in config {
                switch key {
                case "threads": args += ["--threads", value]
                case "batch": args += ["--batch-size", value]
                default: break
                }
            }
            try variation.runJob(DetectCommand.self, args)
            let doc: TraceDocument
            do { doc = try TraceDocument(contentsOf: trace) } catch { throw unreadableInput(error.description) }
            let label = VariationRow.label(config)
            var row = VariationRow(settings: Dictionary(config.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }),
                                   identical: true, summary: "")
            if let reference {
                let r: TraceComparison
                do { r = try TraceComparison.compare(reference.doc, doc) } catch { throw unreadableInput(error.description) }
                row.identical = r.identical
                row.modulesCompared = r.modulesCompared
                if let d = r.firstDivergence {
                    row.firstDivergence = DivergenceRecord(d)
                    row.summary = "differs from \(reference.label) at \(d.name) in \(d.file) (\(d.opA) vs \(d.opB))"
                } else {
                    row.summary = "identical (\(r.modulesCompared) modules, final sha256 \(r.finalSHA256 ?? "-"))"
                }
            } else {
                reference = (doc, label)
                let count = doc.images.reduce(0) { $0 + $1.modules.count }
                row.modulesCompared = count
                row.summary = "reference (\(count) modules, final sha256 \(doc.images.last?.modules.last?.sha256 ?? "-"))"
            }
            rows.append((label, row))
        }
        try VariationRow.emit(rows, options: variation)
    }
}

/// `repro check batches DIR [batches options] --vary workers=0,1,4 --vary resume=0,3`.
struct CheckBatchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batches",
        abstract: "Run 'repro batches' under every combination of --vary settings and compare the per-batch digests.",
        discussion: """
            Every argument that is not an option of 'check batches' is passed to 'repro batches' (the folder, \
            --batch-size, --seed, --augment, …). --vary keys: workers (--workers), resume (--resume-at; 0 = no resume), \
            threads (--threads). Each row says 'identical' or names the first batch whose indices or digest differ.

            --write-reference FILE stores the first configuration's batches (epoch, position, indices, SHA-256); \
            --reference FILE compares every configuration with a stored run instead of with the first one: a file \
            written by --write-reference, or a manifest of 'repro batches --manifest' (digests only: its batches are \
            compared by epoch, position and SHA-256). An unreadable, corrupt or newer reference exits with status 2.
            """
    )

    @OptionGroup var variation: VariationOptions

    @Option(name: .long, help: ArgumentHelp(
        "Compare with a stored run: a file from --write-reference, or a 'repro batches --manifest' manifest.", valueName: "file"))
    var reference: String?

    @Option(name: .long, help: ArgumentHelp("Store the first configuration's batches in this file, for a later --reference.",
                                            valueName: "file"))
    var writeReference: String?

    @Argument(parsing: .allUnrecognized, help: "The folder and options passed to 'repro batches'.")
    var batchesArguments: [String] = []

    func validate() throws {
        try variation.validate(keys: ["workers", "resume", "threads"], hasReference: reference != nil)
        if let writeReference, writeReference == reference || writeReference == variation.output.output {
            throw ValidationError("--write-reference \(writeReference) would overwrite another file of this command")
        }
        for reserved in ["--output", "--json", "--workers", "--resume-at", "--threads", "--no-hash"] where batchesArguments.contains(reserved) {
            throw ValidationError("\(reserved) is set by 'check batches' itself")
        }
    }

    /// One batch as `repro batches --json` prints it (`indices` is nil for a batch read from a manifest).
    struct Batch: Codable, Equatable {
        var epoch: Int
        var position: Int
        var indices: [Int]?
        var sha256: String

        /// Equal batches: the same place and digest, and the same indices when both sides know them.
        func matches(_ other: Batch) -> Bool {
            epoch == other.epoch && position == other.position && sha256 == other.sha256
                && (indices == nil || other.indices == nil || indices == other.indices)
        }
    }

    func run() throws {
        var guardian = OutputGuard()
        if let path = variation.output.output { try guardian.claimFile(path) }
        if let writeReference { try guardian.claimFile(writeReference) }
        let stored = try reference.map { path in (batches: try BatchesReference.read(path), label: "the reference \(path)") }
        let scratch = try VariationOptions.scratchFolder()
        defer { try? FileManager.default.removeItem(at: scratch) }
        var rows: [(String, VariationRow)] = []
        var reference: (batches: [Batch], label: String)? = stored
        for (n, config) in VaryAxis.configurations(variation.vary, runs: variation.runs).enumerated() {
            let out = scratch.appendingPathComponent("run\(n).jsonl").path
            var args = batchesArguments + ["--json", "--output", out, "--no-progress"]
            for (key, value) in config {
                switch key {
                case "workers": args += ["--workers", value]
                case "resume": if value != "0" { args += ["--resume-at", value] }
                case "threads": args += ["--threads", value]
                default: break
                }
            }
            try variation.runJob(BatchesCommand.self, args)
            let batches: [Batch]
            do {
                batches = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map {
                    try JSONDecoder().decode(Batch.self, from: Data($0.utf8))
                }
            } catch { throw unreadableInput("\(out): \(error)") }
            let label = VariationRow.label(config)
            var row = VariationRow(settings: Dictionary(config.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }),
                                   identical: true, summary: "")
            if n == 0, let writeReference {
                do { try BatchesReference(batches: batches).write(to: writeReference) } catch { throw CLIError(error.description) }
            }
            if let reference {
                let mismatch = zip(reference.batches, batches).enumerated().first(where: { !$0.element.0.matches($0.element.1) })?.offset
                if let k = mismatch ?? (reference.batches.count == batches.count ? nil : min(reference.batches.count, batches.count)) {
                    row.identical = false
                    row.firstDifferingBatch = k
                    let b = k < batches.count ? "epoch \(batches[k].epoch) batch \(batches[k].position)" : "batch \(k) (missing)"
                    row.summary = "differs from \(reference.label) at \(b) (\(batches.count) vs \(reference.batches.count) batches)"
                } else {
                    row.summary = "identical (\(batches.count) batches, last sha256 \(batches.last?.sha256 ?? "-"))"
                }
            } else {
                reference = (batches, label)
                row.summary = "reference (\(batches.count) batches, last sha256 \(batches.last?.sha256 ?? "-"))"
            }
            rows.append((label, row))
        }
        try VariationRow.emit(rows, options: variation)
    }
}

/// The stored batches of `repro check batches --write-reference` (`{"format": "repro-batches-reference",
/// "version": 1, "batches": [{"epoch", "position", "indices", "sha256"}…]}`), and the reader of
/// `--reference`, which also takes a `repro batches --manifest` manifest.
struct BatchesReference: Codable {
    static let formatName = "repro-batches-reference"
    static let currentVersion = 1

    var format = Self.formatName
    var version = Self.currentVersion
    var batches: [CheckBatchesCommand.Batch]

    init(batches: [CheckBatchesCommand.Batch]) { self.batches = batches }

    /// Writes the JSON atomically.
    func write(to path: String) throws(CLIError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { try (try encoder.encode(self) + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw CLIError("\(path): cannot write the reference: \(error.localizedDescription)")
        }
    }

    /// The batches stored in `path`: a reference file, or the outputs of a `repro batches` manifest
    /// (named `epoch E batch P`). Anything else, a newer version, or an unreadable file → exit status 2.
    static func read(_ path: String) throws -> [CheckBatchesCommand.Batch] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw unreadableInput("\(path): cannot read the reference: \(error.localizedDescription)")
        }
        struct Header: Decodable { var format: String?; var version: Int?; var schemaVersion: Int?
            enum CodingKeys: String, CodingKey { case format, version, schemaVersion = "schema_version" } }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw unreadableInput("\(path): not a batches reference or manifest (empty, truncated or not a JSON object)")
        }
        if header.format == formatName {
            guard let version = header.version else { throw unreadableInput("\(path): the reference has no \"version\"") }
            guard version <= currentVersion else {
                throw unreadableInput("\(path): reference version \(version) is newer than this Repro reads (\(currentVersion))")
            }
            do { return try JSONDecoder().decode(Self.self, from: data).batches } catch {
                throw unreadableInput("\(path): not a valid batches reference: \(error)")
            }
        }
        guard header.schemaVersion != nil else {
            throw unreadableInput("\(path): neither a batches reference (\"format\": \"\(formatName)\") nor a run manifest")
        }
        let manifest: RunManifest
        do { manifest = try RunManifest(contentsOf: path) } catch { throw unreadableInput(error.description) }
        guard manifest.command.subcommand == "batches" else {
            throw unreadableInput("\(path): a manifest of 'repro \(manifest.command.subcommand)', not of 'repro batches'")
        }
        return try manifest.outputs.map { output in
            let parts = output.name.split(separator: " ")
            guard parts.count == 4, parts[0] == "epoch", parts[2] == "batch", let e = Int(parts[1]), let p = Int(parts[3]) else {
                throw unreadableInput("\(path): manifest output \"\(output.name)\" is not a batch (epoch E batch P)")
            }
            return CheckBatchesCommand.Batch(epoch: e, position: p, indices: nil, sha256: output.sha256)
        }
    }
}
