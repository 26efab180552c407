import Testing
@testable import ReproImage

/// The SIMD inverse DCT, colour conversion and bit reader against their scalar references.
@Suite struct JPEGKernelTests {
    /// Seeded 64-bit LCG (no system randomness).
    struct LCG {
        var state: UInt64
        mutating func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
    }

    @Test func simdIDCTEqualsScalarBitForBit() {
        var rng = LCG(state: 42)
        var coef = [Int16](repeating: 0, count: 64)
        var quant = [Int32](repeating: 1, count: 64)
        var a = [UInt8](repeating: 0, count: 64), b = a
        var ws = [Int32](repeating: 0, count: 64)
        for trial in 0..<20_000 {
            // Quantisers 1...255 and coefficients whose products span the range
            // 8-bit encoders produce (|c * q| < 2^15), sparse and dense blocks.
            for i in 0..<64 { quant[i] = Int32(1 + rng.next() % 255) }
            let density = trial % 4
            for i in 0..<64 {
                let limit = max(1, 32767 / Int(quant[i]))
                let keep = i == 0 || rng.next() % 4 < density
                coef[i] = keep ? Int16(rng.next() % (2 * limit + 1) - limit) : 0
            }
            coef.withUnsafeBufferPointer { c in
                quant.withUnsafeBufferPointer { q in
                    a.withUnsafeMutableBufferPointer { o in
                        JPEGIDCT.transformSIMD(c.baseAddress!, quant: q.baseAddress!, out: o.baseAddress!, stride: 8)
                    }
                    b.withUnsafeMutableBufferPointer { o in
                        ws.withUnsafeMutableBufferPointer { w in
                            JPEGIDCT.rangeLimit.withUnsafeBufferPointer { r in
                                JPEGIDCT.transform(c.baseAddress!, quant: q.baseAddress!, out: o.baseAddress!, stride: 8,
                                                   workspace: w.baseAddress!, range: r.baseAddress!)
                            }
                        }
                    }
                }
            }
            if a != b {
                Issue.record("trial \(trial): SIMD \(a.prefix(8)) scalar \(b.prefix(8))")
                return
            }
        }
    }

    @Test func dcOnlyShortcutEqualsFullTransform() {
        for q in [1, 2, 16, 99, 255] {
            for dc in stride(from: -2048, through: 2047, by: 7) {
                var coef = [Int16](repeating: 0, count: 64)
                coef[0] = Int16(dc)
                let quant = [Int32](repeating: Int32(q), count: 64)
                var full = [UInt8](repeating: 0, count: 64), short = full
                var ws = [Int32](repeating: 0, count: 64)
                JPEGIDCT.rangeLimit.withUnsafeBufferPointer { r in
                    JPEGIDCT.transform(coef, quant: quant, out: &full, stride: 8, workspace: &ws, range: r.baseAddress!)
                    JPEGIDCT.transformDC(Int16(dc), quant: Int32(q), out: &short, stride: 8, range: r.baseAddress!)
                }
                #expect(full == short, "dc \(dc) q \(q)")
            }
        }
    }

