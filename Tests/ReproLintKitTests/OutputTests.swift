import Foundation
import Testing
@testable import ReproLintKit

/// The SARIF 2.1.0 shape, the JSON and text formats, and the `repro-lint` executable's exit codes.
@Suite struct OutputTests {
    static let sample = """
        let x = Int.random(in: 0..<10)
        let t = Date()  // repro-lint: allow run-varying-value — shown to the user, never in a result
        let y = exp(1.0)
        """

    func report() -> LintReport {
        let findings = Linter().lint(source: Self.sample, file: "Sources/My Module/a.swift")
        return LintReport(findings: findings, filesChecked: 1, toolVersion: "1.0.0")
    }

    func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The properties SARIF 2.1.0's schema requires (sarifLog: version, runs; run: tool; tool: driver;
    /// toolComponent: name; result: message; message: text; reportingDescriptor: id; region/location
    /// types as the schema defines them), plus what code-scanning tools read: `$schema`, `ruleId`,
    /// `locations[].physicalLocation.artifactLocation.uri`, `region.startLine`/`startColumn` (integers ≥ 1).
    @Test func sarifHasTheSchemasRequiredStructure() throws {
        let log = try object(report().rendered(.sarif))
        #expect(log["version"] as? String == "2.1.0")
        #expect((log["$schema"] as? String)?.hasSuffix("sarif-schema-2.1.0.json") == true)
        let runs = try #require(log["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        let run = runs[0]
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "repro-lint")
        let rules = try #require(driver["rules"] as? [[String: Any]])
        let ids = rules.compactMap { $0["id"] as? String }
        #expect(ids == LintRule.allCases.map(\.rawValue))
        for rule in rules {
            #expect(((rule["shortDescription"] as? [String: Any])?["text"] as? String)?.isEmpty == false)
        }
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == 2)
        for result in results {
            let ruleId = try #require(result["ruleId"] as? String)
            let index = try #require(result["ruleIndex"] as? Int)
            #expect(ids.indices.contains(index) && ids[index] == ruleId)
            #expect(["none", "note", "warning", "error"].contains(result["level"] as? String ?? ""))
            #expect(((result["message"] as? [String: Any])?["text"] as? String)?.isEmpty == false)
            let locations = try #require(result["locations"] as? [[String: Any]])
            let physical = try #require(locations.first?["physicalLocation"] as? [String: Any])
            let uri = try #require((physical["artifactLocation"] as? [String: Any])?["uri"] as? String)
            #expect(uri == "Sources/My%20Module/a.swift")
            #expect(URL(string: uri) != nil, "uri must be a valid URI reference")
            let region = try #require(physical["region"] as? [String: Any])
            #expect((region["startLine"] as? Int ?? 0) >= 1 && (region["startColumn"] as? Int ?? 0) >= 1)
        }
        #expect(results.map { $0["ruleId"] as? String } == ["unseeded-random", "platform-math"])
        let lines = results.compactMap { (($0["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["region"] as? [String: Any] }
        #expect(lines.map { $0["startLine"] as? Int } == [1, 3])
        #expect(lines.map { $0["startColumn"] as? Int } == [13, 9])
    }

    /// SARIF 2.1.0's schema sets `additionalProperties: false` on every object type: each object
    /// written may use only the properties its type defines. The lists are those of the OASIS schema
    /// (sarif-schema-2.1.0.json) for the types `repro-lint` writes, with their required properties.
    static let schemaProperties: [String: (allowed: Set<String>, required: Set<String>)] = [
        "sarifLog": (["$schema", "version", "runs", "inlineExternalProperties", "properties"], ["version", "runs"]),
        "run": (["tool", "invocations", "conversion", "language", "versionControlProvenance", "originalUriBaseIds",
                 "artifacts", "logicalLocations", "graphs", "results", "automationDetails", "runAggregates",
                 "baselineGuid", "redactionTokens", "defaultEncoding", "defaultSourceLanguage", "newlineSequences",
                 "columnKind", "externalPropertyFileReferences", "threadFlowLocations", "taxonomies", "addresses",
                 "translations", "policies", "webRequests", "webResponses", "specialLocations", "properties"], ["tool"]),
        "tool": (["driver", "extensions", "properties"], ["driver"]),
        "toolComponent": (["guid", "name", "organization", "product", "productSuite", "shortDescription",
                           "fullDescription", "fullName", "version", "semanticVersion", "dottedQuadFileVersion",
                           "releaseDateUtc", "downloadUri", "informationUri", "globalMessageStrings", "notifications",
                           "rules", "taxa", "locations", "language", "contents", "isComprehensive",
                           "localizedDataSemanticVersion", "minimumRequiredLocalizedDataSemanticVersion",
                           "associatedComponent", "translationMetadata", "supportedTaxonomies", "properties"], ["name"]),
        "reportingDescriptor": (["id", "deprecatedIds", "guid", "deprecatedGuids", "name", "deprecatedNames",
                                 "shortDescription", "fullDescription", "messageStrings", "defaultConfiguration",
                                 "helpUri", "help", "relationships", "properties"], ["id"]),
        "multiformatMessageString": (["text", "markdown", "properties"], ["text"]),
        "result": (["ruleId", "ruleIndex", "rule", "kind", "level", "message", "analysisTarget", "locations", "guid",
                    "correlationGuid", "occurrenceCount", "partialFingerprints", "fingerprints", "stacks", "codeFlows",
                    "graphs", "graphTraversals", "relatedLocations", "suppressions", "baselineState", "rank",
                    "attachments", "hostedViewerUri", "workItemUris", "provenance", "fixes", "taxa", "webRequest",
                    "webResponse", "properties"], ["message"]),
        "message": (["text", "markdown", "id", "arguments", "properties"], []),
        "location": (["id", "physicalLocation", "logicalLocations", "message", "annotations", "relationships",
                      "properties"], []),
        "physicalLocation": (["address", "artifactLocation", "region", "contextRegion", "properties"], []),
        "artifactLocation": (["uri", "uriBaseId", "index", "description", "properties"], []),
        "region": (["startLine", "startColumn", "endLine", "endColumn", "charOffset", "charLength", "byteOffset",
                    "byteLength", "snippet", "message", "sourceLanguage", "properties"], []),
    ]

    @Test func sarifUsesOnlyTheSchemasProperties() throws {
        let log = try object(report().rendered(.sarif))
        var checked: [String] = []
        func check(_ value: Any?, _ type: String) throws {
            let object = try #require(value as? [String: Any], "\(type) is not an object")
            let schema = try #require(Self.schemaProperties[type])
            let keys = Set(object.keys)
            #expect(keys.isSubset(of: schema.allowed), "\(type): properties the schema does not define: \(keys.subtracting(schema.allowed).sorted())")
            #expect(schema.required.isSubset(of: keys), "\(type): missing \(schema.required.subtracting(keys).sorted())")
            checked.append(type)
        }
        try check(log, "sarifLog")
        for run in try #require(log["runs"] as? [[String: Any]]) {
            try check(run, "run")
            #expect(["utf16CodeUnits", "unicodeCodePoints"].contains(run["columnKind"] as? String ?? ""))
            let tool = try #require(run["tool"] as? [String: Any])
            try check(tool, "tool")
            try check(tool["driver"], "toolComponent")
            for rule in try #require((tool["driver"] as? [String: Any])?["rules"] as? [[String: Any]]) {
                try check(rule, "reportingDescriptor")
                try check(rule["shortDescription"], "multiformatMessageString")
            }
            for result in try #require(run["results"] as? [[String: Any]]) {
                try check(result, "result")
                try check(result["message"], "message")
                for location in try #require(result["locations"] as? [[String: Any]]) {
                    try check(location, "location")
                    let physical = try #require(location["physicalLocation"] as? [String: Any])
                    try check(physical, "physicalLocation")
                    try check(physical["artifactLocation"], "artifactLocation")
                    try check(physical["region"], "region")
                }
            }
        }
        #expect(Set(checked) == Set(Self.schemaProperties.keys), "every listed type was seen")
    }

    @Test func sarifColumnsAreUTF16() {
        // "é" is 2 UTF-8 bytes but 1 UTF-16 unit; "😀" is 4 bytes, 2 units.
        let findings = Linter().lint(source: "let é😀 = Date()", file: "a.swift")
        #expect(findings.map(\.column) == [14])
        #expect(findings.map(\.utf16Column) == [11])
    }

    @Test func jsonAndText() throws {
        let json = try object(report().rendered(.json))
        #expect(json["files"] as? Int == 1)
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(findings.map { $0["rule"] as? String } == ["unseeded-random", "platform-math"])
        #expect(findings.first?["line"] as? Int == 1 && findings.first?["column"] as? Int == 13)
        let text = report().rendered(.text)
        #expect(text.hasPrefix("Sources/My Module/a.swift:1:13: warning: [unseeded-random] "))
        #expect(text.hasSuffix("repro-lint: 2 findings in 1 of 1 files\n"))
        #expect(LintReport(findings: [], filesChecked: 3).rendered(.text) == "repro-lint: no findings in 3 files\n")
    }
}

