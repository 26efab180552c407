// The message buffering, padding and output encoding that SHA-256 and SHA-512
// (FIPS 180-4) share; each keeps only its own compression function.

/// A hash's compression function over fixed-size blocks (the chaining state).
protocol _MerkleDamgardCore: Sendable {
    /// Bytes per block: 64 for SHA-256, 128 for SHA-512.
    static var blockSize: Int { get }
    /// Bytes of the big-endian bit-length field: 8 for SHA-256, 16 for SHA-512.
    static var lengthFieldSize: Int { get }
    /// Mixes one block of exactly ``blockSize`` bytes into the state.
    mutating func compress(_ block: UnsafeRawBufferPointer)
    /// Mixes consecutive whole blocks (a multiple of ``blockSize`` bytes) into the state.
    mutating func compress(blocks: UnsafeRawBufferPointer)
}

extension _MerkleDamgardCore {
    /// One block at a time.
    mutating func compress(blocks: UnsafeRawBufferPointer) {
        for start in stride(from: 0, to: blocks.count, by: Self.blockSize) {
            compress(UnsafeRawBufferPointer(rebasing: blocks[start..<(start + Self.blockSize)]))
        }
    }
}

/// Feeds a message to a ``_MerkleDamgardCore`` block by block, keeping the
/// incomplete last block, and pads it as FIPS 180-4 §5.1 asks.
struct _MerkleDamgard<Core: _MerkleDamgardCore>: Sendable {
    private(set) var core: Core
    private var pending: [UInt8] = []
    /// Message bytes fed so far (a message below 2^64 bytes in practice; the
    /// bit length's bits above 2^64 · 8 are those shifted out of it).
    private var byteCount: UInt64 = 0

    init(_ core: Core) {
        self.core = core
        pending.reserveCapacity(Core.blockSize)
    }

    /// Feeds bytes (contiguous collections as raw memory, others one at a time).
    mutating func update(_ bytes: some Sequence<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) != nil { return }
        for b in bytes {
            pending.append(b)
            if pending.count == Core.blockSize { flushPending() }
        }
    }

    /// Feeds raw memory, compressing whole blocks in place.
    mutating func update(_ buffer: UnsafeRawBufferPointer) {
        let n = buffer.count
        let size = Core.blockSize
        var i = 0
        if !pending.isEmpty {
            while i < n && pending.count < size { pending.append(buffer[i]); i += 1 }
            if pending.count == size { flushPending() }
        }
        let whole = (n - i) / size * size
        if whole > 0 {
            core.compress(blocks: UnsafeRawBufferPointer(rebasing: buffer[i..<(i + whole)]))
            byteCount &+= UInt64(whole)
            i += whole
        }
        while i < n { pending.append(buffer[i]); i += 1 }
    }

    /// Whether bytes of an incomplete block wait for the next update.
    var hasPartialBlock: Bool { !pending.isEmpty }

    /// Lets `body` compress `byteCount` bytes of whole blocks straight into the core (only
    /// while no partial block is pending: a fresh hasher, or one fed whole blocks so far).
    mutating func absorbWholeBlocks(byteCount n: Int, _ body: (inout Core) -> Void) {
        precondition(pending.isEmpty && n % Core.blockSize == 0, "whole blocks only, with nothing pending")
        body(&core)
        byteCount &+= UInt64(n)
    }

    private mutating func flushPending() {
        pending.withUnsafeBytes { core.compress($0) }
        byteCount &+= UInt64(pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    /// Appends `0x80`, zeros and the big-endian message bit length, compresses
    /// the last one or two blocks and returns the final chaining state.
    consuming func finalize() -> Core {
        let total = byteCount &+ UInt64(pending.count)
        let size = Core.blockSize
        var tail = pending
        tail.append(0x80)
        while tail.count % size != size - Core.lengthFieldSize { tail.append(0) }
        if Core.lengthFieldSize > 8 {
            tail.append(contentsOf: repeatElement(0, count: Core.lengthFieldSize - 16))
            tail._appendBigEndian(total >> 61)
        }
        tail._appendBigEndian(total &<< 3)
        tail.withUnsafeBytes { core.compress(blocks: $0) }
        return core
    }
}

extension Array where Element == UInt8 {
    /// Appends `word`'s bytes, most significant first.
    mutating func _appendBigEndian<W: FixedWidthInteger>(_ word: W) {
        for s in stride(from: W.bitWidth - 8, through: 0, by: -8) {
            append(UInt8(truncatingIfNeeded: word >> s))
        }
    }

    /// Lower-case hexadecimal, two characters a byte.
    var _lowercaseHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var s: [UInt8] = []
        s.reserveCapacity(2 * count)
        for b in self { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return String(decoding: s, as: UTF8.self)
    }
}

extension UnsafeRawBufferPointer {
    /// The big-endian word of type `W` that starts at byte `offset`.
    @inline(__always)
    func _bigEndianWord<W: FixedWidthInteger>(at offset: Int, as _: W.Type = W.self) -> W {
        var v: W = 0
        for i in 0..<MemoryLayout<W>.size { v = (v << 8) | W(self[offset + i]) }
        return v
    }
}