    /// The SIMD triangle filters (with their padded edge columns) against the
    /// scalar h2v1 and h2v2 references, every width from 3 to 70 (all lengths
    /// of the 16-column tail), random samples including 0 and 255.
    @Test func simdFancyUpsamplingEqualsScalar() {
        var rng = LCG(state: 7)
        for count in 3...70 {
            for trial in 0..<20 {
                let pick = { (r: inout LCG) -> UInt8 in
                    switch trial % 3 { case 0: UInt8(r.next() & 255); case 1: r.next() % 2 == 0 ? 0 : 255; default: UInt8(200 + r.next() % 56) }
                }
                let near = (0..<count).map { _ in pick(&rng) }, far = (0..<count).map { _ in pick(&rng) }
                let padded = (count + 15) / 16 * 16
                var sumsBase = [Int32](repeating: 0, count: padded + 40)
                var simd = [UInt8](repeating: 0, count: 2 * padded), scalar = [UInt8](repeating: 0, count: 2 * count)
                var refSums = [Int32](repeating: 0, count: count)
                // h2v2: column sums, then the horizontal pass.
                sumsBase.withUnsafeMutableBufferPointer { sb in
                    let sums = sb.baseAddress! + 1
                    JPEGDecoder.columnSums(near, far, count: count, into: sums)
                    for x in 0..<count {
                        refSums[x] = 3 * Int32(near[x]) + Int32(far[x])
                        if sums[x] != refSums[x] { Issue.record("column sum \(x) of \(count)") }
                    }
                    JPEGDecoder.fancyPairs(sums, count: count, out: &simd, bias: (8, 7), shift: 4)
                }
                JPEGDecoder.fancyHV(sums: refSums, count: count, width: 2 * count, out: &scalar)
                if Array(simd[0..<(2 * count)]) != scalar { Issue.record("h2v2, \(count) columns, trial \(trial)"); return }
                // h2v1: the samples themselves.
                sumsBase.withUnsafeMutableBufferPointer { sb in
                    let s = sb.baseAddress! + 1
                    for x in 0..<count { s[x] = Int32(near[x]) }
                    JPEGDecoder.fancyPairs(s, count: count, out: &simd, bias: (1, 2), shift: 2)
                }
                JPEGDecoder.fancyH(sums: nil, src: near, count: count, width: 2 * count, out: &scalar)
                if Array(simd[0..<(2 * count)]) != scalar { Issue.record("h2v1, \(count) columns, trial \(trial)"); return }
            }
        }
    }

