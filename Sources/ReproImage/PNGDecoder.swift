// PNG decoding (ISO/IEC 15948) into the samples Pillow 13 produces.
//
// Pillow's modes and how `convert("RGB")` reduces them, which this decoder
// reproduces in its 1/3/4-channel output:
//   grey 1-bit "1" -> 0/255;  grey 2/4-bit "L" -> v*85 / v*17;  grey 16 "I;16" -> min(v, 255)
//   RGB/RGBA/LA 16-bit -> the high byte;  LA -> RGBA (grey copied to R, G, B)
//   palette "P" -> palette colours (RGBA when a tRNS chunk gives alphas)
// A tRNS chunk on grey or RGB images does not change the RGB pixels and is
// not turned into alpha here.

import _ReproDigest

/// Decodes PNG files.
enum PNGDecoder {
    struct Header {
        var width = 0, height = 0, depth = 0, colorType = 0, interlaced = false
        var samplesPerPixel: Int {
            switch colorType { case 0, 3: return 1; case 2: return 3; case 4: return 2; default: return 4 }
        }
        var pillowMode: String {
            switch (colorType, depth) {
            case (0, 1): return "1"
            case (0, 16): return "I;16"
            case (0, _): return "L"
            case (2, _): return "RGB"
            case (3, _): return "P"
            case (4, 8): return "LA"
            default: return "RGBA"
            }
        }
        /// Bytes of one filtered row of `w` pixels, without the filter byte.
        func rowBytes(_ w: Int) -> Int { (w * samplesPerPixel * depth + 7) / 8 }
    }

    static let adam7: [(x0: Int, y0: Int, dx: Int, dy: Int)] =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

