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
