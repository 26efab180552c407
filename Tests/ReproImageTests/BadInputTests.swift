import Foundation
import Testing
import ReproImage
import _ReproTestSupport

/// A corpus file's bytes.
func corpusBytes(_ name: String) throws -> [UInt8] { [UInt8](try Fixtures.data("images/\(name)")) }

/// Decodes and returns the typed error, or nil when decoding succeeded.
func decodeError(_ bytes: [UInt8], options: ImageDecodingOptions = .init()) -> ImageError? {
    do {
        _ = try ImageDecoder.decode(bytes, options: options)
        return nil
    } catch {
        return error
    }
}

/// Builds a PNG chunk with a correct CRC.
func pngChunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
    let t = Array(type.utf8)
    var out = be32(body.count) + t + body
    out += be32(Int(crc32(t + body)))
    return out
}

func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

/// Offset of the first JPEG marker `m` (bytes FF m).
func markerOffset(_ b: [UInt8], _ m: UInt8) -> Int? {
    (0..<(b.count - 1)).first { b[$0] == 0xFF && b[$0 + 1] == m }
}

@Suite struct BadInputTests {
    @Test func unknownFormats() {
        #expect(decodeError([]) == .unknownFormat)
        #expect(decodeError([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]) == .unknownFormat)  // GIF
        #expect(decodeError(Array("BM not an image".utf8)) == .unknownFormat)
        #expect(decodeError([0xFF, 0xD8]) == .unknownFormat)  // too short to be JPEG
    }

    @Test(arguments: ["q075_420.jpg", "ss420_progressive.jpg", "own_420_rst3.jpg", "cmyk.jpg",
                      "rgba_13x11_d16_i.png", "pal_17x33_d4.png", "photo_camera.png"])
    func everyTruncationIsATypedError(_ name: String) throws {
        let full = try corpusBytes(name)
        // Cut at every byte for small files, at about 300 evenly spread points for larger ones.
        let step = max(1, full.count / 301)
        var failures = 0
        for cut in stride(from: 0, to: full.count - 2, by: step) {
            // A PNG cut exactly before its IEND chunk is complete (Pillow accepts it too).
            if name.hasSuffix(".png") && cut == full.count - 12 {
                #expect(decodeError(Array(full[0..<cut])) == nil)
                continue
            }
            if let e = decodeError(Array(full[0..<cut])) {
                switch e {
                case .truncated, .corrupt, .unknownFormat, .badCRC: break
                default: Issue.record("\(name) cut at \(cut): unexpected \(e)")
                }
            } else {
                failures += 1
                Issue.record("\(name) cut at \(cut) decoded without error")
            }
        }
        #expect(failures == 0)
    }

    @Test func wrongCRCIsReported() throws {
        var b = try corpusBytes("rgb_13x11_d8.png")
        // First IDAT body byte.
        let idat = (0..<(b.count - 4)).first { b[$0] == 0x49 && b[$0 + 1] == 0x44 && b[$0 + 2] == 0x41 && b[$0 + 3] == 0x54 }!
        b[idat + 4] ^= 0x55
        #expect(decodeError(b) == .badCRC(chunk: "IDAT"))
        var h = try corpusBytes("rgb_13x11_d8.png")
        h[16] ^= 1  // IHDR width
        #expect(decodeError(h) == .badCRC(chunk: "IHDR"))
    }

