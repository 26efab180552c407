// JPEG decoding (ITU T.81) into the samples Pillow 13 produces through
// libjpeg-turbo with its default settings: baseline, extended-sequential and
// progressive Huffman-coded 8-bit files; 1, 3 or 4 components; any integral
// sampling factors; restart intervals. Arithmetic coding, lossless,
// hierarchical and 12-bit files are refused with `ImageError.unsupported`.

/// One colour component of a frame, with its sample plane (and, for
/// progressive files, its coefficient buffer). Buffers are owned manually.
struct JPEGComponent {
    var id = 0, h = 1, v = 1, tq = 0
    /// Real size in samples: ceil(width * h / hmax) × ceil(height * v / vmax).
    var width = 0, height = 0
    /// Allocated size in blocks (whole MCUs).
    var blocksW = 0, blocksH = 0
    var dcTable = 0, acTable = 0
    var pred = 0
    var stride: Int { blocksW * 8 }
    /// Sample rows: the whole component, or (streamed baseline files) a ring
    /// of `planeRows` rows, three MCU rows, that sample row r occupies at r % planeRows.
    var plane: UnsafeMutablePointer<UInt8>?
    var planeRows = 0
    var coefs: UnsafeMutablePointer<Int16>?

    /// Sample row `r` (which must be one the plane still holds).
    @inline(__always) func row(_ r: Int) -> UnsafeMutablePointer<UInt8> { plane! + (r % planeRows) * stride }
}

/// Decoder state for one file.
final class JPEGState {
    var width = 0, height = 0
    var progressive = false
    var components: [JPEGComponent] = []
    var hmax = 1, vmax = 1, mcusX = 0, mcusY = 0
    var quant = [[Int32]](repeating: [Int32](repeating: 0, count: 64), count: 4)
    var quantDefined = [Bool](repeating: false, count: 4)
    /// Each component's quantisation table, copied when it first appears in a scan (as libjpeg latches it).
    var latchedQuant = [[Int32]?](repeating: nil, count: 4)
    var dcTables = [JPEGHuffmanTable?](repeating: nil, count: 4)
    var acTables = [JPEGHuffmanTable?](repeating: nil, count: 4)
    var restartInterval = 0
    var sawJFIF = false
    var adobeTransform: Int?
    var exifOrientation = 1
    /// The output pixels when the image was converted while its only scan was
    /// decoded (an interleaved baseline scan; see `decodeScan`).
    var streamed: (pixels: [UInt8], mode: String)?

    deinit {
        for c in components {
            c.plane?.deallocate()
            c.coefs?.deallocate()
        }
    }
}

