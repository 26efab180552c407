// The accurate integer inverse DCT that libjpeg-turbo uses by default
// (JDCT_ISLOW: the Loeffler–Ligtenberg–Moschytz factorisation with 13-bit
// fixed-point constants and 2 extra bits kept between the passes), written
// here from the published algorithm so that decoded samples match bit for bit.

enum JPEGIDCT {
    static let constBits = 13
    static let pass1Bits = 2
    // round(x * 2^13) of the rotation constants.
    static let f0_298631336 = 2446, f0_390180644 = 3196, f0_541196100 = 4433, f0_765366865 = 6270
    static let f0_899976223 = 7373, f1_175875602 = 9633, f1_501321110 = 12299, f1_847759065 = 15137
    static let f1_961570560 = 16069, f2_053119869 = 16819, f2_562915447 = 20995, f3_072711026 = 25172

    /// Output clamp as libjpeg's post-IDCT range-limit table: the descaled
    /// value is masked to 10 bits, then 0...255 after centring, with wrapped
    /// overflow mapping to 255 or 0 exactly as the table does.
    static let rangeLimit: [UInt8] = (0..<1024).map { x -> UInt8 in
        let t = (x + 128) & 1023
        return t < 256 ? UInt8(t) : (t < 640 ? 255 : 0)
    }

    /// A block whose AC coefficients are all zero: every sample is the same,
    /// exactly what ``transform(_:quant:out:stride:workspace:range:)`` computes for it.
    @inline(__always)
    static func transformDC(_ dc: Int16, quant: Int32, out: UnsafeMutablePointer<UInt8>, stride: Int,
                            range: UnsafePointer<UInt8>) {
        let w0 = Int(Int32(truncatingIfNeeded: (Int(dc) * Int(quant)) << pass1Bits))
        let v = range[((w0 + (1 << (pass1Bits + 2))) >> (pass1Bits + 3)) & 1023]
        for r in 0..<8 { (out + r * stride).update(repeating: v, count: 8) }
    }

