import ArgumentParser
import Foundation
import Repro

/// `repro image FILE... [--json]`: decode images and print a pixel fingerprint.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Decode PNG/JPEG files and print size, format, EXIF orientation and the SHA-256 of the RGB pixels.",
        discussion: """
            The digest (rgb_sha256) is SHA-256 of the decoded RGB bytes (row-major, 3 bytes per pixel), the same as \
            hashlib.sha256(PIL.Image.open(FILE).convert("RGB").tobytes()) with Pillow 13. EXIF orientation is \
            reported, not applied. FILE '-' reads standard input. With --json: one JSON object per file and line \
            (file, format, mode, width, height, channels, exif_orientation, rgb_sha256, and decode_ms with \
            --repeat), or {"file", "error"} for a file that cannot be decoded. Exit status 1 when any file cannot \
            be decoded.
            """
    )

    @Argument(help: "PNG or JPEG files ('-' for standard input).")
    var files: [String]

    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: "Largest width*height accepted (default: Pillow's MAX_IMAGE_PIXELS, 89478485).")
    var maxPixels: Int?

    @Option(name: .customLong("repeat"), help: "Decode each file this many times and report the median decode time (benchmarking).")
    var repeatCount: Int = 1

    func validate() throws {
        guard repeatCount >= 1 else { throw ValidationError("--repeat must be at least 1") }
        if let m = maxPixels, m < 1 { throw ValidationError("--max-pixels must be at least 1") }
        guard files.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input ('-') can be read only once") }
    }

    /// One decoded file (`--json`).
    struct Record: Encodable {
        var file: String, format: String, mode: String, width: Int, height: Int, channels: Int
        var exifOrientation: Int, rgbSha256: String, decodeMs: Double?
    }

    /// A file that could not be read or decoded (`--json`).
    struct Failure: Encodable {
        var file: String, error: String
    }

    /// Reads and decodes `path` (`--repeat` times); the error message does not repeat the path.
    private func decode(_ path: String, options: ImageDecodingOptions) throws(CLIError) -> (DecodedImage, Double?) {
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path) } catch { throw CLIError(error.message(without: path)) }
        var times: [Double] = []
        var decoded: DecodedImage?
        for _ in 0..<repeatCount {
            let t0 = DispatchTime.now().uptimeNanoseconds
            do { decoded = try ImageDecoder.decode(bytes, options: options) } catch { throw CLIError(error.description) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return (decoded!, repeatCount > 1 ? times.sorted()[times.count / 2] : nil)
    }

    func run() throws {
        var guardian = OutputGuard()
        for path in files { guardian.addInput(path) }
        if let path = output.output { try guardian.claimFile(path) }
        let sink = try OutputSink.named(output.output)
        var options = ImageDecodingOptions()
        if let m = maxPixels { options.maxPixels = m }
        var failed = false
        for path in files {
            switch Result(catching: { () throws(CLIError) in try decode(path, options: options) }) {
            case .success(let (d, medianMs)):
                if output.json {
                    try sink.writeLine(JSONOutput.line(Record(
                        file: path, format: d.format.rawValue, mode: d.pillowMode, width: d.image.width,
                        height: d.image.height, channels: d.image.channels, exifOrientation: d.exifOrientation,
                        rgbSha256: d.image.rgbDigest, decodeMs: medianMs.map { ($0 * 1e4).rounded() / 1e4 })))
                } else {
                    try sink.writeLine("\(path): \(d.format.rawValue) \(d.image.width)x\(d.image.height) \(d.pillowMode) "
                        + "channels=\(d.image.channels) orientation=\(d.exifOrientation) rgb_sha256=\(d.image.rgbDigest)"
                        + (medianMs.map { String(format: " decode_ms=%.4f", $0) } ?? ""))
                }
            case .failure(let error):
                failed = true
                if output.json { try sink.writeLine(JSONOutput.line(Failure(file: path, error: error.description))) }
                printError("\(path): error: \(error.description)")
            }
        }
        try sink.close()
        if failed { throw ExitCode(1) }
    }
}
