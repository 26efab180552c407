import ArgumentParser
import Foundation
import Repro

/// `repro image FILE... [--json]`: decode images and print a pixel fingerprint.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Decode PNG/JPEG files and print size, format, EXIF orientation and the SHA-256 of the RGB pixels.",
        discussion: """
            The digest is SHA-256 of the decoded RGB bytes (row-major, 3 bytes per pixel), the same as
            hashlib.sha256(PIL.Image.open(FILE).convert("RGB").tobytes()) with Pillow 13. EXIF orientation
            is reported, not applied. Exit status 1 when any file cannot be decoded.
            """
    )

    @Argument(help: "PNG or JPEG files.")
    var files: [String]

    @Flag(name: .long, help: "Print one JSON object per file, as a JSON array.")
    var json = false

    @Option(name: .long, help: "Largest width*height accepted (default: Pillow's MAX_IMAGE_PIXELS, 89478485).")
    var maxPixels: Int?

    @Option(name: .customLong("repeat"), help: "Decode each file this many times and report the median decode time (benchmarking).")
    var repeatCount: Int = 1

    func validate() throws {
        guard repeatCount >= 1 else { throw ValidationError("--repeat must be at least 1") }
    }

    func run() throws {
        var options = ImageDecodingOptions()
        if let m = maxPixels { options.maxPixels = m }
        var records: [String] = []
        var failed = false
        for path in files {
            do {
                let bytes: [UInt8]
                do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                    throw ImageError.io("\(path): \(error.localizedDescription)")
                }
                var times: [Double] = []
                var decoded: DecodedImage?
                for _ in 0..<repeatCount {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    decoded = try ImageDecoder.decode(bytes, options: options)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                }
                let d = decoded!
                let medianMs = times.sorted()[times.count / 2]
                let timing = repeatCount > 1 ? String(format: "%.4f", medianMs) : nil
                let rgbDigest = d.image.rgbDigest
                if json {
                    records.append("""
                        {"file":\(imageJSONString(path)),"format":"\(d.format.rawValue)","mode":"\(d.pillowMode)",\
                        "width":\(d.image.width),"height":\(d.image.height),"channels":\(d.image.channels),\
                        "exif_orientation":\(d.exifOrientation),"rgb_sha256":"\(rgbDigest)"\
                        \(timing.map { ",\"decode_ms\":\($0)" } ?? "")}
                        """)
                } else {
                    print("\(path): \(d.format.rawValue) \(d.image.width)x\(d.image.height) \(d.pillowMode) "
                        + "channels=\(d.image.channels) orientation=\(d.exifOrientation) rgb_sha256=\(rgbDigest)"
                        + (timing.map { " decode_ms=\($0)" } ?? ""))
                }
            } catch let error as ImageError {
                failed = true
                if json {
                    records.append("{\"file\":\(imageJSONString(path)),\"error\":\(imageJSONString(error.description))}")
                } else {
                    FileHandle.standardError.write(Data("\(path): error: \(error.description)\n".utf8))
                }
            }
        }
        if json { print("[" + records.joined(separator: ",\n") + "]") }
        if failed { throw ExitCode(1) }
    }
}

/// A JSON string literal for `s`.
fileprivate func imageJSONString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