    /// Dequantises and inverse-transforms one block (coefficients in natural
    /// order), writing 8×8 samples at `out` with row stride `stride`.
    @inline(__always)
    static func transform(_ coef: UnsafePointer<Int16>, quant: UnsafePointer<Int32>, out: UnsafeMutablePointer<UInt8>,
                          stride: Int, workspace ws: UnsafeMutablePointer<Int32>, range: UnsafePointer<UInt8>) {
        // Pass 1: columns -> workspace, scaled by 2^pass1Bits.
        for c in 0..<8 {
            let a1 = Int(coef[8 + c]), a2 = Int(coef[16 + c]), a3 = Int(coef[24 + c]), a4 = Int(coef[32 + c])
            let a5 = Int(coef[40 + c]), a6 = Int(coef[48 + c]), a7 = Int(coef[56 + c])
            if a1 | a2 | a3 | a4 | a5 | a6 | a7 == 0 {
                let dc = Int32(truncatingIfNeeded: (Int(coef[c]) * Int(quant[c])) << pass1Bits)
                for r in 0..<8 { ws[r * 8 + c] = dc }
                continue
            }
            var z2 = a2 * Int(quant[16 + c]), z3 = a6 * Int(quant[48 + c])
            var z1 = (z2 + z3) * f0_541196100
            var tmp2 = z1 - z3 * f1_847759065
            var tmp3 = z1 + z2 * f0_765366865
            z2 = Int(coef[c]) * Int(quant[c]); z3 = a4 * Int(quant[32 + c])
            var tmp0 = (z2 + z3) << constBits
            var tmp1 = (z2 - z3) << constBits
            let tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2
            tmp0 = a7 * Int(quant[56 + c]); tmp1 = a5 * Int(quant[40 + c])
            tmp2 = a3 * Int(quant[24 + c]); tmp3 = a1 * Int(quant[8 + c])
            z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2
            var z4 = tmp1 + tmp3
            let z5 = (z3 + z4) * f1_175875602
            tmp0 *= f0_298631336; tmp1 *= f2_053119869; tmp2 *= f3_072711026; tmp3 *= f1_501321110
            z1 *= -f0_899976223; z2 *= -f2_562915447; z3 *= -f1_961570560; z4 *= -f0_390180644
            z3 += z5; z4 += z5
            tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4
            let s = constBits - pass1Bits, h = 1 << (s - 1)
            ws[c] = Int32(truncatingIfNeeded: (tmp10 + tmp3 + h) >> s)
            ws[56 + c] = Int32(truncatingIfNeeded: (tmp10 - tmp3 + h) >> s)
            ws[8 + c] = Int32(truncatingIfNeeded: (tmp11 + tmp2 + h) >> s)
            ws[48 + c] = Int32(truncatingIfNeeded: (tmp11 - tmp2 + h) >> s)
            ws[16 + c] = Int32(truncatingIfNeeded: (tmp12 + tmp1 + h) >> s)
            ws[40 + c] = Int32(truncatingIfNeeded: (tmp12 - tmp1 + h) >> s)
            ws[24 + c] = Int32(truncatingIfNeeded: (tmp13 + tmp0 + h) >> s)
            ws[32 + c] = Int32(truncatingIfNeeded: (tmp13 - tmp0 + h) >> s)
        }
        // Pass 2: rows -> samples, removing 2^pass1Bits and the factor 8.
        let s = constBits + pass1Bits + 3, h = 1 << (s - 1)
        for r in 0..<8 {
            let w = ws + r * 8
            let o = out + r * stride
            let w0 = Int(w[0])
            if w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7] == 0 {
                let v = range[((w0 + (1 << (pass1Bits + 2))) >> (pass1Bits + 3)) & 1023]
                for k in 0..<8 { o[k] = v }
                continue
            }
            var z2 = Int(w[2]), z3 = Int(w[6])
            var z1 = (z2 + z3) * f0_541196100
            var tmp2 = z1 - z3 * f1_847759065
            var tmp3 = z1 + z2 * f0_765366865
            var tmp0 = (w0 + Int(w[4])) << constBits
            var tmp1 = (w0 - Int(w[4])) << constBits
            let tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2
            tmp0 = Int(w[7]); tmp1 = Int(w[5]); tmp2 = Int(w[3]); tmp3 = Int(w[1])
            z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2
            var z4 = tmp1 + tmp3
            let z5 = (z3 + z4) * f1_175875602
            tmp0 *= f0_298631336; tmp1 *= f2_053119869; tmp2 *= f3_072711026; tmp3 *= f1_501321110
            z1 *= -f0_899976223; z2 *= -f2_562915447; z3 *= -f1_961570560; z4 *= -f0_390180644
            z3 += z5; z4 += z5
            tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4
            o[0] = range[((tmp10 + tmp3 + h) >> s) & 1023]
            o[7] = range[((tmp10 - tmp3 + h) >> s) & 1023]
            o[1] = range[((tmp11 + tmp2 + h) >> s) & 1023]
            o[6] = range[((tmp11 - tmp2 + h) >> s) & 1023]
            o[2] = range[((tmp12 + tmp1 + h) >> s) & 1023]
            o[5] = range[((tmp12 - tmp1 + h) >> s) & 1023]
            o[3] = range[((tmp13 + tmp0 + h) >> s) & 1023]
            o[4] = range[((tmp13 - tmp0 + h) >> s) & 1023]
        }
    }
}

// The same transform, eight columns (pass 1) or eight rows (pass 2) at a
// time in SIMD8<Int32> lanes. Every operation is the scalar one lane by lane;
// with 32-bit wrapping arithmetic the results equal the scalar (64-bit) ones
// whenever no intermediate leaves the 32-bit range, which holds for every
// coefficient an 8-bit-sample encoder can produce (|dequantised| < 2^15).
// `JPEGIDCTTests` checks the two against each other bit for bit.
extension JPEGIDCT {
    typealias V = SIMD8<Int32>

