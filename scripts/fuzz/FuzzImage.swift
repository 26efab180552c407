// libFuzzer entry point for ReproImage's decoders (built by scripts/fuzz_image.sh).
// FUZZ_FORMAT selects the decoder: "png" or "jpeg" prefixes the input with that
// format's signature so the fuzzer spends its time inside one decoder; "any"
// passes the bytes unchanged. In "png" mode every chunk's CRC is recomputed
// before decoding, so mutations reach the decoder instead of stopping at the
// CRC check (which the unit tests cover). Every input must end in an image or
// a typed error; a trap, sanitizer report, timeout or out-of-memory is a finding.

import Foundation

let fuzzPrefix: [UInt8] = {
    switch ProcessInfo.processInfo.environment["FUZZ_FORMAT"] ?? "any" {
    case "png": return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    case "jpeg": return [0xFF, 0xD8, 0xFF]
    default: return []
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = fuzzPrefix
    bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: size))
    if fuzzPrefix.count == 8 { fixPNGCRCs(&bytes) }
    var options = ImageDecodingOptions()
    // 256 x 256: a mutated frame header may declare any size up to this, and
    // decoding garbage into a 1-Mpixel JPEG under ASan runs ~100 times per second.
    // The limit logic itself is covered by the unit tests.
    options.maxPixels = 1 << 16
    if let d = try? ImageDecoder.decode(bytes, options: options) {
        // Touch the result so conversions run too.
        _ = d.image.rgb().pixels.count
        _ = d.image.oriented(exif: d.exifOrientation).width
    }
    return 0
}

/// Rewrites the CRC of every complete chunk.
func fixPNGCRCs(_ b: inout [UInt8]) {
    var pos = 8
    while pos + 12 <= b.count {
        let len = Int(b[pos]) << 24 | Int(b[pos + 1]) << 16 | Int(b[pos + 2]) << 8 | Int(b[pos + 3])
        guard len <= b.count - pos - 12 else { return }
        let crc = b.withUnsafeBufferPointer { CRC32.checksum(UnsafeBufferPointer(rebasing: $0[(pos + 4)..<(pos + 8 + len)])) }
        let at = pos + 8 + len
        b[at] = UInt8(crc >> 24); b[at + 1] = UInt8(crc >> 16 & 255); b[at + 2] = UInt8(crc >> 8 & 255); b[at + 3] = UInt8(crc & 255)
        pos = at + 4
    }
}
