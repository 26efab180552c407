#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import _ReproDigest

/// File access through POSIX calls, so that every failure is reported with the path and the
/// system's reason (never a Foundation error code).
enum FileIO {
    /// The whole content of `path`, or of standard input when `path` is `-`.
    static func read(_ path: String) throws(CLIError) -> [UInt8] {
        var bytes: [UInt8] = []
        try forEachChunk(of: path) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Reads `path` (a regular file or `-`) in 1 MiB pieces, handing each to `body`: the whole
    /// content is never held at once.
    static func forEachChunk(of path: String, _ body: (UnsafeRawBufferPointer) -> Void) throws(CLIError) {
        let fd: Int32 = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix(path, "cannot open") }
        defer { if fd != 0 { close(fd) } }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { throw CLIError("\(path): is a directory, not a file") }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .posix(path == "-" ? "standard input" : path, "cannot read")
            }
            if n == 0 { break }
            chunk.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}

/// `read(2)` under a name that does not clash with the method names above.
@inline(__always)
private func Glibc_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.read(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(fd, buffer, count)
    #else
    return Glibc.read(fd, buffer, count)
    #endif
}

/// Where a command's output goes: standard output, or a file opened (created or truncated)
/// when the command starts. Every `write` reaches the operating system at once (no buffering),
/// so a record written before the process is killed is on disk. Every byte written also goes
/// into a running SHA-256 (``sha256``), the whole-output digest of a run manifest.
final class OutputSink: @unchecked Sendable {
    /// The file descriptor written to (-1: nothing is written, only hashed).
    let fd: Int32
    /// The path shown in messages (`standard output` for stdout).
    let name: String
    private var hasher = SHA256()

    /// Standard output.
    static let standardOutput = OutputSink(fd: 1, name: "standard output")

    private init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    /// A sink that writes nothing and only hashes (`repro verify`'s re-run).
    static func discarding() -> OutputSink { OutputSink(fd: -1, name: "nothing") }

    /// SHA-256 (hex) of every byte written so far.
    var sha256: String {
        let copy = hasher
        return copy.finalize().hex
    }

    /// Creates or truncates `path` for writing.
    static func create(_ path: String) throws(CLIError) -> OutputSink {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .posix(path, "cannot create the output file") }
        return OutputSink(fd: fd, name: path)
    }

    /// `--output PATH` or standard output.
    static func named(_ path: String?) throws(CLIError) -> OutputSink {
        try path.map(create) ?? .standardOutput
    }

    /// Writes all of `text` (one `write` call unless the system splits it).
    func write(_ text: String) throws(CLIError) {
        try writeBytes(Array(text.utf8))
    }

    /// Writes all of `bytes` (one `write` call unless the system splits it).
    func writeBytes(_ data: [UInt8]) throws(CLIError) {
        data.withUnsafeBytes { hasher.update($0) }
        guard fd >= 0 else { return }
        var bytes = data
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buf in
                #if canImport(Darwin)
                Darwin.write(fd, buf.baseAddress! + offset, buf.count - offset)
                #elseif canImport(Musl)
                Musl.write(fd, buf.baseAddress! + offset, buf.count - offset)
                #else
                Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
                #endif
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .posix(name, "cannot write")
            }
            offset += n
        }
    }

    /// Writes `text` and a newline.
    func writeLine(_ text: String) throws(CLIError) { try write(text + "\n") }

    /// Closes a file (standard output stays open); reports a failed close, which can mean lost data.
    func close() throws(CLIError) {
        guard fd > 2 else { return }
        #if canImport(Darwin)
        let r = Darwin.close(fd)
        #elseif canImport(Musl)
        let r = Musl.close(fd)
        #else
        let r = Glibc.close(fd)
        #endif
        if r != 0 { throw .posix(name, "cannot finish writing") }
    }
}

/// Writes a message line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