    /// One 8-point inverse DCT on eight lanes: inputs x0…x7, outputs o0…o7
    /// before the final descale (the caller adds rounding and shifts).
    @inline(__always)
    static func butterfly(_ x0: V, _ x1: V, _ x2: V, _ x3: V, _ x4: V, _ x5: V, _ x6: V, _ x7: V)
        -> (V, V, V, V, V, V, V, V) {
        var z1 = (x2 &+ x6) &* V(repeating: Int32(f0_541196100))
        let tmp2e = z1 &+ x6 &* V(repeating: Int32(-f1_847759065))
        let tmp3e = z1 &+ x2 &* V(repeating: Int32(f0_765366865))
        let tmp0e = (x0 &+ x4) &<< V(repeating: Int32(constBits))
        let tmp1e = (x0 &- x4) &<< V(repeating: Int32(constBits))
        let tmp10 = tmp0e &+ tmp3e, tmp13 = tmp0e &- tmp3e, tmp11 = tmp1e &+ tmp2e, tmp12 = tmp1e &- tmp2e
        z1 = x7 &+ x1
        var z2 = x5 &+ x3, z3 = x7 &+ x3, z4 = x5 &+ x1
        let z5 = (z3 &+ z4) &* V(repeating: Int32(f1_175875602))
        var tmp0 = x7 &* V(repeating: Int32(f0_298631336)), tmp1 = x5 &* V(repeating: Int32(f2_053119869))
        var tmp2 = x3 &* V(repeating: Int32(f3_072711026)), tmp3 = x1 &* V(repeating: Int32(f1_501321110))
        z1 = z1 &* V(repeating: Int32(-f0_899976223)); z2 = z2 &* V(repeating: Int32(-f2_562915447))
        z3 = z3 &* V(repeating: Int32(-f1_961570560)); z4 = z4 &* V(repeating: Int32(-f0_390180644))
        z3 = z3 &+ z5; z4 = z4 &+ z5
        tmp0 = tmp0 &+ z1 &+ z3; tmp1 = tmp1 &+ z2 &+ z4; tmp2 = tmp2 &+ z2 &+ z3; tmp3 = tmp3 &+ z1 &+ z4
        return (tmp10 &+ tmp3, tmp11 &+ tmp2, tmp12 &+ tmp1, tmp13 &+ tmp0,
                tmp13 &- tmp0, tmp12 &- tmp1, tmp11 &- tmp2, tmp10 &- tmp3)
    }

    /// Lane-wise widening and narrowing written out so they inline into single
    /// vector instructions (the generic conversions are not inlined).
    @inline(__always) static func widen(_ c: SIMD8<Int16>) -> V {
        var r = V()
        for i in 0..<8 { r[i] = Int32(c[i]) }
        return r
    }

    @inline(__always) static func widen(_ c: SIMD8<UInt8>) -> V {
        var r = V()
        for i in 0..<8 { r[i] = Int32(c[i]) }
        return r
    }

    @inline(__always) static func narrow(_ v: V) -> SIMD8<UInt8> {
        var r = SIMD8<UInt8>()
        for i in 0..<8 { r[i] = UInt8(truncatingIfNeeded: v[i]) }
        return r
    }

    /// Lane-wise min(a, b) for |a - b| < 2^31, without the generic `pointwiseMin`.
    @inline(__always) static func minimum(_ a: V, _ b: V) -> V {
        let d = a &- b
        return b &+ (d & (d &>> V(repeating: 31)))
    }

    /// Transposes an 8×8 matrix held as eight row vectors: three perfect
    /// unshuffles of the 64 elements rotate the 6-bit index (row, column) by
    /// three bits, which swaps row and column.
    @inline(__always)
    static func transpose(_ m: inout (V, V, V, V, V, V, V, V)) {
        @inline(__always) func unshuffle(_ m: (V, V, V, V, V, V, V, V)) -> (V, V, V, V, V, V, V, V) {
            let p0 = SIMD16(lowHalf: m.0, highHalf: m.1), p1 = SIMD16(lowHalf: m.2, highHalf: m.3)
            let p2 = SIMD16(lowHalf: m.4, highHalf: m.5), p3 = SIMD16(lowHalf: m.6, highHalf: m.7)
            return (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf)
        }
        m = unshuffle(unshuffle(unshuffle(m)))
    }

