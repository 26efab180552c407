// A small deterministic DEFLATE compressor (RFC 1951) for PNG encoding:
// greedy LZ77 matching through a hash of the next 3 bytes (one candidate per
// hash slot, window 32 KiB) and the fixed Huffman code. Output depends only on
// the input bytes, never on timing or the machine.

struct DeflateBitWriter {
    var bytes: [UInt8] = []
    var acc: UInt64 = 0
    var count = 0

    /// Appends `n` bits of `value`, least significant first.
    mutating func put(_ value: Int, _ n: Int) {
        acc |= UInt64(value) << UInt64(count)
        count += n
        while count >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: acc))
            acc >>= 8
            count -= 8
        }
    }

    /// Appends a Huffman code (given most significant bit first).
    mutating func putCode(_ code: Int, _ length: Int) {
        var rev = 0, c = code
        for _ in 0..<length { rev = (rev << 1) | (c & 1); c >>= 1 }
        put(rev, length)
    }

    mutating func flush() {
        if count > 0 { bytes.append(UInt8(truncatingIfNeeded: acc)); acc = 0; count = 0 }
    }
}

enum Deflate {
    /// zlib-wrapped compression of `data`.
    static func zlib(_ data: [UInt8]) -> [UInt8] {
        var w = DeflateBitWriter()
        w.bytes = [0x78, 0x01]  // deflate, 32 KiB window, fastest-level flag
        w.put(1, 1)  // final block
        w.put(1, 2)  // fixed Huffman
        data.withUnsafeBufferPointer { compress($0, &w) }
        literalLength(256, &w)
        w.flush()
        var a: UInt32 = 1, b: UInt32 = 0
        for chunk in stride(from: 0, to: data.count, by: 5552) {
            for i in chunk..<min(chunk + 5552, data.count) { a += UInt32(data[i]); b += a }
            a %= 65521; b %= 65521
        }
        let adler = b << 16 | a
        w.bytes += [UInt8(adler >> 24), UInt8(adler >> 16 & 255), UInt8(adler >> 8 & 255), UInt8(adler & 255)]
        return w.bytes
    }

    /// Fixed-code literal/length symbol.
    static func literalLength(_ sym: Int, _ w: inout DeflateBitWriter) {
        switch sym {
        case 0...143: w.putCode(0x30 + sym, 8)
        case 144...255: w.putCode(0x190 + sym - 144, 9)
        case 256...279: w.putCode(sym - 256, 7)
        default: w.putCode(0xC0 + sym - 280, 8)
        }
    }

    static func compress(_ d: UnsafeBufferPointer<UInt8>, _ w: inout DeflateBitWriter) {
        let hashBits = 15
        var head = [Int](repeating: -1, count: 1 << hashBits)
        var i = 0
        let n = d.count
        @inline(__always) func hash(_ p: Int) -> Int {
            let v = Int(d[p]) << 16 | Int(d[p + 1]) << 8 | Int(d[p + 2])
            return (v &* 2_654_435_761) >> 17 & ((1 << hashBits) - 1)
        }
        while i < n {
            var bestLen = 0, bestDist = 0
            if i + 3 <= n {
                let h = hash(i)
                let cand = head[h]
                head[h] = i
                if cand >= 0 && i - cand <= 32768 {
                    var l = 0
                    let maxLen = min(258, n - i)
                    while l < maxLen && d[cand + l] == d[i + l] { l += 1 }
                    if l >= 3 { bestLen = l; bestDist = i - cand }
                }
            }
            if bestLen >= 3 {
                emitMatch(bestLen, bestDist, &w)
                // Index the skipped positions so later matches can find them.
                var j = i + 1
                while j < i + bestLen && j + 3 <= n { head[hash(j)] = j; j += 1 }
                i += bestLen
            } else {
                literalLength(Int(d[i]), &w)
                i += 1
            }
        }
    }

    static func emitMatch(_ len: Int, _ dist: Int, _ w: inout DeflateBitWriter) {
        var li = 28
        while Inflate.lengthBase[li] > len { li -= 1 }
        literalLength(257 + li, &w)
        w.put(len - Inflate.lengthBase[li], Inflate.lengthExtra[li])
        var di = 29
        while Inflate.distBase[di] > dist { di -= 1 }
        w.putCode(di, 5)
        w.put(dist - Inflate.distBase[di], Inflate.distExtra[di])
    }
}
