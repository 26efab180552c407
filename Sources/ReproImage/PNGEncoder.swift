// PNG encoding for overlays and debugging: 8-bit grey, RGB or RGBA,
// non-interlaced, each row filtered with the filter that minimises the sum of
// absolute residuals (ties: the lowest filter number), compressed with the
// deterministic `Deflate`. The same image always gives the same bytes.

import Foundation
import _ReproDigest

extension Image {
    /// The image encoded as PNG (colour type 0, 2 or 6 for 1, 3 or 4 channels).
    ///
    /// ```swift
    /// let png = image.pngData()
    /// try Data(png).write(to: URL(fileURLWithPath: "overlay.png"))
    /// ```
    public func pngData() -> [UInt8] {
        let colorType: UInt8 = channels == 1 ? 0 : (channels == 3 ? 2 : 6)
        let rowBytes = width * channels
        var filtered = [UInt8]()
        filtered.reserveCapacity((rowBytes + 1) * height)
        var candidate = [UInt8](repeating: 0, count: rowBytes)
        var best = [UInt8](repeating: 0, count: rowBytes)
        pixels.withUnsafeBufferPointer { p in
            for y in 0..<height {
                let row = p.baseAddress! + y * rowBytes
                let prior: UnsafePointer<UInt8>? = y > 0 ? row - rowBytes : nil
                var bestType = 0, bestScore = Int.max
                for type in 0...4 {
                    var score = 0
                    for i in 0..<rowBytes {
                        let a = i >= channels ? Int(row[i - channels]) : 0
                        let b = prior.map { Int($0[i]) } ?? 0
                        let c = (i >= channels ? prior.map { Int($0[i - channels]) } : nil) ?? 0
                        let pred: Int
                        switch type {
                        case 0: pred = 0
                        case 1: pred = a
                        case 2: pred = b
                        case 3: pred = (a + b) >> 1
                        default:
                            let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
                            pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                        }
                        let r = UInt8(truncatingIfNeeded: Int(row[i]) - pred)
                        candidate[i] = r
                        score += r < 128 ? Int(r) : 256 - Int(r)
                    }
                    if score < bestScore { bestScore = score; bestType = type; swap(&best, &candidate) }
                }
                filtered.append(UInt8(bestType))
                filtered.append(contentsOf: best)
            }
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func chunk(_ type: String, _ body: [UInt8]) {
            let t = Array(type.utf8)
            let n = body.count
            out += [UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)]
            out += t
            out += body
            let crc = (t + body).withUnsafeBufferPointer { CRC32.checksum($0) }
            out += [UInt8(crc >> 24), UInt8(crc >> 16 & 255), UInt8(crc >> 8 & 255), UInt8(crc & 255)]
        }
        func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        chunk("IHDR", be32(width) + be32(height) + [8, colorType, 0, 0, 0])
        chunk("IDAT", Deflate.zlib(filtered))
        chunk("IEND", [])
        return out
    }

    /// Writes the image as a PNG file.
    ///
    /// ```swift
    /// try image.writePNG(to: "out.png")
    /// ```
    public func writePNG(to path: String) throws(ImageError) {
        do { try Data(pngData()).write(to: URL(fileURLWithPath: path)) } catch { throw .io("\(path): \(error.localizedDescription)") }
    }
}