    /// SIMD version of ``transform(_:quant:out:stride:workspace:range:)``.
    @inline(__always)
    static func transformSIMD(_ coef: UnsafePointer<Int16>, quant: UnsafePointer<Int32>, out: UnsafeMutablePointer<UInt8>,
                              stride: Int) {
        @inline(__always) func row(_ r: Int) -> V {
            let c = UnsafeRawPointer(coef + 8 * r).loadUnaligned(as: SIMD8<Int16>.self)
            let q = UnsafeRawPointer(quant + 8 * r).loadUnaligned(as: V.self)
            return widen(c) &* q
        }
        // Pass 1: lanes = columns; results descaled and transposed (lanes = rows).
        let p1 = butterfly(row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
        let s1 = V(repeating: Int32(constBits - pass1Bits)), h1 = V(repeating: Int32(1 << (constBits - pass1Bits - 1)))
        var m = ((p1.0 &+ h1) &>> s1, (p1.1 &+ h1) &>> s1, (p1.2 &+ h1) &>> s1, (p1.3 &+ h1) &>> s1,
                 (p1.4 &+ h1) &>> s1, (p1.5 &+ h1) &>> s1, (p1.6 &+ h1) &>> s1, (p1.7 &+ h1) &>> s1)
        transpose(&m)
        // Pass 2: lanes = rows.
        let p2 = butterfly(m.0, m.1, m.2, m.3, m.4, m.5, m.6, m.7)
        let s2 = V(repeating: Int32(constBits + pass1Bits + 3)), h2 = V(repeating: Int32(1 << (constBits + pass1Bits + 2)))
        // libjpeg's range-limit table, computed: t = (x + 128) & 1023 -> t below 256,
        // 255 below 640, else 0.
        let c128 = V(repeating: 128), mask = V(repeating: 1023), c255 = V(repeating: 255), c639 = V(repeating: 639)
        let sh31 = V(repeating: 31)
        @inline(__always) func limit(_ x: V) -> V {
            let t = (((x &+ h2) &>> s2) &+ c128) & mask
            let wrapped = (c639 &- t) &>> sh31  // -1 where t >= 640
            return minimum(t, c255) & ~wrapped
        }
        // The samples are bytes now, so the final transpose packs instead of
        // shuffling: lane r of `w` holds row r's columns 0-3 as four bytes,
        // lane r of `x` its columns 4-7; one unpack pairs them into the rows.
        let w = unsafeBitCast(limit(p2.0) | limit(p2.1) &<< 8 | limit(p2.2) &<< 16 | limit(p2.3) &<< 24,
                              to: SIMD8<UInt32>.self)
        let x = unsafeBitCast(limit(p2.4) | limit(p2.5) &<< 8 | limit(p2.6) &<< 16 | limit(p2.7) &<< 24,
                              to: SIMD8<UInt32>.self)
        let rows0145 = unsafeBitCast(SIMD8(w[0], x[0], w[1], x[1], w[4], x[4], w[5], x[5]), to: SIMD4<UInt64>.self)
        let rows2367 = unsafeBitCast(SIMD8(w[2], x[2], w[3], x[3], w[6], x[6], w[7], x[7]), to: SIMD4<UInt64>.self)
        @inline(__always) func store(_ r: Int, _ row: UInt64) {
            UnsafeMutableRawPointer(out + r &* stride).storeBytes(of: row, as: UInt64.self)
        }
        store(0, rows0145[0]); store(1, rows0145[1]); store(4, rows0145[2]); store(5, rows0145[3])
        store(2, rows2367[0]); store(3, rows2367[1]); store(6, rows2367[2]); store(7, rows2367[3])
    }
}
