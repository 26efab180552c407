// Per-scan decoding tables in manually owned memory, so the inner loop
// touches no reference-counted storage.

/// A Huffman table flattened for decoding: the 9-bit lookahead, the
/// canonical walk for longer codes, and (for AC tables) a lookahead that also
/// holds the coefficient value when code and value bits fit in 9 bits.
struct HuffmanLUT {
    /// length << 8 | symbol, 0 = longer code.
    let look: UnsafeMutablePointer<UInt16>
    /// value << 8 | run << 4 | (code + value bits); 0 = not available.
    let fastAC: UnsafeMutablePointer<Int16>
    let maxcode: UnsafeMutablePointer<Int>
    let valoffset: UnsafeMutablePointer<Int>
    let values: UnsafeMutablePointer<UInt8>
    let valueCount: Int

    init(_ t: JPEGHuffmanTable) {
        let n = 1 << JPEGHuffmanTable.lookBits
        look = .allocate(capacity: n)
        fastAC = .allocate(capacity: n)
        maxcode = .allocate(capacity: 18)
        valoffset = .allocate(capacity: 18)
        values = .allocate(capacity: max(1, t.values.count))
        valueCount = t.values.count
        for i in 0..<n { look[i] = t.look[i] }
        for i in 0..<18 { maxcode[i] = t.maxcode[i]; valoffset[i] = t.valoffset[i] }
        for i in 0..<t.values.count { values[i] = t.values[i] }
        let bits = JPEGHuffmanTable.lookBits
        for i in 0..<n {
            fastAC[i] = 0
            let e = Int(look[i])
            guard e != 0 else { continue }
            let len = e >> 8, rs = e & 0xFF
            let r = rs >> 4, s = rs & 15
            guard s != 0, len + s <= bits else { continue }
            let m = (i >> (bits - len - s)) & ((1 << s) - 1)
            let v = m < (1 << (s - 1)) ? m - (1 << s) + 1 : m
            guard v >= -128, v <= 127 else { continue }
            fastAC[i] = Int16(v * 256 + r * 16 + len + s)
        }
    }

    func free() {
        look.deallocate(); fastAC.deallocate(); maxcode.deallocate(); valoffset.deallocate(); values.deallocate()
    }
}

/// What the inner loop needs of one component of the current scan.
struct ScanComponent {
    var plane: UnsafeMutablePointer<UInt8>
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

    /// The fast AC entry for the next 9 bits (0 when not applicable); fills first.
    @inline(__always) mutating func peekFastAC(_ t: HuffmanLUT) -> Int {
        if count < 16 { fill() }
        return Int(t.fastAC[Int(acc >> UInt64(64 - JPEGHuffmanTable.lookBits))])
    }

    @inline(__always) mutating func skip(_ n: Int) {
        acc <<= UInt64(n)
        count -= n
    }
}
