// Scanline filters and sample expansion for PNGDecoder.

extension PNGDecoder {
    /// Reverses one scanline's filter in place (PNG filter method 0).
    @inline(__always)
    static func unfilter(type: UInt8, row: UnsafeMutablePointer<UInt8>, prior: UnsafeMutablePointer<UInt8>?,
                         count: Int, bpp: Int) throws(ImageError) {
        switch type {
        case 0:
            return
        case 1:
            var i = bpp
            while i < count { row[i] = row[i] &+ row[i - bpp]; i += 1 }
        case 2:
            guard let up = prior else { return }
            for i in 0..<count { row[i] = row[i] &+ up[i] }
        case 3:
            if let up = prior {
                for i in 0..<min(bpp, count) { row[i] = row[i] &+ (up[i] >> 1) }
                var i = bpp
                while i < count {
                    row[i] = row[i] &+ UInt8((Int(row[i - bpp]) + Int(up[i])) >> 1)
                    i += 1
                }
            } else {
                var i = bpp
                while i < count { row[i] = row[i] &+ (row[i - bpp] >> 1); i += 1 }
            }
        case 4:
            if let up = prior, bpp == 3 || bpp == 4 {
                for i in 0..<min(bpp, count) { row[i] = row[i] &+ up[i] }
                paethPixels(row: row, up: up, count: count, bpp: bpp)
            } else if let up = prior, bpp == 1 {
                // The left neighbour stays in a register (no store-to-load round trip).
                guard count > 0 else { return }
                var a = Int32(row[0] &+ up[0])
                row[0] = UInt8(a)
                var c = Int32(up[0])
                for i in 1..<max(1, count) {
                    let b = Int32(up[i])
                    a = (Int32(row[i]) &+ paethPredictor(a, b, c)) & 255
                    row[i] = UInt8(truncatingIfNeeded: a)
                    c = b
                }
            } else if let up = prior {
                for i in 0..<min(bpp, count) { row[i] = row[i] &+ up[i] }
                var i = bpp
                while i < count {
                    let a = Int32(row[i - bpp]), b = Int32(up[i]), c = Int32(up[i - bpp])
                    row[i] = row[i] &+ UInt8(truncatingIfNeeded: paethPredictor(a, b, c))
                    i += 1
                }
            } else {
                // With no prior row Paeth predicts from the left neighbour (Sub).
                var i = bpp
                while i < count { row[i] = row[i] &+ row[i - bpp]; i += 1 }
            }
        default:
            throw .corrupt("PNG filter type \(type)")
        }
    }

    /// The Paeth predictor without branches: a, then b, then c on ties.
    @inline(__always)
    static func paethPredictor(_ a: Int32, _ b: Int32, _ c: Int32) -> Int32 {
        var pa = b &- c, pb = a &- c
        var pc = pa &+ pb
        pa = (pa ^ (pa &>> 31)) &- (pa &>> 31)
        pb = (pb ^ (pb &>> 31)) &- (pb &>> 31)
        pc = (pc ^ (pc &>> 31)) &- (pc &>> 31)
        let notA = ((pb &- pa) | (pc &- pa)) &>> 31
        let useC = (pc &- pb) &>> 31
        return (a & ~notA) | (notA & ((b & ~useC) | (c & useC)))
    }

