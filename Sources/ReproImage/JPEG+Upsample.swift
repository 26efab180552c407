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
        if case .fullSize = method { return UnsafePointer(c.plane! + y * c.stride) }
        fill(c, method: method, y: y, width: width, out: out, sums: sums)
        return UnsafePointer(out)
    }

    @inline(__always)
    static func fill(_ c: borrowing JPEGComponent, method: JPEGUpsampleMethod, y: Int, width: Int,
                     out: UnsafeMutablePointer<UInt8>, sums: UnsafeMutablePointer<Int32>) {
        let stride = c.stride
        let plane = c.plane!
        let dw = c.width, lastRow = c.height - 1
        switch method {
        case .fullSize:
            out.update(from: plane + y * stride, count: width)
        case .replicate(let hx, let vx):
            let src = plane + (y / vx) * stride
            var x = 0, i = 0
            while x < width {
                let v = src[i]
                for _ in 0..<hx where x < width { out[x] = v; x += 1 }
                i += 1
            }
        case .h2v1Fancy:
            let src = plane + y * stride
            fancyH(sums: nil, src: src, count: dw, width: width, out: out)
        case .h1v2Fancy:
            let r = y >> 1
            let near = plane + r * stride
            let far = plane + (y & 1 == 0 ? max(r - 1, 0) : min(r + 1, lastRow)) * stride
            let bias = y & 1 == 0 ? 1 : 2
            for x in 0..<min(width, dw) {
                out[x] = UInt8(truncatingIfNeeded: (3 * Int(near[x]) + Int(far[x]) + bias) >> 2)
            }
        case .h2v2Fancy:
            let r = y >> 1
            let near = plane + r * stride
            let far = plane + (y & 1 == 0 ? max(r - 1, 0) : min(r + 1, lastRow)) * stride
            for x in 0..<dw { sums[x] = 3 &* Int32(near[x]) &+ Int32(far[x]) }
            fancyHV(sums: sums, count: dw, width: width, out: out)
        }
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
