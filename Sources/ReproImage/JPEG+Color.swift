// Colour conversion of decoded JPEG samples, as libjpeg-turbo and then Pillow do it.
//
// Colour space (libjpeg-turbo's guess): 1 component = grey; 3 components =
// YCbCr if a JFIF marker is present, else by the Adobe transform flag
// (0 = RGB, otherwise YCbCr), else by component ids ('R','G','B' = RGB,
// anything else YCbCr); 4 components = YCCK when an Adobe marker says
// transform 2 (or any value other than 0), else CMYK.
//
// YCbCr -> RGB uses libjpeg's 16-bit fixed-point tables:
//   R = Y + round(1.40200 * Cr'),  B = Y + round(1.77200 * Cb'),
//   G = Y + ((-0.34414 * Cb' - 0.71414 * Cr' + 1/2) >> 16 in fixed point),
// each clamped to 0...255 (Cb' = Cb - 128). YCCK -> CMYK inverts that RGB.
// Pillow then reads CMYK as "CMYK;I" (inverted) and converts to RGB with
// r = k - k * c / 255 rounded as its MULDIV255 does, where c, k are libjpeg's
// values (Pillow's own C' = 255 - c, K' = 255 - k).

extension JPEGDecoder {
    static let scaleBits = 16
    static let oneHalf = 1 << 15
    static func fix(_ x: Double) -> Int { Int(x * Double(1 << 16) + 0.5) }

    struct YCCTables {
        var crR = [Int](repeating: 0, count: 256), cbB = [Int](repeating: 0, count: 256)
        var crG = [Int](repeating: 0, count: 256), cbG = [Int](repeating: 0, count: 256)
    }

    static let ycc: YCCTables = {
        var t = YCCTables()
        for i in 0..<256 {
            let x = i - 128
            t.crR[i] = (fix(1.40200) * x + oneHalf) >> scaleBits
            t.cbB[i] = (fix(1.77200) * x + oneHalf) >> scaleBits
            t.crG[i] = -fix(0.71414) * x
            t.cbG[i] = -fix(0.34414) * x + oneHalf
        }
        return t
    }()

    @inline(__always) static func clamp(_ v: Int) -> UInt8 { UInt8(truncatingIfNeeded: v < 0 ? 0 : (v > 255 ? 255 : v)) }

    /// Upsamples and converts the decoded planes into the output pixels, and Pillow's mode name.
    static func output(_ s: JPEGState) -> ([UInt8], String) {
        let count = s.width * s.height * (s.components.count == 1 ? 1 : 3)
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { o, initialized in
            let writer = JPEGOutputWriter(s, into: o.baseAddress!)
            writer.emit(upTo: s.height)
            initialized = count
        }
        return (pixels, pillowMode(s))
    }

    /// The mode Pillow gives a JPEG with this many components.
    static func pillowMode(_ s: JPEGState) -> String {
        s.components.count == 1 ? "L" : (s.components.count == 3 ? "RGB" : "CMYK")
    }

    /// One row of YCbCr -> RGB with libjpeg's tables (crR, cbB, crG, cbG, 256 each).
    @inline(__always)
    static func yccRow(_ yp: UnsafePointer<UInt8>, _ cbp: UnsafePointer<UInt8>, _ crp: UnsafePointer<UInt8>,
                       _ d: UnsafeMutablePointer<UInt8>, _ w: Int, _ t: UnsafePointer<Int32>, _ cl: UnsafePointer<UInt8>) {
        let crR = t, cbB = t + 256, crG = t + 512, cbG = t + 768
        var o = d
        // Eight pixels at a time: the tables' formulas evaluated in Int32 lanes
        // (identical values: each entry is exactly that formula).
        typealias V = SIMD8<Int32>
        let fr = V(repeating: Int32(fix(1.40200))), fb = V(repeating: Int32(fix(1.77200)))
        let fgr = V(repeating: Int32(-fix(0.71414))), fgb = V(repeating: Int32(-fix(0.34414)))
        let half = V(repeating: Int32(oneHalf)), c128 = V(repeating: 128), sh = V(repeating: 16)
        var x = 0
        while x + 10 <= w {  // storeRGB writes 4 bytes past the 8 pixels
            let yv = JPEGIDCT.widen(UnsafeRawPointer(yp + x).loadUnaligned(as: SIMD8<UInt8>.self))
            let xb = JPEGIDCT.widen(UnsafeRawPointer(cbp + x).loadUnaligned(as: SIMD8<UInt8>.self)) &- c128
            let xr = JPEGIDCT.widen(UnsafeRawPointer(crp + x).loadUnaligned(as: SIMD8<UInt8>.self)) &- c128
            let r = (yv &+ ((fr &* xr &+ half) &>> sh)).clampedToByte()
            let g = (yv &+ ((fgb &* xb &+ half &+ fgr &* xr) &>> sh)).clampedToByte()
            let b = (yv &+ ((fb &* xb &+ half) &>> sh)).clampedToByte()
            storeRGB(r, g, b, o)
            o += 24
            x += 8
        }
        while x < w {
            let yy = Int32(yp[x]), cb = Int(cbp[x]), cr = Int(crp[x])
            o[0] = cl[Int(yy &+ crR[cr])]
            o[1] = cl[Int(yy &+ ((cbG[cb] &+ crG[cr]) >> 16))]
            o[2] = cl[Int(yy &+ cbB[cb])]
            o += 3
            x += 1
        }
    }

