// Inflate (RFC 1950 zlib wrapper around RFC 1951 DEFLATE), written for
// ReproImage so PNG decoding needs no system library. Output goes into a
// buffer of known size (a PNG's filtered scanlines); decoding stops once it is
// full, as Pillow stops feeding zlib once the image is complete. The Adler-32
// trailer is therefore not checked (Pillow never reaches it either).

/// Canonical Huffman decoding table: an 11-bit direct lookup for short codes,
/// and a bit-by-bit canonical walk for the (rare) longer ones.
struct HuffmanTable {
    static let fastBits = 11
    /// entry = symbol << 4 | length; 0 = not a short code.
    var fast: [UInt16] = Array(repeating: 0, count: 1 << HuffmanTable.fastBits)
    /// Codes of each length 0...15.
    var counts: [Int] = Array(repeating: 0, count: 16)
    /// Symbols ordered by (length, symbol).
    var symbols: [UInt16] = []

    /// Builds from code lengths; throws on an over-subscribed set.
    /// Incomplete sets are accepted (an unused code is an error only when read).
    init(lengths: UnsafeBufferPointer<UInt8>) throws(ImageError) {
        for l in lengths { counts[Int(l)] += 1 }
        counts[0] = 0
        var left = 1
        for len in 1...15 {
            left <<= 1
            left -= counts[len]
            if left < 0 { throw .corrupt("deflate: over-subscribed Huffman code") }
        }
        var offsets = [Int](repeating: 0, count: 16)
        for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
        symbols = [UInt16](repeating: 0, count: offsets[15] + counts[15])
        for (s, l) in lengths.enumerated() where l != 0 {
            symbols[offsets[Int(l)]] = UInt16(s)
            offsets[Int(l)] += 1
        }
        // Fill the fast table with codes of length <= fastBits.
        var code = 0
        var index = 0
        for len in 1...15 {
            for _ in 0..<counts[len] {
                if len <= HuffmanTable.fastBits {
                    var rev = 0
                    var c = code
                    for _ in 0..<len { rev = (rev << 1) | (c & 1); c >>= 1 }
                    let entry = UInt16(symbols[index]) << 4 | UInt16(len)
                    var j = rev
                    while j < (1 << HuffmanTable.fastBits) { fast[j] = entry; j += 1 << len }
                }
                code += 1
                index += 1
            }
            code <<= 1
        }
    }
}

/// A little-endian bit reader over a byte buffer. Reading past the end feeds
/// zero bytes and counts them, so a truncated stream is detected, never overrun.
struct DeflateBits {
    let input: UnsafeBufferPointer<UInt8>
    var pos = 0
    var buffer: UInt64 = 0
    var count = 0
    var padded = 0

    init(_ input: UnsafeBufferPointer<UInt8>) { self.input = input }

    @inline(__always) mutating func refill() {
        if pos + 8 <= input.count && count <= 32 {
            // Fast path: take whole bytes while there is room.
            while count <= 56 {
                buffer |= UInt64(input[pos]) << UInt64(count)
                pos += 1
                count += 8
            }
            return
        }
        while count <= 56 {
            if pos < input.count {
                buffer |= UInt64(input[pos]) << UInt64(count)
                pos += 1
            } else {
                padded += 1
            }
            count += 8
        }
    }

    /// True when more bits were consumed than the input holds.
    var overran: Bool { padded * 8 > count }

    @inline(__always) mutating func bits(_ n: Int) -> Int {
        if count < n { refill() }
        let v = Int(buffer & ((1 << UInt64(n)) - 1))
        buffer >>= UInt64(n)
        count -= n
        return v
    }

    @inline(__always) mutating func decode(_ t: borrowing HuffmanTable) throws(ImageError) -> Int {
        if count < 15 { refill() }
        let e = t.fast[Int(buffer & UInt64((1 << HuffmanTable.fastBits) - 1))]
        if e != 0 {
            let len = Int(e & 15)
            buffer >>= UInt64(len)
            count -= len
            return Int(e >> 4)
        }
        // Canonical walk for long codes.
        var code = 0, first = 0, index = 0
        for len in 1...15 {
            code |= Int(buffer & 1)
            buffer >>= 1
            count -= 1
            let n = t.counts[len]
            if code - first < n {
                return Int(t.symbols[index + code - first])
            }
            index += n
            first += n
            first <<= 1
            code <<= 1
        }
        throw .corrupt("deflate: invalid Huffman code")
    }
}

