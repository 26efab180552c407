// Chroma upsampling as libjpeg-turbo does it with its defaults
// (do_fancy_upsampling = TRUE, which Pillow leaves on; merged upsampling is
// used only when fancy upsampling is off, so it never applies here):
//   2h1v  -> triangle filter along the row ("h2v1 fancy"), when the
//            component is wider than 2 samples, else replication;
//   1h2v  -> triangle filter between rows ("h1v2 fancy");
//   2h2v  -> triangle filter in both directions ("h2v2 fancy"), when wider
//            than 2 samples, else replication;
//   any other integral ratio -> replication.
// Rows above the first and below the last real sample row repeat that row,
// as libjpeg's context-row buffers do.

enum JPEGUpsampleMethod {
    case fullSize, h2v1Fancy, h1v2Fancy, h2v2Fancy, replicate(h: Int, v: Int)
}

extension JPEGDecoder {
    /// Full-resolution row `y` of component `c`: the plane's own row when the
    /// component is full size, else `out` filled by upsampling.
    @inline(__always)
    static func upsampleRow(_ c: borrowing JPEGComponent, method: JPEGUpsampleMethod, y: Int, width: Int,
                            out: UnsafeMutablePointer<UInt8>, sums: UnsafeMutablePointer<Int32>) -> UnsafePointer<UInt8> {
        if case .fullSize = method { return UnsafePointer(c.row(y)) }
        fill(c, method: method, y: y, width: width, out: out, sums: sums)
        return UnsafePointer(out)
    }

    @inline(__always)
    static func fill(_ c: borrowing JPEGComponent, method: JPEGUpsampleMethod, y: Int, width: Int,
                     out: UnsafeMutablePointer<UInt8>, sums: UnsafeMutablePointer<Int32>) {
        let dw = c.width, lastRow = c.height - 1
        switch method {
        case .fullSize:
            out.update(from: c.row(y), count: width)
        case .replicate(let hx, let vx):
            let src = c.row(y / vx)
            var x = 0, i = 0
            while x < width {
                let v = src[i]
                for _ in 0..<hx where x < width { out[x] = v; x += 1 }
                i += 1
            }
        case .h2v1Fancy:
            let src = c.row(y)
            for x in 0..<dw { sums[x] = Int32(src[x]) }
            fancyPairs(sums, count: dw, out: out, bias: (1, 2), shift: 2)
        case .h1v2Fancy:
            let r = y >> 1
            let near = c.row(r)
            let far = c.row(y & 1 == 0 ? max(r - 1, 0) : min(r + 1, lastRow))
            let bias = y & 1 == 0 ? 1 : 2
            for x in 0..<min(width, dw) {
                out[x] = UInt8(truncatingIfNeeded: (3 * Int(near[x]) + Int(far[x]) + bias) >> 2)
            }
        case .h2v2Fancy:
            let r = y >> 1
            let near = c.row(r)
            let far = c.row(y & 1 == 0 ? max(r - 1, 0) : min(r + 1, lastRow))
            columnSums(near, far, count: dw, into: sums)
            fancyPairs(sums, count: dw, out: out, bias: (8, 7), shift: 4)
        }
    }

    /// 3 * near + far for `count` columns (the vertical half of the 2h2v
    /// triangle filter), sixteen at a time, into `sums` (which must hold
    /// `count` rounded up to 16 elements).
    @inline(__always)
    static func columnSums(_ near: UnsafePointer<UInt8>, _ far: UnsafePointer<UInt8>, count: Int,
                           into sums: UnsafeMutablePointer<Int32>) {
        typealias V = SIMD16<Int32>
        var x = 0
        while x + 16 <= count {
            let n = widen16(UnsafeRawPointer(near + x).loadUnaligned(as: SIMD16<UInt8>.self))
            let f = widen16(UnsafeRawPointer(far + x).loadUnaligned(as: SIMD16<UInt8>.self))
            UnsafeMutableRawPointer(sums + x).storeBytes(of: n &* 3 &+ f, as: V.self)
            x += 16
        }
        while x < count {
            sums[x] = 3 &* Int32(near[x]) &+ Int32(far[x])
            x += 1
        }
    }

    @inline(__always) static func widen16(_ c: SIMD16<UInt8>) -> SIMD16<Int32> {
        SIMD16(lowHalf: JPEGIDCT.widen(c.lowHalf), highHalf: JPEGIDCT.widen(c.highHalf))
    }

