#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Guards a command's outputs before any work starts: no output may be an input (compared
/// by resolved path and by file identity, so symbolic and hard links are caught), no two
/// outputs may be the same file, and every output's directory must exist and be writable.
struct OutputGuard {
    private struct Entry {
        var display: String
        var resolved: String
        var identity: FileIdentity?
    }

    private var inputs: [Entry] = []
    private var outputs: [Entry] = []

    /// Registers a file the command reads (`-`, standard input, is skipped).
    mutating func addInput(_ path: String) {
        guard path != "-" else { return }
        inputs.append(Entry(display: path, resolved: Self.resolve(path), identity: FileIdentity(path)))
    }

    /// Checks an output file: its directory exists and is writable, it is not a directory, not an
    /// input and not another output. Nothing is created.
    mutating func claimFile(_ path: String) throws(CLIError) {
        let entry = Entry(display: path, resolved: Self.resolve(path), identity: FileIdentity(path))
        for input in inputs where input.resolved == entry.resolved || (input.identity != nil && input.identity == entry.identity) {
            throw CLIError("\(path): refusing to write an output over the input \(input.display)")
        }
        for other in outputs where other.resolved == entry.resolved || (other.identity != nil && other.identity == entry.identity) {
            throw CLIError("\(path): two outputs would be written to the same file (also \(other.display))")
        }
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw CLIError("\(path): is a directory; the output must be a file path")
        }
        let parent = (entry.resolved as NSString).deletingLastPathComponent
        try Self.checkWritableDirectory(parent.isEmpty ? "/" : parent, for: path)
        outputs.append(entry)
    }

    /// Creates `path` (and its parents) as an output directory if needed and checks that it is
    /// a writable directory.
    func prepareDirectory(_ path: String) throws(CLIError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw CLIError("\(path): exists and is not a directory; the output needs a directory")
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw CLIError("\(path): cannot create the output directory: \(Self.reason(creating: path))")
            }
        }
        try Self.checkWritableDirectory(path, for: path)
    }

    /// The absolute path with every symbolic link in its existing part resolved.
    static func resolve(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let standardized = (absolute as NSString).standardizingPath
        if let real = realPath(standardized) { return real }
        let parent = (standardized as NSString).deletingLastPathComponent
        let name = (standardized as NSString).lastPathComponent
        if parent != standardized, parent != "" {
            let resolvedParent = resolve(parent)
            return resolvedParent == "/" ? "/" + name : resolvedParent + "/" + name
        }
        return standardized
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    private static func checkWritableDirectory(_ directory: String, for path: String) throws(CLIError) {
        var st = stat()
        guard stat(directory, &st) == 0 else {
            throw CLIError("\(path): cannot write there: the directory \(directory) does not exist")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw CLIError("\(path): cannot write there: \(directory) is not a directory")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw CLIError("\(path): cannot write there: no permission to write in \(directory)")
        }
    }

    /// Why the nearest existing ancestor of `path` refuses a new directory.
    private static func reason(creating path: String) -> String {
        var dir = (resolve(path) as NSString).deletingLastPathComponent
        while !dir.isEmpty, dir != "/" {
            var st = stat()
            if stat(dir, &st) == 0 {
                if (st.st_mode & S_IFMT) != S_IFDIR { return "\(dir) is not a directory" }
                if access(dir, W_OK | X_OK) != 0 { return "no permission to write in \(dir)" }
                break
            }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return "the file system refused it"
    }
}

/// A file's device and inode: equal for two names of one file.
struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64

    init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}
