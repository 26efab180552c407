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
            if let up = prior {
                for i in 0..<min(bpp, count) { row[i] = row[i] &+ up[i] }
                var i = bpp
                while i < count {
                    let a = Int(row[i - bpp]), b = Int(up[i]), c = Int(up[i - bpp])
                    let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
                    let pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                    row[i] = row[i] &+ UInt8(pred)
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
