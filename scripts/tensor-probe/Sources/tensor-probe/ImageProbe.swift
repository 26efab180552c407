// ReproImage part of the build-invariance probe: decodes every PNG and JPEG
// fixture (baseline, progressive, restart intervals, CMYK/YCCK, every PNG
// colour type and bit depth, interlaced), applies each EXIF orientation,
// draws an overlay and encodes PNG; all the bytes are hashed per file.
import Foundation
import ReproImage
import ReproTensor

/// Decodes, converts, draws on and encodes every image in `folder`.
func probeImages(in folder: String) throws -> ProbeSink {
    var s = ProbeSink()
    let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
        .sorted()
    guard names.count >= 100 else {
        throw ProbeError.missingFixtures("\(folder) holds \(names.count) images; the probe expects the repository's fixtures")
    }
    for name in names {
        let decoded = try ImageDecoder.decode(contentsOfFile: "\(folder)/\(name)")
        var image = decoded.image
        s.add("\(name).decoded", bytes: [UInt8(image.channels)] + image.pixels)
        s.add("\(name).rgb", bytes: image.rgb().pixels)
        s.add("\(name).oriented", bytes: image.oriented(exif: decoded.exifOrientation).pixels)
        image = image.rgb()
        image.drawDetection(x0: 0.5, y0: 0.5, x1: Float(image.width) - 1.5, y1: Float(image.height) * 0.75,
                            label: "probe 0.97", classIndex: name.utf8.count % 80)
        s.add("\(name).png", bytes: image.pngData())
    }
    return s
}

enum ProbeError: Error {
    case missingFixtures(String)
}

/// Prints `probe-random <hash>` and `probe-image <hash>` (and with `verbose`
/// one hash per stream or file). The images come from `--images <folder>`,
/// by default the repository's Tests/Fixtures/images.
func printRandomAndImageHashes(verbose: Bool) throws {
    let args = CommandLine.arguments
    let folder = args.firstIndex(of: "--images").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
        ?? "Tests/Fixtures/images"
    for (label, sink) in [("random", try probeRandom()), ("image", try probeImages(in: folder))] {
        var joined = ""
        for (name, bytes) in sink.sections {
            let h = try Tensor(shape: [bytes.count], scalars: bytes).bitsHash
            if verbose { print("\(label):\(name) \(h)") }
            joined += h
        }
        print("probe-\(label) \(try Tensor(shape: [joined.utf8.count], scalars: Array(joined.utf8)).bitsHash)")
    }
}