    static func be32(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    static func decode(_ buf: UnsafeBufferPointer<UInt8>, options: ImageDecodingOptions) throws(ImageError) -> DecodedImage {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard buf.count >= 8, signature.indices.allSatisfy({ buf[$0] == signature[$0] }) else {
            throw .corrupt("PNG signature")
        }
        var pos = 8
        var header: Header?
        var palette: [UInt8] = []
        var trns: [UInt8]?
        var idat: [UInt8] = []
        var sawIEND = false
        var sawIDAT = false
        while pos < buf.count {
            guard pos + 8 <= buf.count else { throw .truncated("PNG chunk header") }
            let length = be32(buf, pos)
            let typeBytes = (0..<4).map { buf[pos + 4 + $0] }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= 0x7FFF_FFFF else { throw .corrupt("PNG chunk \(type) length \(length)") }
            guard typeBytes.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }) else {
                throw .corrupt("PNG chunk type bytes \(typeBytes)")
            }
            guard pos + 12 + length <= buf.count else { throw .truncated("PNG chunk \(type)") }
            let body = UnsafeBufferPointer(rebasing: buf[(pos + 8)..<(pos + 8 + length)])
            let stored = UInt32(be32(buf, pos + 8 + length))
            let crc = CRC32.checksum(body, continuing: CRC32.checksum(UnsafeBufferPointer(rebasing: buf[(pos + 4)..<(pos + 8)])))
            guard crc == stored else { throw .badCRC(chunk: type) }
            pos += 12 + length
            if header == nil && type != "IHDR" { throw .corrupt("PNG: first chunk is \(type), not IHDR") }
            switch type {
            case "IHDR":
                guard header == nil else { throw .corrupt("PNG: second IHDR") }
                guard length == 13 else { throw .corrupt("PNG IHDR length \(length)") }
                var h = Header()
                h.width = be32(body, 0)
                h.height = be32(body, 4)
                h.depth = Int(body[8])
                h.colorType = Int(body[9])
                guard h.width > 0, h.height > 0, h.width <= 0x7FFF_FFFF, h.height <= 0x7FFF_FFFF else {
                    throw .invalidDimensions(width: h.width, height: h.height)
                }
                let valid: Bool
                switch h.colorType {
                case 0: valid = [1, 2, 4, 8, 16].contains(h.depth)
                case 3: valid = [1, 2, 4, 8].contains(h.depth)
                case 2, 4, 6: valid = h.depth == 8 || h.depth == 16
                default: valid = false
                }
                guard valid else { throw .corrupt("PNG colour type \(h.colorType) with bit depth \(h.depth)") }
                guard body[10] == 0, body[11] == 0 else { throw .unsupported("PNG compression/filter method \(body[10])/\(body[11])") }
                guard body[12] <= 1 else { throw .corrupt("PNG interlace method \(body[12])") }
                h.interlaced = body[12] == 1
                try options.checkSize(width: h.width, height: h.height)
                header = h
            case "PLTE":
                guard length % 3 == 0, length <= 768, length > 0 else { throw .corrupt("PNG PLTE length \(length)") }
                palette = Array(body)
            case "tRNS":
                trns = Array(body)
            case "IDAT":
                if sawIDAT && idat.isEmpty == false && sawIEND { throw .corrupt("PNG: IDAT after IEND") }
                sawIDAT = true
                idat.append(contentsOf: body)
            case "IEND":
                sawIEND = true
            default:
                // Unknown critical chunks (upper-case first letter) cannot be
                // skipped safely by the PNG rules; ancillary ones are ignored.
                if typeBytes[0] < 97 { throw .unsupported("PNG critical chunk \(type)") }
            }
            if sawIEND { break }
        }
        guard let h = header else { throw .truncated("PNG: no IHDR") }
        guard sawIDAT else { throw .truncated("PNG: no image data (IDAT)") }
        if h.colorType == 3 && palette.isEmpty { throw .corrupt("PNG: palette image without PLTE") }
        let image = try pixels(h, idat: idat, palette: palette, trns: trns)
        return DecodedImage(image: image, format: .png, pillowMode: h.pillowMode, exifOrientation: 1, orientationApplied: false)
    }

    /// Inflates, unfilters and expands the scanlines.
    static func pixels(_ h: Header, idat: [UInt8], palette: [UInt8], trns: [UInt8]?) throws(ImageError) -> Image {
        var passes: [(x0: Int, y0: Int, dx: Int, dy: Int, w: Int, h: Int)] = []
        if h.interlaced {
            for p in adam7 {
                let pw = (h.width - p.x0 + p.dx - 1) / p.dx, ph = (h.height - p.y0 + p.dy - 1) / p.dy
                if pw > 0 && ph > 0 { passes.append((p.x0, p.y0, p.dx, p.dy, pw, ph)) }
            }
        } else {
            passes.append((0, 0, 1, 1, h.width, h.height))
        }
        var total = 0
        for p in passes {
            let (bits, o0) = p.w.multipliedReportingOverflow(by: h.samplesPerPixel * h.depth)
            let (rowSize, o1) = ((bits + 7) / 8 + 1).multipliedReportingOverflow(by: p.h)
            let (sum, o2) = total.addingReportingOverflow(rowSize)
            guard !o0, !o1, !o2 else { throw .invalidDimensions(width: h.width, height: h.height) }
            total = sum
        }
        var raw = [UInt8](repeating: 0, count: total)
        try idat.withUnsafeBufferPointer { (src) throws(ImageError) in
            try raw.withUnsafeMutableBufferPointer { (dst) throws(ImageError) in try Inflate.zlib(src, into: dst) }
        }
        let outChannels: Int
        switch h.colorType {
        case 0: outChannels = 1
        case 2: outChannels = 3
        case 3: outChannels = trns == nil ? 3 : 4
        default: outChannels = 4
        }
        // Palette with 256 entries (missing ones black) and alphas (missing ones opaque).
        var pal = [UInt8](repeating: 0, count: 256 * 4)
        for i in 0..<256 {
            if 3 * i + 2 < palette.count {
                pal[4 * i] = palette[3 * i]; pal[4 * i + 1] = palette[3 * i + 1]; pal[4 * i + 2] = palette[3 * i + 2]
            }
            pal[4 * i + 3] = (trns != nil && i < trns!.count) ? trns![i] : 255
        }
        let (pixelCount, o1) = h.width.multipliedReportingOverflow(by: h.height)
        let (sampleCount, o2) = pixelCount.multipliedReportingOverflow(by: outChannels)
        guard !o1, !o2 else { throw .invalidDimensions(width: h.width, height: h.height) }
        var out = [UInt8](repeating: 0, count: sampleCount)
        let bpp = max(1, h.samplesPerPixel * h.depth / 8)
        try raw.withUnsafeMutableBufferPointer { (r) throws(ImageError) in
            try out.withUnsafeMutableBufferPointer { (o) throws(ImageError) in
                var offset = 0
                for p in passes {
                    let rb = h.rowBytes(p.w)
                    for y in 0..<p.h {
                        let row = r.baseAddress! + offset + 1
                        let prior: UnsafeMutablePointer<UInt8>? = y > 0 ? row - (rb + 1) : nil
                        try unfilter(type: r[offset], row: row, prior: prior, count: rb, bpp: bpp)
                        let dst = o.baseAddress! + ((p.y0 + y * p.dy) * h.width) * outChannels
                        pal.withUnsafeBufferPointer { palp in
                            expand(h, src: row, count: p.w, dst: dst, x0: p.x0, dx: p.dx, channels: outChannels, palette: palp)
                        }
                        offset += rb + 1
                    }
                }
            }
        }
        return Image(uncheckedWidth: h.width, height: h.height, channels: outChannels, pixels: out)
    }
}
