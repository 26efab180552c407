import Foundation
import ReproTensor

/// Writes a trace's tensors to a safetensors file while the pass runs, so that no output has to
/// stay in memory until the end (`repro detect --trace X.json --trace-tensors`).
///
/// The file is built as a temporary file in the destination's folder: a reserved header region,
/// then each tensor's bytes as it is appended. ``commit()`` writes the header (keys
/// ``TraceDocument/tensorKey(image:entry:)``, in the order appended) into the reserved region,
/// padded with spaces — JSON whitespace, which every safetensors reader skips — and renames the
/// file over the destination. A header too large for the region is written into a second
/// temporary file followed by a copy of the data, so any number of entries fits. Until
/// ``commit()`` succeeds the destination is untouched; a writer released uncommitted removes its
/// temporary file.
///
/// ```swift
/// let writer = try TraceTensorWriter(path: "run.trace.safetensors")
/// let recorder = TraceRecorder(streamingTensorsTo: writer)
/// // … forward passes reporting to recorder.scope(), recorder.finish() after each image …
/// try writer.commit()
/// ```
public final class TraceTensorWriter: @unchecked Sendable {
    /// The destination path.
    public let path: String
    /// Bytes set aside at the start of the file for the 8-byte length and the JSON header.
    public let reservedHeaderBytes: Int
    private let temporary: String
    private var fd: Int32
    private var entries: [(key: String, dtype: CheckpointDType, shape: [Int], byteCount: Int)] = []
    private var failure: TraceError?
    /// Set once the file is closed for good (renamed, or removed after a failed rename).
    private var committed = false
    private let lock = NSLock()

    /// Creates the temporary file beside `path`, with `reservedHeaderBytes` (rounded up to a
    /// multiple of 8; at least 64) set aside for the header — about 100 bytes per entry.
    ///
    /// - Throws: ``TraceError/unwritable(path:reason:)`` when the temporary file cannot be created.
    public init(path: String, reservedHeaderBytes: Int = 1 << 20) throws(TraceError) {
        self.path = path
        self.reservedHeaderBytes = (max(reservedHeaderBytes, 64) + 7) / 8 * 8
        let url = URL(fileURLWithPath: path)
        // repro-lint: allow run-varying-value — names the temporary file only; it is renamed over `path`
        temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)").path
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .unwritable(path: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        if ftruncate(fd, off_t(self.reservedHeaderBytes)) != 0 || lseek(fd, off_t(self.reservedHeaderBytes), SEEK_SET) < 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw .unwritable(path: path, reason: reason)
        }
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            unlink(temporary)
        }
    }

    /// The first write error, if any (appending stops at the first one; ``commit()`` throws it).
    public var error: TraceError? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    /// The image the next appended outputs belong to (from 0; ``finishImage()`` moves on).
    public private(set) var image = 0

    /// Moves on to the next image (``TraceRecorder/finish()`` calls it).
    public func finishImage() {
        lock.lock()
        image += 1
        lock.unlock()
    }

    /// Appends one output's bytes (little-endian, row-major) under the key of entry `entry` of
    /// the current ``image``. A write error is kept and thrown by ``commit()``.
    public func append(_ tensor: Tensor, entry: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard failure == nil, !committed else { return }
        let bytes = tensor.count * tensor.dtype.byteCount
        let ok = tensor.withElementBytes { Self.writeAll(fd, $0) }
        guard ok else {
            failure = .unwritable(path: path, reason: String(cString: strerror(errno)))
            return
        }
        entries.append((TraceDocument.tensorKey(image: image, entry: entry), TraceDocument.checkpointDType(tensor.dtype), tensor.shape, bytes))
    }

    /// Writes the header and renames the file over ``path``.
    ///
    /// - Throws: ``TraceError/unwritable(path:reason:)`` for a failed write (then ``path`` is untouched).
    public func commit() throws(TraceError) {
        lock.lock()
        defer { lock.unlock() }
        guard !committed else { return }
        if let failure { throw failure }
        let header = StateDict.safetensorsHeader(entries, minimumBytes: reservedHeaderBytes)
        var source = temporary
        if header.count == reservedHeaderBytes {
            guard header.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) == $0.count }), fsync(fd) == 0 else { throw fail() }
        } else {
            // The header outgrew its region: header, then a copy of the data, in a second file.
            source = temporary + "-2"
            guard let e = Self.copy(dataOf: temporary, skipping: reservedHeaderBytes, after: header, into: source) else { throw fail() }
            guard e == 0 else {
                unlink(source)
                throw fail(errno: e)
            }
        }
        close(fd)
        fd = -1
        committed = true  // from here on the temporary files are this function's to remove
        if source != temporary { unlink(temporary) }
        guard rename(source, path) == 0 else {
            let e = errno
            unlink(source)
            throw fail(errno: e)
        }
    }

    private func fail(errno e: Int32 = errno) -> TraceError {
        .unwritable(path: path, reason: String(cString: strerror(e)))
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    /// Writes `header` then the bytes of `file` after its first `skipping` bytes into `destination`
    /// (synced); returns 0, an errno, or `nil` when `destination` cannot be created.
    private static func copy(dataOf file: String, skipping: Int, after header: [UInt8], into destination: String) -> Int32? {
        let out = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard out >= 0 else { return nil }
        defer { close(out) }
        let input = open(file, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return errno }
        defer { close(input) }
        guard header.withUnsafeBytes({ writeAll(out, $0) }), lseek(input, off_t(skipping), SEEK_SET) >= 0 else { return errno }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(input, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            if n == 0 { break }
            guard writeAll(out, UnsafeRawBufferPointer(rebasing: buffer[..<n])) else { return errno }
        }
        return fsync(out) == 0 ? 0 : errno
    }
}
