// Huffman tables and the entropy-coded bit reader for JPEG (ITU T.81 Annex C/F).

/// A JPEG Huffman table: a 9-bit lookahead table, and the canonical
/// maxcode/valoffset walk (T.81 F.2.2.3) for longer codes; plus a
/// `fastBits`-bit table that decodes a code *and* its extra bits in one
/// lookup (see ``JPEGFastEntry``).
struct JPEGHuffmanTable {
    static let lookBits = 9
    /// Bits looked at by the combined code + value table.
    static let fastBits = 10
    /// entry = length << 8 | symbol; length 0 = code longer than `lookBits`.
    var look = [UInt16](repeating: 0, count: 1 << JPEGHuffmanTable.lookBits)
    /// Largest code of each length 1...16 (-1 if none), index 17 is a sentinel.
    var maxcode = [Int](repeating: -1, count: 18)
    var valoffset = [Int](repeating: 0, count: 18)
    var values: [UInt8] = []
    /// The combined table, indexed by the next `fastBits` bits.
    var fast = [Int32](repeating: 0, count: 1 << JPEGHuffmanTable.fastBits)

    /// Builds from the 16 code-length counts and the symbol list of a DHT
    /// segment; `isAC` says how the fast table reads symbols (AC run/size or DC size).
    init(counts: [Int], values: [UInt8], isAC: Bool) throws(ImageError) {
        self.values = values
        var code = 0, k = 0
        for len in 1...16 {
            let n = counts[len - 1]
            valoffset[len] = k - code
            if n > 0 {
                for _ in 0..<n {
                    // A code of `len` bits must stay below 2^len (T.81 C.2).
                    guard code < (1 << len) else {
                        throw .corrupt("JPEG: bogus Huffman table (code lengths over-subscribed)")
                    }
                    if len <= JPEGHuffmanTable.lookBits {
                        let shift = JPEGHuffmanTable.lookBits - len
                        let entry = UInt16(len) << 8 | UInt16(values[k])
                        for j in 0..<(1 << shift) { look[(code << shift) | j] = entry }
                    }
                    if len <= JPEGHuffmanTable.fastBits {
                        let shift = JPEGHuffmanTable.fastBits - len
                        for j in 0..<(1 << shift) {
                            fast[(code << shift) | j] = JPEGFastEntry.make(symbol: Int(values[k]), codeLength: len,
                                                                          following: j, followingBits: shift, isAC: isAC)
                        }
                    }
                    code += 1
                    k += 1
                }
                maxcode[len] = code - 1
            }
            // As libjpeg: the all-ones code of a length is reserved, so the
            // next free code must still fit in `len` bits.
            guard code < (1 << len) else { throw .corrupt("JPEG: bogus Huffman table (code lengths over-subscribed)") }
            code <<= 1
        }
        maxcode[17] = Int.max
    }
}

/// Big-endian bit reader over entropy-coded data. Byte stuffing (FF 00) is
/// removed; at a marker or the end of the data it supplies zero bits and
/// counts them, so over-reading is detected (as an error), never performed.
struct JPEGBitReader {
    let data: UnsafeBufferPointer<UInt8>
    var pos: Int
    /// Valid bits are the top `count` bits.
    var acc: UInt64 = 0
    var count = 0
    /// Zero bits supplied past a marker or the end of the data.
    var padBits = 0
    var atMarker = false

    init(_ data: UnsafeBufferPointer<UInt8>, at pos: Int) {
        self.data = data
        self.pos = pos
    }

    /// Buffers more than 56 bits (zero bits past a marker or the end, counted in `padBits`).
    @inline(__always) mutating func fill() {
        // Fast path: the next 8 bytes hold no 0xFF, so whole bytes can be taken at once.
        if !atMarker && pos + 8 <= data.count {
            let raw = UInt64(bigEndian: UnsafeRawPointer(data.baseAddress! + pos).loadUnaligned(as: UInt64.self))
            let inv = ~raw  // a 0xFF byte becomes 0x00
            let hasFF = (inv &- 0x0101_0101_0101_0101) & ~inv & 0x8080_8080_8080_8080
            if hasFF == 0 {
                let take = (64 - count) >> 3
                acc |= (raw >> UInt64(count)) & ~(UInt64.max >> UInt64(count + take * 8))
                pos += take
                count += take * 8
                return
            }
        }
        // Byte stuffing, a marker or the end of the data is near: byte by byte,
        // out of line, on a copy (so that the caller's state can stay in registers).
        var copy = self
        copy.fillSlowly()
        self = copy
    }