    /// The horizontal triangle filter, sixteen input columns at a time: from
    /// `count` values s (row samples, or column sums for 2h2v) it writes
    /// 2 * count samples, out[2x] = (3 s[x] + s[x-1] + bias.0) >> shift and
    /// out[2x+1] = (3 s[x] + s[x+1] + bias.1) >> shift, where s[-1] = s[0] and
    /// s[count] = s[count-1]; that is libjpeg's h2v1 (bias 1, 2; shift 2) and
    /// h2v2 (bias 8, 7; shift 4) filters including their edge columns, equal
    /// to ``fancyH(sums:src:count:width:out:)`` and
    /// ``fancyHV(sums:count:width:out:)``. `s` must have one free element
    /// before it and 17 after `count`; `out` room for `count` rounded up to
    /// 16, doubled (the samples past 2 * count are scratch).
    @inline(__always)
    static func fancyPairs(_ s: UnsafeMutablePointer<Int32>, count: Int, out: UnsafeMutablePointer<UInt8>,
                           bias: (Int32, Int32), shift: Int32) {
        typealias V = SIMD16<Int32>
        s[-1] = s[0]
        s[count] = s[count - 1]
        let b0 = V(repeating: bias.0), b1 = V(repeating: bias.1), sh = V(repeating: shift)
        var x = 0
        while x < count {
            let c = UnsafeRawPointer(s + x).loadUnaligned(as: V.self) &* 3
            let l = UnsafeRawPointer(s + x - 1).loadUnaligned(as: V.self)
            let r = UnsafeRawPointer(s + x + 1).loadUnaligned(as: V.self)
            let even = narrow16((c &+ l &+ b0) &>> sh), odd = narrow16((c &+ r &+ b1) &>> sh)
            UnsafeMutableRawPointer(out + 2 * x).storeBytes(of: interleave(even, odd), as: SIMD32<UInt8>.self)
            x += 16
        }
    }

    @inline(__always) static func narrow16(_ v: SIMD16<Int32>) -> SIMD16<UInt8> {
        SIMD16(lowHalf: JPEGIDCT.narrow(v.lowHalf), highHalf: JPEGIDCT.narrow(v.highHalf))
    }

    /// a0 b0 a1 b1 … a15 b15 (spelled out so that it compiles to two unpack instructions).
    @inline(__always) static func interleave(_ a: SIMD16<UInt8>, _ b: SIMD16<UInt8>) -> SIMD32<UInt8> {
        SIMD32(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7],
               a[8], b[8], a[9], b[9], a[10], b[10], a[11], b[11], a[12], b[12], a[13], b[13], a[14], b[14], a[15], b[15])
    }

    /// Horizontal triangle filter of `count` samples into 2*count outputs (cropped to width).
    @inline(__always)
    static func fancyH(sums: UnsafePointer<Int32>?, src: UnsafePointer<UInt8>, count: Int, width: Int,
                       out: UnsafeMutablePointer<UInt8>) {
        // count > 2 is guaranteed by the method choice.
        // `out` holds at least 2 * count samples; those past `width` are ignored.
        @inline(__always) func put(_ i: Int, _ v: Int) { out[i] = UInt8(truncatingIfNeeded: v) }
        put(0, Int(src[0]))
        put(1, (3 * Int(src[0]) + Int(src[1]) + 2) >> 2)
        var x = 1
        var o = out + 2
        while x < count - 1 {
            let v = 3 &* Int32(src[x])
            o[0] = UInt8(truncatingIfNeeded: (v &+ Int32(src[x - 1]) &+ 1) >> 2)
            o[1] = UInt8(truncatingIfNeeded: (v &+ Int32(src[x + 1]) &+ 2) >> 2)
            o += 2
            x += 1
        }
        let last = Int(src[count - 1])
        put(2 * count - 2, (3 * last + Int(src[count - 2]) + 1) >> 2)
        put(2 * count - 1, last)
    }

    /// Horizontal half of the 2h2v triangle filter on column sums 3*near + far.
    @inline(__always)
    static func fancyHV(sums: UnsafePointer<Int32>, count: Int, width: Int, out: UnsafeMutablePointer<UInt8>) {
        @inline(__always) func put(_ i: Int, _ v: Int32) { out[i] = UInt8(truncatingIfNeeded: v) }
        put(0, (sums[0] * 4 + 8) >> 4)
        put(1, (sums[0] * 3 + sums[1] + 7) >> 4)
        var x = 1
        var o = out + 2
        while x < count - 1 {
            let t = sums[x] &* 3
            o[0] = UInt8(truncatingIfNeeded: (t &+ sums[x - 1] &+ 8) >> 4)
            o[1] = UInt8(truncatingIfNeeded: (t &+ sums[x + 1] &+ 7) >> 4)
            o += 2
            x += 1
        }
        put(2 * count - 2, (sums[count - 1] * 3 + sums[count - 2] + 8) >> 4)
        put(2 * count - 1, (sums[count - 1] * 4 + 7) >> 4)
    }

    /// The method libjpeg-turbo picks for a component with factors (h, v) in a frame with (hmax, vmax).
    static func upsampleMethod(h: Int, v: Int, hmax: Int, vmax: Int, componentWidth: Int) -> JPEGUpsampleMethod {
        if h == hmax && v == vmax { return .fullSize }
        if h * 2 == hmax && v == vmax { return componentWidth > 2 ? .h2v1Fancy : .replicate(h: 2, v: 1) }
        if h == hmax && v * 2 == vmax { return .h1v2Fancy }
        if h * 2 == hmax && v * 2 == vmax { return componentWidth > 2 ? .h2v2Fancy : .replicate(h: 2, v: 2) }
        return .replicate(h: hmax / h, v: vmax / v)
    }
}
