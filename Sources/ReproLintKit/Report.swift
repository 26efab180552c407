import Foundation

/// The output formats of `repro-lint`.
public enum LintFormat: String, CaseIterable, Sendable {
    /// `file:line:column: warning: [rule] message`, one finding a line, then a summary line.
    case text
    /// `{"files": N, "findings": [{"file", "line", "column", "rule", "message"}…]}`.
    case json
    /// SARIF 2.1.0 (one run, tool `repro-lint`, every rule in `tool.driver.rules`).
    case sarif
}

/// The result of linting a set of files, and its rendering in each format.
public struct LintReport: Sendable {
    /// Every finding, ordered by file, line, column and rule.
    public var findings: [LintFinding]
    /// The number of Swift files read.
    public var filesChecked: Int
    /// The tool version written into SARIF.
    public var toolVersion: String

    /// A report from its parts (findings are sorted).
    public init(findings: [LintFinding], filesChecked: Int, toolVersion: String = "1.0.0") {
        self.findings = findings.sorted {
            ($0.file, $0.line, $0.column, $0.rule.rawValue) < ($1.file, $1.line, $1.column, $1.rule.rawValue)
        }
        self.filesChecked = filesChecked
        self.toolVersion = toolVersion
    }

    /// The report in `format`, ending with a newline.
    public func rendered(_ format: LintFormat) -> String {
        switch format {
        case .text: return text()
        case .json: return Self.encode(JSONReport(files: filesChecked, findings: findings))
        case .sarif: return Self.encode(sarif())
        }
    }

    private func text() -> String {
        var lines = findings.map { "\($0.file):\($0.line):\($0.column): warning: [\($0.rule.rawValue)] \($0.message)" }
        let files = Set(findings.map(\.file)).count
        lines.append(findings.isEmpty
            ? "repro-lint: no findings in \(filesChecked) file\(filesChecked == 1 ? "" : "s")"
            : "repro-lint: \(findings.count) finding\(findings.count == 1 ? "" : "s") in \(files) of \(filesChecked) files")
        return lines.joined(separator: "\n") + "\n"
    }

    private struct JSONReport: Encodable {
        var files: Int
        var findings: [LintFinding]
    }

    /// The SARIF 2.1.0 log: `version`, `$schema`, and one run with `tool.driver` (`name`, `version`,
    /// `rules` with `id` and `shortDescription`) and `results` (`ruleId`, `ruleIndex`, `level`,
    /// `message.text`, `locations[].physicalLocation` with `artifactLocation.uri` and a `region` of
    /// `startLine`/`startColumn` in UTF-16 code units, SARIF's default `columnKind`).
    public func sarif() -> SARIFLog {
        let rules = LintRule.allCases
        let results = findings.map { f in
            SARIFLog.Result(
                ruleId: f.rule.rawValue, ruleIndex: rules.firstIndex(of: f.rule) ?? 0, level: "warning",
                message: .init(text: f.message),
                locations: [.init(physicalLocation: .init(
                    artifactLocation: .init(uri: Self.uri(f.file)),
                    region: .init(startLine: f.line, startColumn: f.utf16Column)))])
        }
        let driver = SARIFLog.Driver(
            name: "repro-lint", version: toolVersion,
            rules: rules.map { .init(id: $0.rawValue, shortDescription: .init(text: $0.summary)) })
        return SARIFLog(runs: [.init(tool: .init(driver: driver), columnKind: "utf16CodeUnits", results: results)])
    }