    @Test func absurdDimensionsAreRefusedBeforeAllocating() throws {
        let sig: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        // 100000 x 100000 RGBA: 40 GB if anyone allocated it.
        let ihdr = pngChunk("IHDR", be32(100_000) + be32(100_000) + [8, 6, 0, 0, 0])
        let png = sig + ihdr + pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00]) + pngChunk("IEND", [])
        #expect(decodeError(png) == .tooManyPixels(width: 100_000, height: 100_000, limit: 89_478_485))
        // JPEG 65535 x 65535.
        var jpeg = try corpusBytes("q075_420.jpg")
        let sof = markerOffset(jpeg, 0xC0)!
        jpeg[sof + 5] = 0xFF; jpeg[sof + 6] = 0xFF; jpeg[sof + 7] = 0xFF; jpeg[sof + 8] = 0xFF
        #expect(decodeError(jpeg) == .tooManyPixels(width: 65535, height: 65535, limit: 89_478_485))
        // A configurable limit: 64 x 48 = 3072 pixels against 3071 and 3072.
        var options = ImageDecodingOptions()
        options.maxPixels = 3071
        #expect(decodeError(try corpusBytes("q075_420.jpg"), options: options) == .tooManyPixels(width: 64, height: 48, limit: 3071))
        options.maxPixels = 3072
        #expect(decodeError(try corpusBytes("q075_420.jpg"), options: options) == nil)
        // Zero width.
        let zero = sig + pngChunk("IHDR", be32(0) + be32(5) + [8, 2, 0, 0, 0])
        #expect(decodeError(zero) == .invalidDimensions(width: 0, height: 5))
    }

    @Test func arithmeticLosslessAnd12BitJPEGAreUnsupported() throws {
        let base = try corpusBytes("q075_420.jpg")
        let sof = markerOffset(base, 0xC0)!
        for (m, what) in [(UInt8(0xC9), "arithmetic"), (0xCA, "arithmetic"), (0xC3, "lossless"), (0xC5, "hierarchical")] {
            var b = base
            b[sof + 1] = m
            guard case .unsupported(let text)? = decodeError(b) else { Issue.record("SOF 0x\(m) not refused"); continue }
            #expect(text.contains(what))
        }
        var twelve = base
        twelve[sof + 4] = 12
        guard case .unsupported(let text)? = decodeError(twelve) else { Issue.record("12-bit not refused"); return }
        #expect(text.contains("12-bit"))
    }

    @Test func corruptHuffmanDataIsATypedError() throws {
        var b = try corpusBytes("q075_420.jpg")
        let sos = markerOffset(b, 0xDA)!
        let start = sos + 2 + Int(b[sos + 2]) << 8 + Int(b[sos + 3])
        // All-ones bits are never a valid code (libjpeg reserves them): FF 00 is a stuffed 0xFF byte.
        for i in stride(from: start, to: b.count - 3, by: 2) { b[i] = 0xFF; b[i + 1] = 0x00 }
        guard case .corrupt(let text)? = decodeError(b) else { Issue.record("corrupt Huffman data not refused"); return }
        #expect(text.contains("Huffman"))
    }

    @Test func badMarkersAndSegments() throws {
        let base = try corpusBytes("q075_420.jpg")
        let sof = markerOffset(base, 0xC0)!
        var twoComponents = base
        twoComponents[sof + 9] = 2
        #expect(decodeError(twoComponents) == .unsupported("JPEG with 2 components"))
        var shortLength = base
        shortLength[sof + 2] = 0; shortLength[sof + 3] = 1
        #expect(decodeError(shortLength) == .corrupt("JPEG marker 0xc0 length 1"))
        var badSampling = base
        badSampling[sof + 11] = 0x50  // h = 5
        #expect(decodeError(badSampling) == .corrupt("JPEG sampling factors 5x0"))
        let dqt = markerOffset(base, 0xDB)!
        var badDQT = base
        badDQT[dqt + 4] = 0x25
        #expect(decodeError(badDQT) == .corrupt("JPEG DQT precision/table 2/5"))
        // Wrong restart marker number.
        var rst = try corpusBytes("own_420_rst1.jpg")
        let r1 = markerOffset(rst, 0xD1)!
        rst[r1 + 1] = 0xD5
        #expect(decodeError(rst) == .corrupt("JPEG: expected restart marker RST1"))
        // A second scan after an interleaved baseline scan that held every component
        // (libjpeg: "expected EOI"; the image was converted while the first was decoded).
        let sos = markerOffset(base, 0xDA)!
        let eoi = base.count - 2
        #expect(Array(base[eoi...]) == [0xFF, 0xD9])
        let twoScans = Array(base[0..<eoi]) + Array(base[sos..<eoi]) + [0xFF, 0xD9]
        #expect(decodeError(twoScans) == .corrupt("JPEG: another scan after the complete interleaved baseline scan"))
        // Scan before frame header.
        let noFrame = Array(base[0..<sof]) + Array(base[sos...])
        #expect(decodeError(noFrame) == .corrupt("JPEG: scan (SOS) before the frame header (SOF)"))
        // PNG: unknown critical chunk, bad colour type / depth, bad filter byte.
        let sig: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let ihdr = pngChunk("IHDR", be32(2) + be32(2) + [8, 0, 0, 0, 0])
        #expect(decodeError(sig + ihdr + pngChunk("ABCD", [1])) == .unsupported("PNG critical chunk ABCD"))
        #expect(decodeError(sig + pngChunk("IHDR", be32(2) + be32(2) + [3, 0, 0, 0, 0])) == .corrupt("PNG colour type 0 with bit depth 3"))
        // Filter type 7 on the first row: zlib of [7, 0, 0, 0, 0, 0] (stored block).
        let raw: [UInt8] = [7, 0, 0, 0, 0, 0]
        let z: [UInt8] = [0x78, 0x01, 0x01, 6, 0, 0xF9, 0xFF] + raw + [0, 0, 0, 0]
        #expect(decodeError(sig + ihdr + pngChunk("IDAT", z) + pngChunk("IEND", [])) == .corrupt("PNG filter type 7"))
        #expect(decodeError(sig + ihdr + pngChunk("IEND", [])) == .truncated("PNG: no image data (IDAT)"))
    }

    /// Seeded random mutations of corpus files. Every mutated file must end in one of
    /// the outcomes its format allows:
    ///
    /// - nothing changed (a mutation may write the byte that was there): the original image;
    /// - the signature changed: `unknownFormat` (first 4 PNG / 3 JPEG bytes) or
    ///   `corrupt("PNG signature")`;
    /// - PNG, a byte of the first changed chunk's type, body or CRC changed: exactly
    ///   `badCRC` of that chunk (under its possibly mutated name), or `corrupt` when the
    ///   mutated type is not four letters; a changed length field: `corrupt`,
    ///   `truncated` or `badCRC` (the reader then frames the wrong bytes);
    /// - JPEG (no checksum): an image with sane dimensions (positive, within the pixel
    ///   limit, a buffer of exactly width × height × channels bytes, 1, 3 or 4 channels)
    ///   or one of `truncated`, `corrupt`, `unsupported`, `tooManyPixels`,
    ///   `invalidDimensions` — never `badCRC`, `invalidLayout` or `io`.
    @Test(arguments: ["q050_420.jpg", "ss422_progressive.jpg", "own_411_rst7.jpg", "own_ycck.jpg",
                      "palt_13x11_d2_i.png", "rgba_13x11_d16.png", "gray_17x33_d1_i.png"])
    func seededMutationsEndInAnImageOrTheExpectedError(_ name: String) throws {
        let original = try corpusBytes(name)
        let isPNG = name.hasSuffix(".png")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(original.count)
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: (state >> 33))
        }
        var options = ImageDecodingOptions()
        options.maxPixels = 1 << 20
        let reference = try ImageDecoder.decode(original, options: options).image
        let chunks = isPNG ? pngChunkLayout(original) : []
        var outcomes: [String: Int] = [:]
        for trial in 0..<400 {
            var b = original
            for _ in 0..<(1 + next() % 4) {
                let i = next() % b.count
                switch next() % 3 {
                case 0: b[i] = UInt8(truncatingIfNeeded: next())
                case 1: b[i] ^= UInt8(1 << (next() % 8))
                default: b[i] = [0x00, 0xFF, 0x7F, 0x80][next() % 4]
                }
            }
            let changed = b.indices.filter { b[$0] != original[$0] }
            let what = "\(name) trial \(trial), bytes \(changed) changed"
            let result: Result<Image, ImageError>
            do { result = .success(try ImageDecoder.decode(b, options: options).image) } catch { result = .failure(error) }
            outcomes[result.outcomeName, default: 0] += 1
            guard let first = changed.first else {
                #expect(result == .success(reference), "\(what)")
                continue
            }
            let signature = isPNG ? 8 : 3
            if first < signature {
                let detected = isPNG ? 4 : 3
                if first < detected {
                    #expect(result == .failure(.unknownFormat), "\(what)")
                } else {
                    #expect(result == .failure(.corrupt("PNG signature")), "\(what)")
                }
                continue
            }
            if isPNG {
                guard let chunk = chunks.first(where: { $0.range.contains(first) }) else {
                    Issue.record("\(what): byte outside every chunk of the fixture")
                    continue
                }
                if first < chunk.range.lowerBound + 4 {
                    // The length field: the reader frames other bytes as this chunk.
                    switch result {
                    case .failure(.corrupt), .failure(.truncated), .failure(.badCRC): break
                    default: Issue.record("\(what): length field changed, got \(result)")
                    }
                } else {
                    let typeBytes = Array(b[(chunk.range.lowerBound + 4)..<(chunk.range.lowerBound + 8)])
                    if typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) {
                        #expect(result == .failure(.badCRC(chunk: String(decoding: typeBytes, as: UTF8.self))), "\(what)")
                    } else {
                        #expect(result == .failure(.corrupt("PNG chunk type bytes \(typeBytes)")), "\(what)")
                    }
                }
                continue
            }
            switch result {
            case .success(let image):
                #expect(image.width > 0 && image.height > 0 && image.width * image.height <= 1 << 20, "\(what)")
                #expect([1, 3, 4].contains(image.channels), "\(what)")
                #expect(image.pixels.count == image.width * image.height * image.channels, "\(what)")
            case .failure(.truncated), .failure(.corrupt), .failure(.unsupported), .failure(.tooManyPixels),
                 .failure(.invalidDimensions):
                break
            case .failure(let error):
                Issue.record("\(what): unexpected \(error)")
            }
        }
        // The mutations must really reach the decoder: most of them break the file.
        #expect(outcomes["image", default: 0] < 400, "\(name): \(outcomes)")
        #expect(outcomes.count >= 2, "\(name): \(outcomes)")
    }
}

