import Foundation

/// A safetensors file read lazily: the header when opened, each tensor's bytes only when asked
/// for — for files larger than memory, such as the kept outputs of a full-size trace.
///
/// ```swift
/// let file = try SafetensorsFile(contentsOf: "run.trace.safetensors")
/// let first = try file.tensor(file.keys[0])
/// ```
public final class SafetensorsFile: @unchecked Sendable {
    /// The file's path.
    public let path: String
    /// The keys in data order.
    public let keys: [String]
    private let entries: [String: StateDict.SafetensorsEntry]
    private let dataStart: Int
    private let handle: FileHandle
    private let lock = NSLock()

    /// Opens the file and reads its header.
    ///
    /// - Throws: ``CheckpointError/unreadable(path:reason:)``, or the header errors of
    ///   ``StateDict/init(bytes:)`` (truncated, not JSON, offsets outside the file).
    public init(contentsOf path: String) throws(CheckpointError) {
        self.path = path
        do {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let size: Int
        let lengthBytes: [UInt8]
        do {
            size = Int(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
            lengthBytes = [UInt8](try handle.read(upToCount: 8) ?? Data())
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        dataStart = try StateDict.safetensorsHeaderEnd(lengthBytes, fileSize: size)
        let header: [UInt8]
        do { header = [UInt8](try handle.read(upToCount: dataStart - 8) ?? Data()) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        guard header.count == dataStart - 8 else { throw .truncated("safetensors header ends early") }
        let list = try StateDict.safetensorsEntries(header, dataCount: size - dataStart)
        keys = list.map(\.name)
        entries = Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    deinit { try? handle.close() }

    /// The tensor stored under `key`, or `nil` when there is none.
    public func tensor(_ key: String) throws(CheckpointError) -> CheckpointTensor? {
        guard let e = entries[key] else { return nil }
        lock.lock()
        defer { lock.unlock() }
        let bytes: [UInt8]
        do {
            try handle.seek(toOffset: UInt64(dataStart + e.begin))
            bytes = [UInt8](try handle.read(upToCount: e.end - e.begin) ?? Data())
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        guard bytes.count == e.end - e.begin else { throw .truncated("tensor \(key) ends past the end of the file") }
        return try CheckpointTensor(dtype: e.dtype, shape: e.shape, bytes: bytes, name: key)
    }
}