    /// A relative URI reference for a path: `/` kept, every byte outside RFC 3986's unreserved set percent-encoded.
    static func uri(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~/".contains(c)) {
                out.append(c)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        // The types above are plain strings and integers: encoding cannot fail.
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// The parts of a SARIF 2.1.0 log that `repro-lint` writes.
public struct SARIFLog: Encodable, Sendable {
    /// The JSON schema of SARIF 2.1.0 (OASIS).
    public static let schema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

    /// `version`: always "2.1.0".
    public var version = "2.1.0"
    /// `runs`: one run.
    public var runs: [Run]

    enum CodingKeys: String, CodingKey {
        case version, runs
        case schema = "$schema"
    }

    /// Writes `$schema`, `version` and `runs`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(version, forKey: .version)
        try c.encode(runs, forKey: .runs)
    }

    /// One analysis run.
    public struct Run: Encodable, Sendable {
        /// The tool that ran.
        public var tool: Tool
        /// The unit of `startColumn`.
        public var columnKind: String
        /// The findings.
        public var results: [Result]
    }

    /// `tool`.
    public struct Tool: Encodable, Sendable {
        /// `driver`.
        public var driver: Driver
    }

    /// `tool.driver`: name, version and rules.
    public struct Driver: Encodable, Sendable {
        /// "repro-lint".
        public var name: String
        /// The tool's version.
        public var version: String
        /// Every rule, in ``LintRule`` order (`ruleIndex` points into it).
        public var rules: [Rule]
    }

    /// A `reportingDescriptor`.
    public struct Rule: Encodable, Sendable {
        /// The rule id.
        public var id: String
        /// One line on the rule.
        public var shortDescription: Message
    }

    /// A `message` (text only).
    public struct Message: Encodable, Sendable {
        /// The text.
        public var text: String
    }

    /// One finding.
    public struct Result: Encodable, Sendable {
        /// The rule id.
        public var ruleId: String
        /// The rule's index in `tool.driver.rules`.
        public var ruleIndex: Int
        /// "warning".
        public var level: String
        /// What was found.
        public var message: Message
        /// Where.
        public var locations: [Location]
    }

    /// A `location`.
    public struct Location: Encodable, Sendable {
        /// The file and region.
        public var physicalLocation: PhysicalLocation
    }

    /// A `physicalLocation`.
    public struct PhysicalLocation: Encodable, Sendable {
        /// The file.
        public var artifactLocation: ArtifactLocation
        /// The line and column.
        public var region: Region
    }

    /// An `artifactLocation`.
    public struct ArtifactLocation: Encodable, Sendable {
        /// A relative URI reference (the path as given, percent-encoded).
        public var uri: String
    }

    /// A `region`.
    public struct Region: Encodable, Sendable {
        /// 1-based line.
        public var startLine: Int
        /// 1-based column in UTF-16 code units.
        public var startColumn: Int
    }
}

/// Reading the files to lint: paths given on the command line, folders searched for `.swift` files.
public enum LintInput {
    /// A path that could not be read, and why.
    public struct Unreadable: Error, Sendable, Equatable, CustomStringConvertible {
        /// The path.
        public var path: String
        /// The reason.
        public var reason: String
        /// `path: reason`.
        public var description: String { "\(path): \(reason)" }
    }

    /// The Swift files under `paths`: a file is taken as given; a folder is searched recursively for
    /// `*.swift` files (skipping hidden folders and `.build*`), in sorted order so the output order never
    /// depends on the file system.
    public static func swiftFiles(_ paths: [String]) -> (files: [String], unreadable: [Unreadable]) {
        var files: [String] = [], unreadable: [Unreadable] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                unreadable.append(.init(path: path, reason: "no such file or folder"))
                continue
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            guard let children = fm.enumerator(atPath: path) else {
                unreadable.append(.init(path: path, reason: "cannot list the folder"))
                continue
            }
            var found: [String] = []
            while let relative = children.nextObject() as? String {
                let last = (relative as NSString).lastPathComponent
                if last.hasPrefix(".") {
                    children.skipDescendants()
                    continue
                }
                if relative.hasSuffix(".swift") {
                    found.append(path.hasSuffix("/") ? path + relative : path + "/" + relative)
                }
            }
            files += found.sorted()
        }
        return (files, unreadable)
    }

    /// The text of a file, or why it cannot be linted (unreadable, not UTF-8).
    public static func read(_ path: String) -> Result<String, Unreadable> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(.init(path: path, reason: "cannot read the file"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(.init(path: path, reason: "not UTF-8 text"))
        }
        return .success(text)
    }

    /// Lints every file under `paths`.
    public static func lint(_ paths: [String], linter: Linter = Linter()) -> (report: LintReport, unreadable: [Unreadable]) {
        let listed = swiftFiles(paths)
        var unreadable = listed.unreadable
        var findings: [LintFinding] = []
        var checked = 0
        for file in listed.files {
            switch read(file) {
            case .success(let text):
                checked += 1
                findings += linter.lint(source: text, file: file)
            case .failure(let problem):
                unreadable.append(problem)
            }
        }
        return (LintReport(findings: findings, filesChecked: checked), unreadable)
    }
}
