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