    /// Stores eight pixels from 0...255 lanes as 24 interleaved bytes, and
    /// 4 bytes of scratch after them: each pixel packed into one 32-bit lane,
    /// then 4 pixels to 12 bytes by one byte shuffle per 16-byte half.
    @inline(__always)
    static func storeRGB(_ r: SIMD8<Int32>, _ g: SIMD8<Int32>, _ b: SIMD8<Int32>, _ o: UnsafeMutablePointer<UInt8>) {
        let p = unsafeBitCast(r | g &<< 8 | b &<< 16, to: SIMD32<UInt8>.self)
        @inline(__always) func pack(_ q: SIMD16<UInt8>) -> SIMD16<UInt8> {
            SIMD16(q[0], q[1], q[2], q[4], q[5], q[6], q[8], q[9], q[10], q[12], q[13], q[14], q[15], q[15], q[15], q[15])
        }
        UnsafeMutableRawPointer(o).storeBytes(of: pack(p.lowHalf), as: SIMD16<UInt8>.self)
        UnsafeMutableRawPointer(o + 12).storeBytes(of: pack(p.highHalf), as: SIMD16<UInt8>.self)
    }

    /// One row of CMYK or YCCK to RGB as libjpeg then Pillow compute it.
    static func cmykRow(_ r0: UnsafePointer<UInt8>, _ r1: UnsafePointer<UInt8>, _ r2: UnsafePointer<UInt8>,
                        _ r3: UnsafePointer<UInt8>, _ d: UnsafeMutablePointer<UInt8>, _ w: Int, ycck: Bool,
                        _ t: UnsafePointer<Int32>, _ cl: UnsafePointer<UInt8>) {
        let crR = t, cbB = t + 256, crG = t + 512, cbG = t + 768
        for x in 0..<w {
            var c = Int(r0[x]), m = Int(r1[x]), yl = Int(r2[x])
            let k = Int(r3[x])
            if ycck {
                let yy = Int32(c), cb = m, cr = yl
                c = 255 - Int(cl[Int(yy + crR[cr])])
                m = 255 - Int(cl[Int(yy + ((cbG[cb] + crG[cr]) >> 16))])
                yl = 255 - Int(cl[Int(yy + cbB[cb])])
            }
            // Pillow: inverted CMYK, then r = k' - k' * c' / 255 with k' = 255 - K'.
            d[3 * x] = UInt8(k - mulDiv255(255 - c, k))
            d[3 * x + 1] = UInt8(k - mulDiv255(255 - m, k))
            d[3 * x + 2] = UInt8(k - mulDiv255(255 - yl, k))
        }
    }

    /// Pillow's rounded a * b / 255.
    @inline(__always) static func mulDiv255(_ a: Int, _ b: Int) -> Int {
        let t = a * b + 128
        return ((t >> 8) + t) >> 8
    }
}

extension SIMD8 where Scalar == Int32 {
    /// Lane-wise clamp to 0...255 with shifts and masks (inlines to vector code).
    @inline(__always) func clampedToByte() -> SIMD8<Int32> {
        let pos = self & ~(self &>> SIMD8(repeating: 31))          // max(x, 0)
        return JPEGIDCT.minimum(pos, SIMD8(repeating: 255))
    }
}

/// The colour space libjpeg-turbo infers for a frame (see the top of this file).
enum JPEGColorSpace {
    case gray, ycc, rgb, cmyk, ycck