/// The executable: exit 0 clean, 1 with findings, 2 for a path it cannot read.
@Suite struct ExecutableTests {
    struct Run { var status: Int32; var stdout: String; var stderr: String }

    func lint(_ arguments: [String]) throws -> Run {
        let p = Process()
        #if os(macOS)
        let dir = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }!.bundleURL.deletingLastPathComponent()
        #else
        let dir = Bundle.main.bundleURL
        #endif
        p.executableURL = dir.appendingPathComponent("repro-lint")
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func folder(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repro-lint-\(ProcessInfo.processInfo.globallyUniqueString)")
        for name in files.keys.sorted() {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(files[name]!.utf8).write(to: url)
        }
        return dir
    }

    @Test func exitCodes() throws {
        let dir = try folder([
            "clean/a.swift": "let x = Int.random(in: 0..<10, using: &g)\n",
            "dirty/b.swift": "let x = Int.random(in: 0..<10)\n",
            "dirty/sub/c.swift": "for k in Set(a) { print(k) }\n",
            "dirty/.hidden/d.swift": "let t = Date()\n",
            "dirty/notes.txt": "let t = Date()\n",
            "bad/e.swift": "",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let clean = try lint([dir.appendingPathComponent("clean").path])
        #expect(clean.status == 0 && clean.stdout.contains("no findings in 1 file"), "\(clean)")
        let dirty = try lint([dir.appendingPathComponent("dirty").path, "--format", "json"])
        #expect(dirty.status == 1, "\(dirty)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dirty.stdout.utf8)) as? [String: Any])
        #expect(json["files"] as? Int == 2, "hidden folders and non-Swift files are skipped")
        let files = (json["findings"] as? [[String: Any]])?.compactMap { ($0["file"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent } }
        #expect(files == ["b.swift", "c.swift"])
        let missing = try lint([dir.appendingPathComponent("no-such-folder").path])
        #expect(missing.status == 2 && missing.stderr.contains("no-such-folder: no such file or folder"), "\(missing)")
        try Data([0x6C, 0xC3, 0x28]).write(to: dir.appendingPathComponent("bad/e.swift"))
        let binary = try lint([dir.appendingPathComponent("bad/e.swift").path, dir.appendingPathComponent("dirty").path])
        #expect(binary.status == 2 && binary.stderr.contains("not UTF-8"), "\(binary)")
        let sarif = try lint(["--format", "sarif", dir.appendingPathComponent("dirty").path])
        #expect(sarif.status == 1 && sarif.stdout.contains("\"version\" : \"2.1.0\""))
        let usage = try lint(["--format", "xml", dir.path])
        #expect(usage.status == 64, "\(usage)")
    }
}