enum JPEGDecoder {
    /// Zig-zag position -> natural (row-major) index, with 16 extra entries
    /// mapping to 63 so that corrupt run lengths cannot index past the block
    /// (libjpeg does the same).
    static let naturalOrder: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
        28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
        54, 47, 55, 62, 63,
    ] + [Int](repeating: 63, count: 16)

    static func be16(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }

    static func decode(_ buf: UnsafeBufferPointer<UInt8>, options: ImageDecodingOptions) throws(ImageError) -> DecodedImage {
        let s = JPEGState()
        var pos = 2
        var frameSeen = false
        var scans = 0
        var eoi = false
        while !eoi {
            // Find the next marker, skipping fill bytes (and, as libjpeg does, stray bytes).
            while pos < buf.count && buf[pos] != 0xFF { pos += 1 }
            while pos < buf.count && buf[pos] == 0xFF { pos += 1 }
            guard pos < buf.count else {
                if scans > 0 { throw .truncated("JPEG: no EOI marker after the scans") }
                throw .truncated("JPEG: file ends before the image data")
            }
            let marker = Int(buf[pos])
            pos += 1
            switch marker {
            case 0xD8, 0x01, 0xD0...0xD7:
                continue  // SOI, TEM, stray RSTn: no payload
            case 0xD9:
                eoi = true
                continue
            default:
                break
            }
            guard pos + 2 <= buf.count else { throw .truncated("JPEG marker 0x\(String(marker, radix: 16)) length") }
            let len = be16(buf, pos)
            guard len >= 2 else { throw .corrupt("JPEG marker 0x\(String(marker, radix: 16)) length \(len)") }
            guard pos + len <= buf.count else { throw .truncated("JPEG segment 0x\(String(marker, radix: 16))") }
            let seg = UnsafeBufferPointer(rebasing: buf[(pos + 2)..<(pos + len)])
            pos += len
            switch marker {
            case 0xC0, 0xC1, 0xC2:
                guard !frameSeen else { throw .corrupt("JPEG: more than one frame header (SOF)") }
                frameSeen = true
                s.progressive = marker == 0xC2
                try readFrame(s, seg, options: options)
            case 0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF:
                throw .unsupported("JPEG lossless or hierarchical coding (SOF\(marker - 0xC0))")
            case 0xC9, 0xCA:
                throw .unsupported("arithmetic-coded JPEG (SOF\(marker - 0xC0))")
            case 0xCC:
                throw .unsupported("arithmetic-coded JPEG (DAC marker)")
            case 0xC4:
                try readHuffmanTables(s, seg)
            case 0xDB:
                try readQuantTables(s, seg)
            case 0xDD:
                guard seg.count == 2 else { throw .corrupt("JPEG DRI length") }
                s.restartInterval = be16(seg, 0)
            case 0xDA:
                guard frameSeen else { throw .corrupt("JPEG: scan (SOS) before the frame header (SOF)") }
                pos = try decodeScan(s, header: seg, data: buf, at: pos)
                scans += 1
            case 0xE0:
                if seg.count >= 5 && Array(seg[0..<5]) == [0x4A, 0x46, 0x49, 0x46, 0] { s.sawJFIF = true }
            case 0xE1:
                if s.exifOrientation == 1, let o = exifOrientation(seg) { s.exifOrientation = o }
            case 0xEE:
                if seg.count >= 12 && Array(seg[0..<5]) == [0x41, 0x64, 0x6F, 0x62, 0x65] { s.adobeTransform = Int(seg[11]) }
            case 0xDC:
                throw .unsupported("JPEG DNL marker")
            default:
                continue  // APPn, COM, JPGn: skipped
            }
        }
        guard frameSeen else { throw .truncated("JPEG: no frame header (SOF)") }
        guard scans > 0 else { throw .truncated("JPEG: no image data (SOS)") }
        let pixels: [UInt8], mode: String
        if let done = s.streamed {
            (pixels, mode) = done
        } else if s.progressive {
            (pixels, mode) = (finishProgressive(s), pillowMode(s))
        } else {
            allocatePlanes(s, streaming: false)
            (pixels, mode) = output(s)
        }
        let image = Image(uncheckedWidth: s.width, height: s.height, channels: s.components.count == 1 ? 1 : 3,
                          pixels: pixels)
        return DecodedImage(image: image, format: .jpeg, pillowMode: mode, exifOrientation: s.exifOrientation,
                            orientationApplied: false)
    }

    static func readFrame(_ s: JPEGState, _ seg: UnsafeBufferPointer<UInt8>, options: ImageDecodingOptions) throws(ImageError) {
        guard seg.count >= 6 else { throw .truncated("JPEG frame header") }
        let precision = Int(seg[0])
        guard precision == 8 else { throw .unsupported("\(precision)-bit JPEG (only 8-bit samples are decoded)") }
        s.height = be16(seg, 1)
        s.width = be16(seg, 3)
        let n = Int(seg[5])
        guard s.height > 0 else { throw .unsupported("JPEG with height defined by a DNL marker (height 0)") }
        guard n == 1 || n == 3 || n == 4 else { throw .unsupported("JPEG with \(n) components") }
        guard seg.count == 6 + 3 * n else { throw .corrupt("JPEG frame header length") }
        try options.checkSize(width: s.width, height: s.height)
        for i in 0..<n {
            var c = JPEGComponent()
            c.id = Int(seg[6 + 3 * i])
            c.h = Int(seg[7 + 3 * i] >> 4)
            c.v = Int(seg[7 + 3 * i] & 15)
            c.tq = Int(seg[8 + 3 * i])
            guard (1...4).contains(c.h), (1...4).contains(c.v) else { throw .corrupt("JPEG sampling factors \(c.h)x\(c.v)") }
            guard c.tq < 4 else { throw .corrupt("JPEG quantisation table selector \(c.tq)") }
            s.components.append(c)
        }
        s.hmax = s.components.map(\.h).max()!
        s.vmax = s.components.map(\.v).max()!
        var blocksInMCU = 0
        for c in s.components {
            guard s.hmax % c.h == 0, s.vmax % c.v == 0 else {
                throw .unsupported("JPEG fractional sampling ratio (\(c.h)x\(c.v) in \(s.hmax)x\(s.vmax))")
            }
            blocksInMCU += c.h * c.v
        }
        guard blocksInMCU <= 10 else { throw .corrupt("JPEG: \(blocksInMCU) blocks per MCU (at most 10 allowed)") }
        s.mcusX = (s.width + 8 * s.hmax - 1) / (8 * s.hmax)
        s.mcusY = (s.height + 8 * s.vmax - 1) / (8 * s.vmax)
        for i in s.components.indices {
            var c = s.components[i]
            c.width = (s.width * c.h + s.hmax - 1) / s.hmax
            c.height = (s.height * c.v + s.vmax - 1) / s.vmax
            c.blocksW = s.mcusX * c.h
            c.blocksH = s.mcusY * c.v
            let samples = c.blocksW * c.blocksH * 64
            if s.progressive {
                c.coefs = .allocate(capacity: samples)
                c.coefs!.initialize(repeating: 0, count: samples)
            }
            s.components[i] = c
        }
    }

    /// Allocates every component's sample rows (zero) unless already done:
    /// whole planes, or rings of three MCU rows when the image is converted
    /// while its scan is decoded.
    static func allocatePlanes(_ s: JPEGState, streaming: Bool) {
        for i in s.components.indices where s.components[i].plane == nil {
            let rows = streaming ? 3 * 8 * s.components[i].v : s.components[i].blocksH * 8
            let samples = rows * s.components[i].stride
            s.components[i].plane = .allocate(capacity: samples)
            s.components[i].plane!.initialize(repeating: 0, count: samples)
            s.components[i].planeRows = rows
        }
    }

    static func readQuantTables(_ s: JPEGState, _ seg: UnsafeBufferPointer<UInt8>) throws(ImageError) {
        var p = 0
        while p < seg.count {
            let pq = Int(seg[p] >> 4), tq = Int(seg[p] & 15)
            guard pq <= 1, tq < 4 else { throw .corrupt("JPEG DQT precision/table \(pq)/\(tq)") }
            let size = pq == 0 ? 64 : 128
            guard p + 1 + size <= seg.count else { throw .truncated("JPEG DQT segment") }
            for k in 0..<64 {
                let q = pq == 0 ? Int32(seg[p + 1 + k]) : Int32(be16(seg, p + 1 + 2 * k))
                s.quant[tq][naturalOrder[k]] = q
            }
            s.quantDefined[tq] = true
            p += 1 + size
        }
    }

    static func readHuffmanTables(_ s: JPEGState, _ seg: UnsafeBufferPointer<UInt8>) throws(ImageError) {
        var p = 0
        while p < seg.count {
            guard p + 17 <= seg.count else { throw .truncated("JPEG DHT segment") }
            let tc = Int(seg[p] >> 4), th = Int(seg[p] & 15)
            guard tc <= 1, th < 4 else { throw .corrupt("JPEG DHT class/table \(tc)/\(th)") }
            let counts = (0..<16).map { Int(seg[p + 1 + $0]) }
            let total = counts.reduce(0, +)
            guard total <= 256, p + 17 + total <= seg.count else { throw .corrupt("JPEG DHT symbol count \(total)") }
            let values = Array(seg[(p + 17)..<(p + 17 + total)])
            let table = try JPEGHuffmanTable(counts: counts, values: values, isAC: tc == 1)
            if tc == 0 { s.dcTables[th] = table } else { s.acTables[th] = table }
            p += 17 + total
        }
    }
}