enum Inflate {
    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                     3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                  257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
                                  8193, 12289, 16385, 24577]
    static let distExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                   7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    static let fixedTables: (HuffmanTable, HuffmanTable) = {
        var l = [UInt8](repeating: 8, count: 288)
        for i in 144..<256 { l[i] = 9 }
        for i in 256..<280 { l[i] = 7 }
        let d = [UInt8](repeating: 5, count: 30)
        // Both sets are complete and valid; `try!` cannot fail here.
        let lit = l.withUnsafeBufferPointer { try! HuffmanTable(lengths: $0) }
        let dist = d.withUnsafeBufferPointer { try! HuffmanTable(lengths: $0) }
        return (lit, dist)
    }()

    /// Inflates a zlib stream into exactly `output.count` bytes.
    ///
    /// - Throws: ``ImageError/truncated(_:)`` when the stream ends before the
    ///   output is full, ``ImageError/corrupt(_:)`` for malformed data.
    static func zlib(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) throws(ImageError) {
        guard input.count >= 2 else { throw .truncated("zlib header") }
        let cmf = Int(input[0]), flg = Int(input[1])
        guard cmf & 15 == 8, cmf >> 4 <= 7, (cmf << 8 | flg) % 31 == 0 else { throw .corrupt("zlib header") }
        guard flg & 0x20 == 0 else { throw .unsupported("zlib preset dictionary") }
        try raw(UnsafeBufferPointer(rebasing: input[2...]), into: output)
    }

    /// Inflates raw DEFLATE data into `output`, stopping when it is full.
    static func raw(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) throws(ImageError) {
        var br = DeflateBits(input)
        var out = 0
        let cap = output.count
        var final = false
        while !final && out < cap {
            final = br.bits(1) == 1
            let type = br.bits(2)
            switch type {
            case 0:
                // Stored block: skip to a byte boundary, then LEN, NLEN.
                _ = br.bits(br.count & 7)
                let len = br.bits(16), nlen = br.bits(16)
                guard len == (~nlen & 0xFFFF) else { throw .corrupt("deflate: stored block length") }
                let real = br.count / 8 - br.padded
                if real < 0 { throw .truncated("deflate stored block") }
                var n = len
                // Bytes already in the bit buffer come first.
                let fromBuffer = min(n, real)
                for _ in 0..<fromBuffer {
                    let b = UInt8(br.bits(8))
                    if out < cap { output[out] = b; out += 1 }
                }
                n -= fromBuffer
                if n > 0 {
                    br.buffer = 0; br.count = 0; br.padded = 0
                    guard br.pos + n <= input.count else { throw .truncated("deflate stored block") }
                    let take = min(n, cap - out)
                    if take > 0 {
                        UnsafeMutableRawPointer(output.baseAddress! + out)
                            .copyMemory(from: input.baseAddress! + br.pos, byteCount: take)
                    }
                    out += take
                    br.pos += n
                }
            case 1:
                try codes(&br, Inflate.fixedTables.0, Inflate.fixedTables.1, output, &out)
            case 2:
                let (lit, dist) = try dynamicTables(&br)
                try codes(&br, lit, dist, output, &out)
            default:
                throw .corrupt("deflate: reserved block type")
            }
            if br.overran { throw .truncated("deflate stream") }
        }
        if out < cap { throw .truncated("compressed image data ends after \(out) of \(cap) bytes") }
    }

    static func dynamicTables(_ br: inout DeflateBits) throws(ImageError) -> (HuffmanTable, HuffmanTable) {
        let hlit = br.bits(5) + 257, hdist = br.bits(5) + 1, hclen = br.bits(4) + 4
        guard hlit <= 286, hdist <= 30 else { throw .corrupt("deflate: too many length or distance codes") }
        var clen = [UInt8](repeating: 0, count: 19)
        for i in 0..<hclen { clen[codeLengthOrder[i]] = UInt8(br.bits(3)) }
        let clTable = try clen.withUnsafeBufferPointer { (p) throws(ImageError) in try HuffmanTable(lengths: p) }
        var lengths = [UInt8](repeating: 0, count: hlit + hdist)
        var i = 0
        while i < hlit + hdist {
            if br.overran { throw .truncated("deflate code lengths") }
            let sym = try br.decode(clTable)
            switch sym {
            case 0...15:
                lengths[i] = UInt8(sym); i += 1
            case 16:
                guard i > 0 else { throw .corrupt("deflate: repeat with no previous length") }
                let prev = lengths[i - 1]
                let n = 3 + br.bits(2)
                guard i + n <= lengths.count else { throw .corrupt("deflate: code lengths overflow") }
                for _ in 0..<n { lengths[i] = prev; i += 1 }
            case 17, 18:
                let n = sym == 17 ? 3 + br.bits(3) : 11 + br.bits(7)
                guard i + n <= lengths.count else { throw .corrupt("deflate: code lengths overflow") }
                i += n
            default:
                throw .corrupt("deflate: bad code length symbol")
            }
        }
        guard lengths[256] != 0 else { throw .corrupt("deflate: no end-of-block code") }
        let lit = try lengths.withUnsafeBufferPointer { (p) throws(ImageError) in
            try HuffmanTable(lengths: UnsafeBufferPointer(rebasing: p[0..<hlit]))
        }
        let dist = try lengths.withUnsafeBufferPointer { (p) throws(ImageError) in
            try HuffmanTable(lengths: UnsafeBufferPointer(rebasing: p[hlit...]))
        }
        return (lit, dist)
    }

    /// Decodes one Huffman-coded block.
    static func codes(_ br: inout DeflateBits, _ lit: borrowing HuffmanTable, _ dist: borrowing HuffmanTable,
                      _ output: UnsafeMutableBufferPointer<UInt8>, _ outPos: inout Int) throws(ImageError) {
        var out = outPos
        defer { outPos = out }
        let cap = output.count
        let o = output.baseAddress!
        while true {
            let sym = try br.decode(lit)
            if sym < 256 {
                guard out < cap else { return }
                o[out] = UInt8(sym)
                out += 1
                continue
            }
            if sym == 256 { return }
            if br.overran { throw .truncated("deflate stream") }
            let li = sym - 257
            guard li < 29 else { throw .corrupt("deflate: bad length symbol") }
            let len = lengthBase[li] + br.bits(lengthExtra[li])
            let ds = try br.decode(dist)
            guard ds < 30 else { throw .corrupt("deflate: bad distance symbol") }
            let d = distBase[ds] + br.bits(distExtra[ds])
            guard d <= out else { throw .corrupt("deflate: distance \(d) reaches before the start") }
            let n = min(len, cap - out)
            if n <= 0 { return }
            var src = out - d
            if d >= n {
                UnsafeMutableRawPointer(o + out).copyMemory(from: o + src, byteCount: n)
                out += n
            } else {
                for _ in 0..<n { o[out] = o[src]; out += 1; src += 1 }
            }
            if n < len { return }
        }
    }
}
