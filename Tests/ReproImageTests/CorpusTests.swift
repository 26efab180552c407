import Foundation
import Testing
import ReproImage
import _ReproTestSupport

/// One file of the Pillow-made corpus (`scripts/make_image_corpus.py`).
struct CorpusEntry: Sendable, CustomStringConvertible {
    var file: String
    var format: String
    var mode: String
    var width: Int
    var height: Int
    var exifOrientation: Int
    var rgbSHA256: String
    var rowCRC32: [UInt32]
    var orientedSHA256: String?
    var description: String { file }

    static func load() throws -> [CorpusEntry] {
        let json = try Fixtures.json("images/manifest.json")
        guard let list = try json["images"].raw as? [[String: Any]] else { throw FixtureError.malformed("images") }
        return try list.map { d in
            guard let file = d["file"] as? String, let format = d["format"] as? String, let mode = d["mode"] as? String,
                  let w = d["width"] as? Int, let h = d["height"] as? Int, let o = d["exif_orientation"] as? Int,
                  let sha = d["rgb_sha256"] as? String, let rows = d["row_crc32"] as? [Int]
            else { throw FixtureError.malformed("manifest entry \(d)") }
            return CorpusEntry(file: file, format: format, mode: mode, width: w, height: h, exifOrientation: o,
                               rgbSHA256: sha, rowCRC32: rows.map { UInt32($0) }, orientedSHA256: d["oriented_sha256"] as? String)
        }
    }

    var bytes: [UInt8] { get throws { [UInt8](try Fixtures.data("images/\(file)")) } }
}

/// The first row whose CRC differs from Pillow's, with our first pixels in it.
func firstDifference(_ rgb: Image, _ e: CorpusEntry) -> String {
    guard rgb.width == e.width, rgb.height == e.height else {
        return "size \(rgb.width)x\(rgb.height), Pillow \(e.width)x\(e.height)"
    }
    let stride = rgb.width * 3
    for y in 0..<rgb.height {
        let row = Array(rgb.pixels[(y * stride)..<((y + 1) * stride)])
        if crc32(row) != e.rowCRC32[y] {
            return "first differing row y=\(y); ours starts \(row.prefix(24).map(String.init))"
        }
    }
    return "rows all match but digest differs"
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return ~c
}

let corpus: [CorpusEntry] = (try? CorpusEntry.load()) ?? []

@Suite struct CorpusTests {
    @Test func manifestIsPresentAndLarge() throws {
        let all = try CorpusEntry.load()
        #expect(all.count > 250)
        #expect(all.contains { $0.format == "PNG" } && all.contains { $0.format == "JPEG" })
    }

    @Test(arguments: corpus.filter { $0.format == "PNG" })
    func pngMatchesPillow(_ e: CorpusEntry) throws {
        try check(e)
    }

    @Test(arguments: corpus.filter { $0.format == "JPEG" })
    func jpegMatchesPillow(_ e: CorpusEntry) throws {
        try check(e)
    }

    func check(_ e: CorpusEntry) throws {
        let d = try ImageDecoder.decode(try e.bytes)
        #expect(d.format.rawValue == e.format)
        #expect(d.pillowMode == e.mode)
        #expect(d.image.width == e.width && d.image.height == e.height)
        #expect(d.exifOrientation == e.exifOrientation)
        let rgb = d.image.rgb()
        let digest = rgb.rgbDigest
        #expect(digest == e.rgbSHA256, "\(e.file): \(firstDifference(rgb, e))")
        if let oriented = e.orientedSHA256 {
            #expect(d.image.oriented(exif: d.exifOrientation).rgbDigest == oriented)
            var options = ImageDecodingOptions()
            options.appliesExifOrientation = true
            let applied = try ImageDecoder.decode(try e.bytes, options: options)
            #expect(applied.orientationApplied && applied.image.rgbDigest == oriented)
        }
    }
}
