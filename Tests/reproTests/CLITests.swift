import Foundation
import Testing

/// End-to-end tests of the built `repro` executable.
@Suite struct CLISmokeTests {
    @Test func helpRuns() throws {
        let r = try runRepro(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("repro"))
    }
}

/// Output of one run of the `repro` executable.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the `repro` executable built next to the test bundle (with `stdin` as its standard input).
func runRepro(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) throws -> ProcessResult {
    let p = Process()
    p.executableURL = productsDirectory.appendingPathComponent("repro")
    p.arguments = arguments
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try p.run()
    if let stdin {
        try input.fileHandleForWriting.write(contentsOf: stdin)
        try input.fileHandleForWriting.close()
    }
    // Read stderr on another thread so that neither pipe can fill up and block the child.
    nonisolated(unsafe) var e = Data()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        e = err.fileHandleForReading.readDataToEndOfFile()
        done.signal()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    return ProcessResult(status: p.terminationStatus,
                         stdout: String(decoding: o, as: UTF8.self),
                         stderr: String(decoding: e, as: UTF8.self))
}

/// Starts `repro` without waiting (output to /dev/null); the caller signals or waits.
func startRepro(_ arguments: [String]) throws -> Process {
    let p = Process()
    p.executableURL = productsDirectory.appendingPathComponent("repro")
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    return p
}

/// Waits until `condition` holds, checking every 50 ms, for at most `seconds`.
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// A fresh temporary folder.
func makeTemporaryFolder(_ label: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repro-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Every key of every object in `value` (recursively).
func allKeys(_ value: Any) -> [String] {
    if let object = value as? [String: Any] { return object.keys + object.values.flatMap(allKeys) }
    if let array = value as? [Any] { return array.flatMap(allKeys) }
    return []
}

/// Whether `key` is snake_case: lower-case ASCII letters and digits separated by single underscores.
func isSnakeCase(_ key: String) -> Bool {
    !key.isEmpty && key.first!.isLowercase && !key.contains("__") && !key.hasSuffix("_")
        && key.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
}

/// Parses JSON lines: one object per non-empty line.
func parseJSONLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not an object: \(line)")
    }
}

/// The build products folder (where `repro` lives).
var productsDirectory: URL {
    #if os(macOS)
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        return bundle.bundleURL.deletingLastPathComponent()
    }
    fatalError("couldn't find the products directory")
    #else
    return Bundle.main.bundleURL
    #endif
}
