#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of a whole checkpoint file, read-only: a private memory mapping of the file, or (where
/// mapping is not possible or not wanted) one heap buffer filled by `read(2)` or copied from an array.
///
/// Tensors read from the file are views into this buffer (``CheckpointBytes``), so nothing is copied
/// until a tensor is converted into its final form (``Tensor/init(checkpoint:name:)`` copies each
/// tensor once). The buffer lives as long as any view of it.
///
/// The mapping is `MAP_PRIVATE` with `PROT_READ`: nothing Repro does can write to the file. Its one
/// hazard is the one every memory-mapped reader has: if another process truncates the file while it
/// is mapped, touching a page past the new end raises `SIGBUS`. The size is checked against the
/// format's own offsets when the file is opened (a file that is already short is a typed
/// ``CheckpointError/truncated(_:)``); a file that shrinks afterwards can only be guarded by reading
/// it instead, which ``StateDict/FileAccess/read`` does.
final class CheckpointBuffer: @unchecked Sendable {
    /// The first byte (never nil, also for an empty file).
    let base: UnsafeRawPointer
    /// The number of bytes.
    let count: Int
    /// How the bytes are held.
    enum Backing {
        case mapped(length: Int)
        case heap
    }
    private let backing: Backing

    /// A copy of a caller's bytes (one heap buffer: a pointer into an array must not outlive the
    /// array's own access scope).
    init(_ bytes: [UInt8]) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: $0.count) } }
        base = UnsafeRawPointer(p)
        count = bytes.count
        backing = .heap
    }

    /// Maps (or, with `map: false` or where mapping fails, reads) the file at `path`.
    init(contentsOf path: String, map: Bool) throws(CheckpointError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: Self.reason(errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path: path, reason: Self.reason(errno)) }
        guard (st.st_mode & S_IFMT) != S_IFDIR else { throw .unreadable(path: path, reason: "is a directory") }
        let isRegular = (st.st_mode & S_IFMT) == S_IFREG
        if map, isRegular, st.st_size > 0 {
            let length = Int(st.st_size)
            let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
            if let p, p != UnsafeMutableRawPointer(bitPattern: -1) {
                base = UnsafeRawPointer(p)
                count = length
                backing = .mapped(length: length)
                return
            }
            // Mapping failed (a file system without mmap, address space limits): read instead.
        }
        var capacity = isRegular && st.st_size > 0 ? Int(st.st_size) : 1 << 20
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        var filled = 0
        while true {
            if filled == capacity {
                let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 64)
                grown.copyMemory(from: buffer, byteCount: filled)
                buffer.deallocate()
                buffer = grown
                capacity *= 2
            }
            let n = read(fd, buffer + filled, capacity - filled)
            if n < 0 {
                if errno == EINTR { continue }
                let why = Self.reason(errno)
                buffer.deallocate()
                throw .unreadable(path: path, reason: why)
            }
            if n == 0 { break }
            filled += n
        }
        base = UnsafeRawPointer(buffer)
        count = filled
        backing = .heap
    }

    deinit {
        switch backing {
        case .mapped(let length): munmap(UnsafeMutableRawPointer(mutating: base), length)
        case .heap: base.deallocate()
        }
    }

    /// Whether the bytes are a memory mapping of the file.
    var isMapped: Bool {
        if case .mapped = backing { return true }
        return false
    }

    /// The whole buffer.
    var all: CheckpointBytes { CheckpointBytes(self, 0..<count) }

    /// Bytes `offset ..< offset + length`, bounds-checked.
    func bytes(_ offset: Int, _ length: Int) throws(CheckpointError) -> CheckpointBytes {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw .truncated("needs bytes \(offset)..<\(offset &+ length), file has \(count)")
        }
        return CheckpointBytes(self, offset..<(offset + length))
    }

    private static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// A read-only range of a ``CheckpointBuffer`` (a tensor's elements, a zip entry); keeps the
/// buffer alive. Indices run from 0.
struct CheckpointBytes: Sendable, RandomAccessCollection {
    let buffer: CheckpointBuffer
    /// Positions in the buffer.
    let range: Range<Int>

    init(_ buffer: CheckpointBuffer, _ range: Range<Int>) {
        self.buffer = buffer
        self.range = range
    }

    /// An owned copy of `bytes` (no file behind it).
    init(copying bytes: [UInt8]) {
        self.init(CheckpointBuffer(bytes), 0..<bytes.count)
    }

    var count: Int { range.count }
    var startIndex: Int { 0 }
    var endIndex: Int { range.count }

    func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try body(UnsafeBufferPointer(start: buffer.base.assumingMemoryBound(to: UInt8.self) + range.lowerBound, count: range.count))
    }

    /// The bytes as a raw buffer, valid inside `body`.
    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: buffer.base + range.lowerBound, count: range.count))
    }

    /// The byte at `i` (0-based inside this range; the caller checks bounds).
    subscript(i: Int) -> UInt8 { buffer.base.load(fromByteOffset: range.lowerBound + i, as: UInt8.self) }

    /// Bytes `offset ..< offset + length` of this range, bounds-checked.
    func slice(_ offset: Int, _ length: Int) throws(CheckpointError) -> CheckpointBytes {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw .truncated("needs bytes \(offset)..<\(offset &+ length) of a \(count)-byte range")
        }
        return CheckpointBytes(buffer, (range.lowerBound + offset)..<(range.lowerBound + offset + length))
    }

    /// A copy as an array.
    var array: [UInt8] { withUnsafeBytes { [UInt8]($0) } }

    /// Whether both ranges hold the same bytes.
    func elementsEqual(_ other: CheckpointBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { a in other.withUnsafeBytes { b in count == 0 || memcmp(a.baseAddress!, b.baseAddress!, count) == 0 } }
    }
}