/// One chunk of a PNG file: its bytes from the length field through the CRC.
struct PNGChunkSpan {
    var type: String
    var range: Range<Int>
}

/// The chunks of a well-formed PNG file, in file order.
func pngChunkLayout(_ b: [UInt8]) -> [PNGChunkSpan] {
    var out: [PNGChunkSpan] = []
    var pos = 8
    while pos + 12 <= b.count {
        let length = Int(b[pos]) << 24 | Int(b[pos + 1]) << 16 | Int(b[pos + 2]) << 8 | Int(b[pos + 3])
        out.append(PNGChunkSpan(type: String(decoding: b[(pos + 4)..<(pos + 8)], as: UTF8.self), range: pos..<(pos + 12 + length)))
        pos += 12 + length
    }
    return out
}

extension Result<Image, ImageError> {
    /// "image", or the error's case name (for the outcome tally).
    var outcomeName: String {
        switch self {
        case .success: return "image"
        case .failure(.unknownFormat): return "unknownFormat"
        case .failure(.truncated): return "truncated"
        case .failure(.corrupt): return "corrupt"
        case .failure(.badCRC): return "badCRC"
        case .failure(.unsupported): return "unsupported"
        case .failure(.tooManyPixels): return "tooManyPixels"
        case .failure(.invalidDimensions): return "invalidDimensions"
        case .failure(.invalidLayout): return "invalidLayout"
        case .failure(.io): return "io"
        }
    }
}