    init(_ s: JPEGState) {
        switch s.components.count {
        case 1: self = .gray
        case 3:
            if s.sawJFIF { self = .ycc } else if let t = s.adobeTransform { self = t == 0 ? .rgb : .ycc } else {
                self = s.components.map(\.id) == [82, 71, 66] ? .rgb : .ycc
            }
        default:
            if let t = s.adobeTransform, t != 0 { self = .ycck } else { self = .cmyk }
        }
    }
}

/// Upsamples and colour-converts decoded sample rows into the output image,
/// in order, as far as the caller says rows are ready (all at once after a
/// progressive or multi-scan file, one MCU row behind the decoder for a
/// streamed baseline scan).
final class JPEGOutputWriter {
    let components: [JPEGComponent]
    let methods: [JPEGUpsampleMethod]
    let space: JPEGColorSpace
    let width: Int, height: Int, channels: Int, rowLen: Int
    let out: UnsafeMutablePointer<UInt8>
    /// Scratch: one upsampled row per component, column sums (one element of
    /// padding before and 17 after, for fancyPairs), the clamp table and the colour tables.
    let rows: UnsafeMutablePointer<UInt8>
    let sumsBase: UnsafeMutablePointer<Int32>
    let clampBase: UnsafeMutablePointer<UInt8>
    let tables: UnsafeMutablePointer<Int32>
    /// The next output row to write.
    private(set) var nextRow = 0

    /// A writer of `s`'s image into `out` (width × height × 1 or 3 bytes); the
    /// components' planes must be allocated.
    init(_ s: JPEGState, into out: UnsafeMutablePointer<UInt8>) {
        components = s.components
        methods = s.components.map {
            JPEGDecoder.upsampleMethod(h: $0.h, v: $0.v, hmax: s.hmax, vmax: s.vmax, componentWidth: $0.width)
        }
        space = JPEGColorSpace(s)
        width = s.width
        height = s.height
        channels = s.components.count == 1 ? 1 : 3
        rowLen = s.components.map { $0.stride }.max()! * s.hmax + 64
        self.out = out
        rows = .allocate(capacity: rowLen * s.components.count)
        rows.initialize(repeating: 0, count: rowLen * s.components.count)
        sumsBase = .allocate(capacity: rowLen + 32)
        sumsBase.initialize(repeating: 0, count: rowLen + 32)
        clampBase = .allocate(capacity: 768)
        // cl[v] = v clamped to 0...255, for v in -256...511 (every sum below stays in that range).
        for i in 0..<768 { clampBase[i] = JPEGDecoder.clamp(i - 256) }
        tables = .allocate(capacity: 4 * 256)
        let t = JPEGDecoder.ycc
        for i in 0..<256 {
            tables[i] = Int32(t.crR[i]); tables[256 + i] = Int32(t.cbB[i])
            tables[512 + i] = Int32(t.crG[i]); tables[768 + i] = Int32(t.cbG[i])
        }
    }

    deinit {
        rows.deallocate(); sumsBase.deallocate(); clampBase.deallocate(); tables.deallocate()
    }

    /// Writes output rows up to (not including) `end`.
    func emit(upTo end: Int) {
        let w = width, n = components.count
        let cl = UnsafePointer(clampBase + 256), t = UnsafePointer(tables), sums = sumsBase + 1
        var src = (UnsafePointer(rows), UnsafePointer(rows), UnsafePointer(rows), UnsafePointer(rows))
        while nextRow < min(end, height) {
            let y = nextRow
            for ci in 0..<n {
                let r = JPEGDecoder.upsampleRow(components[ci], method: methods[ci], y: y, width: w,
                                                out: rows + ci * rowLen, sums: sums)
                switch ci {
                case 0: src.0 = r
                case 1: src.1 = r
                case 2: src.2 = r
                default: src.3 = r
                }
            }
            let d = out + y * w * channels
            let (r0, r1, r2, r3) = src
            switch space {
            case .gray:
                d.update(from: r0, count: w)
            case .rgb:
                for x in 0..<w { d[3 &* x] = r0[x]; d[3 &* x &+ 1] = r1[x]; d[3 &* x &+ 2] = r2[x] }
            case .ycc:
                JPEGDecoder.yccRow(r0, r1, r2, d, w, t, cl)
            case .cmyk, .ycck:
                JPEGDecoder.cmykRow(r0, r1, r2, r3, d, w, ycck: space == .ycck, t, cl)
            }
            nextRow += 1
        }
    }
}