    /// Every entry of the combined code + value table equals decoding the same
    /// bits the general way (symbol lookup or canonical walk, then the extra
    /// bits), for random valid Huffman tables, AC and DC; an empty entry only
    /// where the code and its extra bits do not fit (or no code matches).
    @Test func combinedHuffmanTableEqualsGeneralDecoding() throws {
        var rng = LCG(state: 99)
        let fastBits = JPEGHuffmanTable.fastBits
        var checked = 0
        for trial in 0..<60 {
            // Random code-length counts; each length keeps its all-ones code free, as T.81 requires.
            var counts = [Int](repeating: 0, count: 16), room = 1
            for len in 1...16 {
                room *= 2
                counts[len - 1] = min(room - 1, rng.next() % (len < 3 ? 2 : 5 + trial % 7))
                room -= counts[len - 1]
            }
            let isAC = trial % 2 == 0
            var pool = (0..<(isAC ? 256 : 16)).map { UInt8($0) }
            var values: [UInt8] = []
            for _ in 0..<min(counts.reduce(0, +), pool.count) { values.append(pool.remove(at: rng.next() % pool.count)) }
            var total = 0
            for i in 0..<16 { counts[i] = min(counts[i], values.count - total); total += counts[i] }
            let table = try JPEGHuffmanTable(counts: counts, values: values, isAC: isAC)
            let lut = HuffmanLUT(table)
            defer { lut.free() }
            for index in 0..<(1 << fastBits) {
                let e = Int(table.fast[index])
                // The index's bits, then random bits, as a stream without byte stuffing.
                let tail = UInt64(truncatingIfNeeded: rng.next()) & ((1 << UInt64(64 - fastBits)) - 1)
                let word = UInt64(index) << UInt64(64 - fastBits) | tail
                let bytes = (0..<8).map { UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * $0)) } + [UInt8](repeating: 0, count: 8)
                if bytes.contains(0xFF) { continue }
                let general = bytes.withUnsafeBufferPointer { buf -> (symbol: Int, consumed: Int, value: Int)? in
                    var br = JPEGBitReader(buf, at: 0)
                    guard let symbol = try? br.decode(lut) else { return nil }
                    let value = br.receiveExtend(isAC ? symbol & 15 : min(symbol, 16))
                    return (symbol, br.pos * 8 - br.count, value)
                }
                checked += 1
                guard let (symbol, consumed, value) = general else {
                    #expect(e == 0, "trial \(trial) index \(index): entry \(e) for no code")
                    continue
                }
                let run = isAC ? symbol >> 4 : 0, size = isAC ? symbol & 15 : symbol
                if e == 0 {
                    #expect(consumed > fastBits || size > 15, "trial \(trial) index \(index): no entry for symbol \(symbol)")
                } else if e & Int(JPEGFastEntry.value) != 0 {
                    #expect(e & 31 == consumed && (e >> 5) & 15 == run && e >> 16 == value,
                            "trial \(trial) index \(index): entry \(e), symbol \(symbol), \(consumed) bits, value \(value)")
                } else {
                    let flag = run == 15 ? Int(JPEGFastEntry.zeroRun) : Int(JPEGFastEntry.endOfBlock)
                    #expect(isAC && size == 0 && e & flag != 0 && (e >> 5) & 15 == run && e & 31 == consumed,
                            "trial \(trial) index \(index): entry \(e) for symbol \(symbol)")
                }
            }
        }
        #expect(checked > 50_000)
    }

    @Test func simdColourConversionEqualsTables() {
        // Every (Y, Cb, Cr) on a grid through the SIMD and the table path.
        var ys: [UInt8] = [], cbs: [UInt8] = [], crs: [UInt8] = []
        for y in stride(from: 0, through: 255, by: 5) {
            for cb in stride(from: 0, through: 255, by: 3) {
                for cr in stride(from: 0, through: 255, by: 17) { ys.append(UInt8(y)); cbs.append(UInt8(cb)); crs.append(UInt8(cr)) }
            }
        }
        let n = ys.count
        var out = [UInt8](repeating: 0, count: 3 * n)
        var tables = [Int32](repeating: 0, count: 1024)
        let t = JPEGDecoder.ycc
        for i in 0..<256 {
            tables[i] = Int32(t.crR[i]); tables[256 + i] = Int32(t.cbB[i])
            tables[512 + i] = Int32(t.crG[i]); tables[768 + i] = Int32(t.cbG[i])
        }
        var clampTable = (0..<768).map { JPEGDecoder.clamp($0 - 256) }
        clampTable.withUnsafeMutableBufferPointer { cl in
            // Rows of every width up to 40 first (the vector loop stops 10 pixels
            // before the end; the scalar tail writes the rest), then the whole grid.
            var start = 0
            for w in 1...40 where start + w <= n {
                var row = [UInt8](repeating: 0, count: 3 * w)
                JPEGDecoder.yccRow(Array(ys[start..<(start + w)]), Array(cbs[start..<(start + w)]), Array(crs[start..<(start + w)]),
                                   &row, w, tables, UnsafePointer(cl.baseAddress! + 256))
                out.replaceSubrange((3 * start)..<(3 * (start + w)), with: row)
                start += w
            }
            var rest = [UInt8](repeating: 0, count: 3 * (n - start))
            JPEGDecoder.yccRow(Array(ys[start...]), Array(cbs[start...]), Array(crs[start...]), &rest, n - start, tables,
                               UnsafePointer(cl.baseAddress! + 256))
            out.replaceSubrange((3 * start)..<(3 * n), with: rest)
        }
        for i in 0..<n {
            let y = Int(ys[i]), cb = Int(cbs[i]), cr = Int(crs[i])
            let r = JPEGDecoder.clamp(y + t.crR[cr])
            let g = JPEGDecoder.clamp(y + ((t.cbG[cb] + t.crG[cr]) >> 16))
            let b = JPEGDecoder.clamp(y + t.cbB[cb])
            if [out[3 * i], out[3 * i + 1], out[3 * i + 2]] != [r, g, b] {
                Issue.record("Y \(y) Cb \(cb) Cr \(cr): \(out[3 * i]),\(out[3 * i + 1]),\(out[3 * i + 2]) vs \(r),\(g),\(b)")
                return
            }
        }
    }
}
