// Per-scan decoding tables in manually owned memory, so the inner loop
// touches no reference-counted storage.

/// A Huffman table flattened for decoding: the 9-bit lookahead, the
/// canonical walk for longer codes, and the combined code + value table
/// (``JPEGFastEntry``).
struct HuffmanLUT {
    /// length << 8 | symbol, 0 = longer code.
    let look: UnsafeMutablePointer<UInt16>
    /// ``JPEGHuffmanTable/fast``, indexed by the next `fastBits` bits.
    let fast: UnsafeMutablePointer<Int32>
    let maxcode: UnsafeMutablePointer<Int>
    let valoffset: UnsafeMutablePointer<Int>
    let values: UnsafeMutablePointer<UInt8>
    let valueCount: Int

    init(_ t: JPEGHuffmanTable) {
        let n = 1 << JPEGHuffmanTable.lookBits, nf = 1 << JPEGHuffmanTable.fastBits
        look = .allocate(capacity: n)
        fast = .allocate(capacity: nf)
        maxcode = .allocate(capacity: 18)
        valoffset = .allocate(capacity: 18)
        values = .allocate(capacity: max(1, t.values.count))
        valueCount = t.values.count
        for i in 0..<n { look[i] = t.look[i] }
        for i in 0..<nf { fast[i] = t.fast[i] }
        for i in 0..<18 { maxcode[i] = t.maxcode[i]; valoffset[i] = t.valoffset[i] }
        for i in 0..<t.values.count { values[i] = t.values[i] }
    }

    func free() {
        look.deallocate(); fast.deallocate(); maxcode.deallocate(); valoffset.deallocate(); values.deallocate()
    }
}

/// What the inner loop needs of one component of the current scan.
struct ScanComponent {
    var plane: UnsafeMutablePointer<UInt8>?
    /// Rows in `plane` (a ring when streaming), and where the current unit row starts in it.
    var planeRows: Int, rowBase: Int
    var stride: Int
    var coefs: UnsafeMutablePointer<Int16>?
    var blocksW: Int
    var h: Int, v: Int
    var dc: HuffmanLUT?
    var ac: HuffmanLUT?
    var quant: UnsafeMutablePointer<Int32>
    var pred: Int
}

extension JPEGBitReader {
    @inline(__always) mutating func decode(_ t: HuffmanLUT) throws(ImageError) -> Int {
        if count < 16 { fill() }
        let e = t.look[Int(acc >> UInt64(64 - JPEGHuffmanTable.lookBits))]
        if e != 0 {
            let len = Int(e >> 8)
            acc <<= UInt64(len)
            count -= len
            return Int(e & 0xFF)
        }
        var len = JPEGHuffmanTable.lookBits + 1
        var code = Int(acc >> UInt64(64 - len))
        while len <= 16 && code > t.maxcode[len] {
            len += 1
            code = Int(acc >> UInt64(64 - len))
        }
        guard len <= 16 else { throw .corrupt("JPEG: bad Huffman code") }
        acc <<= UInt64(len)
        count -= len
        let idx = code + t.valoffset[len]
        guard idx >= 0 && idx < t.valueCount else { throw .corrupt("JPEG: bad Huffman code") }
        return Int(t.values[idx])
    }

    /// Buffers at least 32 bits when fewer are left: enough for any code and its extra bits.
    @inline(__always) mutating func ensure32() {
        if count < 32 { fill() }
    }

    /// The combined-table entry for the next `fastBits` bits (call ``ensure32()`` first).
    @inline(__always) func peekFast(_ t: HuffmanLUT) -> Int {
        Int(t.fast[Int(acc >> UInt64(64 - JPEGHuffmanTable.fastBits))])
    }

    @inline(__always) mutating func skip(_ n: Int) {
        acc <<= UInt64(n)
        count -= n
    }
}

/// The bit reader's buffer copied into locals for a decoding loop, so that it
/// stays in registers: `JPEGBitCursor(reader)` in, ``store(into:)`` out (also
/// before any call that uses the reader itself).
struct JPEGBitCursor {
    let data: UnsafePointer<UInt8>, end: Int
    var acc: UInt64, count: Int, pos: Int

    @inline(__always) init(_ br: JPEGBitReader) {
        data = br.data.baseAddress!
        end = br.data.count
        acc = br.acc
        count = br.count
        pos = br.pos
    }

    @inline(__always) func store(into br: inout JPEGBitReader) {
        br.acc = acc
        br.count = count
        br.pos = pos
    }

    /// Buffers at least 32 bits (a whole code with its extra bits): eight
    /// bytes at once when none of them is 0xFF, else through the reader.
    @inline(__always) mutating func ensure32(_ br: inout JPEGBitReader) {
        guard count < 32 else { return }
        if !br.atMarker && pos &+ 8 <= end {
            let raw = UInt64(bigEndian: UnsafeRawPointer(data + pos).loadUnaligned(as: UInt64.self))
            let inv = ~raw  // a 0xFF byte becomes 0x00
            if (inv &- 0x0101_0101_0101_0101) & ~inv & 0x8080_8080_8080_8080 == 0 {
                let take = (64 &- count) >> 3
                acc |= (raw >> UInt64(count)) & ~(UInt64.max >> UInt64(count &+ take &* 8))
                pos &+= take
                count &+= take &* 8
                return
            }
        }
        store(into: &br)
        br.fillSlowly()
        self = JPEGBitCursor(br)
    }

    /// The combined-table entry (``JPEGFastEntry``) for the next bits.
    @inline(__always) func peekFast(_ fast: UnsafePointer<Int32>) -> Int {
        Int(fast[Int(truncatingIfNeeded: acc >> UInt64(64 - JPEGHuffmanTable.fastBits))])
    }

    @inline(__always) mutating func consume(_ n: Int) {
        acc <<= UInt64(n)
        count &-= n
    }

    /// The next `n` bits, 1 ≤ n ≤ 16 (call ``ensure32(_:)`` first).
    @inline(__always) mutating func bits(_ n: Int) -> Int {
        let v = Int(truncatingIfNeeded: acc >> UInt64(64 &- n))
        consume(n)
        return v
    }
}