    /// Takes bytes one at a time until more than 56 bits are buffered.
    @inline(never) mutating func fillSlowly() {
        while count <= 56 {
            var b: UInt8 = 0
            if !atMarker && pos < data.count {
                b = data[pos]
                if b == 0xFF {
                    var p = pos + 1
                    while p < data.count && data[p] == 0xFF { p += 1 }
                    if p < data.count && data[p] == 0 {
                        pos = p + 1
                    } else {
                        atMarker = true
                        b = 0
                        padBits += 8
                    }
                } else {
                    pos += 1
                }
            } else {
                atMarker = true
                padBits += 8
            }
            acc |= UInt64(b) << UInt64(56 - count)
            count += 8
        }
    }

    /// True when zero bits past the end of the segment were consumed.
    var overran: Bool { padBits > count }

    @inline(__always) mutating func bits(_ n: Int) -> Int {
        if n == 0 { return 0 }
        if count < n { fill() }
        let v = Int(acc >> UInt64(64 - n))
        acc <<= UInt64(n)
        count -= n
        return v
    }

    @inline(__always) mutating func bit() -> Int { bits(1) }

    /// Reads `n` bits and sign-extends them (T.81 F.2.2.1 EXTEND).
    @inline(__always) mutating func receiveExtend(_ n: Int) -> Int {
        if n == 0 { return 0 }
        let v = bits(n)
        return v < (1 << (n - 1)) ? v - (1 << n) + 1 : v
    }

    /// Discards buffered bits and consumes the restart marker RSTn expected next.
    mutating func restart(expected n: Int) throws(ImageError) {
        if overran { throw .corrupt("JPEG: entropy-coded segment ends early (before RST\(n))") }
        acc = 0; count = 0; padBits = 0; atMarker = false
        while pos < data.count && data[pos] == 0xFF && pos + 1 < data.count && data[pos + 1] == 0xFF { pos += 1 }
        guard pos + 1 < data.count else { throw .truncated("JPEG: restart marker RST\(n) missing") }
        guard data[pos] == 0xFF, data[pos + 1] == 0xD0 + UInt8(n) else {
            throw .corrupt("JPEG: expected restart marker RST\(n)")
        }
        pos += 2
    }
}

/// Entries of ``JPEGHuffmanTable/fast``, an `Int32` indexed by the next
/// `fastBits` bits of the stream:
/// - `value`: the code and its extra bits fit: bits 0–4 = bits to consume
///   (code + extra), bits 5–8 = zero run (AC), bits 16–31 = the extended
///   (signed) coefficient or DC difference;
/// - `zeroRun` (AC ZRL, sixteen zeros) and `endOfBlock` (AC EOB, or any
///   run/size with size 0 other than ZRL, which libjpeg also ends the block on;
///   in progressive scans the run is the EOBRUN exponent): bits 0–4 = the code
///   length, bits 5–8 = the run;
/// - 0: the code is longer than `fastBits` or its extra bits do not fit:
///   decode the symbol the long way.
enum JPEGFastEntry {
    static let value: Int32 = 1 << 9
    static let zeroRun: Int32 = 1 << 10
    static let endOfBlock: Int32 = 1 << 11

    /// The entry for a code of `codeLength` bits whose symbol is `symbol`,
    /// followed in the index by `followingBits` bits equal to `following`.
    static func make(symbol: Int, codeLength: Int, following: Int, followingBits: Int, isAC: Bool) -> Int32 {
        let run = isAC ? symbol >> 4 : 0
        let size = isAC ? symbol & 15 : symbol
        if isAC && size == 0 {
            return Int32(codeLength) | Int32(run) << 5 | (run == 15 ? zeroRun : endOfBlock)
        }
        guard size <= followingBits else { return 0 }  // also rejects DC sizes above 15
        let bits = (following >> (followingBits - size)) & ((1 << size) - 1)
        let v = size == 0 ? 0 : (bits < 1 << (size - 1) ? bits - (1 << size) + 1 : bits)
        return Int32(v) << 16 | Int32(run) << 5 | Int32(codeLength + size) | value
    }
}