    /// Paeth for 3- or 4-byte pixels, one pixel's channels per SIMD4 lane set,
    /// with the predictor chosen by sign masks instead of branches (same
    /// choice, ties to a, then b, as the PNG specification orders them).
    @inline(__always)
    static func paethPixels(row: UnsafeMutablePointer<UInt8>, up: UnsafeMutablePointer<UInt8>, count: Int, bpp: Int) {
        typealias V = SIMD4<Int32>
        @inline(__always) func load(_ p: UnsafeMutablePointer<UInt8>) -> V {
            V(Int32(p[0]), Int32(p[1]), Int32(p[2]), bpp == 4 ? Int32(p[3]) : 0)
        }
        @inline(__always) func absv(_ x: V) -> V { let m = x &>> 31; return (x ^ m) &- m }
        var a = load(row)            // left pixel (already decoded)
        var c = load(up)             // upper-left
        var i = bpp
        while i + bpp <= count {
            let b = load(up + i)
            let pa = absv(b &- c), pb = absv(a &- c), pc = absv(a &+ b &- c &- c)
            let notA = ((pb &- pa) | (pc &- pa)) &>> 31      // -1 where pb < pa or pc < pa
            let useC = (pc &- pb) &>> 31                      // -1 where pc < pb
            let pred = (a & ~notA) | (notA & ((b & ~useC) | (c & useC)))
            let x = (load(row + i) &+ pred) & V(repeating: 255)
            row[i] = UInt8(truncatingIfNeeded: x[0]); row[i + 1] = UInt8(truncatingIfNeeded: x[1])
            row[i + 2] = UInt8(truncatingIfNeeded: x[2])
            if bpp == 4 { row[i + 3] = UInt8(truncatingIfNeeded: x[3]) }
            a = x
            c = b
            i += bpp
        }
    }

    /// Writes `count` pixels of an unfiltered row to `dst` at x0, x0+dx, …
    @inline(__always)
    static func expand(_ h: Header, src: UnsafeMutablePointer<UInt8>, count: Int, dst: UnsafeMutablePointer<UInt8>,
                       x0: Int, dx: Int, channels: Int, palette: UnsafeBufferPointer<UInt8>) {
        let step = dx * channels
        var d = dst + x0 * channels
        switch (h.colorType, h.depth) {
        case (0, 8):
            for i in 0..<count { d[0] = src[i]; d += step }
        case (0, 16):
            for i in 0..<count { d[0] = src[2 * i] == 0 ? src[2 * i + 1] : 255; d += step }
        case (0, _):
            let depth = h.depth, mask = (1 << depth) - 1
            let scale = depth == 1 ? 255 : (depth == 2 ? 85 : 17)
            for i in 0..<count {
                let bit = i * depth
                let v = (Int(src[bit >> 3]) >> (8 - depth - (bit & 7))) & mask
                d[0] = UInt8(v * scale); d += step
            }
        case (2, 8):
            if dx == 1 {
                UnsafeMutableRawPointer(d).copyMemory(from: src, byteCount: count * 3)
            } else {
                for i in 0..<count { d[0] = src[3 * i]; d[1] = src[3 * i + 1]; d[2] = src[3 * i + 2]; d += step }
            }
        case (2, _):
            for i in 0..<count { d[0] = src[6 * i]; d[1] = src[6 * i + 2]; d[2] = src[6 * i + 4]; d += step }
        case (3, _):
            let depth = h.depth, mask = (1 << depth) - 1
            for i in 0..<count {
                let v: Int
                if depth == 8 { v = Int(src[i]) } else {
                    let bit = i * depth
                    v = (Int(src[bit >> 3]) >> (8 - depth - (bit & 7))) & mask
                }
                for c in 0..<channels { d[c] = palette[4 * v + c] }
                d += step
            }
        case (4, 8):
            for i in 0..<count {
                let g = src[2 * i]
                d[0] = g; d[1] = g; d[2] = g; d[3] = src[2 * i + 1]; d += step
            }
        case (4, _):
            for i in 0..<count {
                let g = src[4 * i]
                d[0] = g; d[1] = g; d[2] = g; d[3] = src[4 * i + 2]; d += step
            }
        case (6, 8):
            if dx == 1 {
                UnsafeMutableRawPointer(d).copyMemory(from: src, byteCount: count * 4)
            } else {
                for i in 0..<count {
                    d[0] = src[4 * i]; d[1] = src[4 * i + 1]; d[2] = src[4 * i + 2]; d[3] = src[4 * i + 3]; d += step
                }
            }
        default:
            for i in 0..<count {
                d[0] = src[8 * i]; d[1] = src[8 * i + 2]; d[2] = src[8 * i + 4]; d[3] = src[8 * i + 6]; d += step
            }
        }
    }
}
