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
            JPEGDecoder.yccRow(ys, cbs, crs, &out, n, tables, UnsafePointer(cl.baseAddress! + 256))
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
