#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Repro

/// What a detection run's output depends on, so that it can be checked again: the first
/// record of `repro detect --json`.
struct Provenance: Encodable {
    var reproVersion = ReproBuild.version
    var gitCommit = ReproBuild.commit
    var architecture: String
    /// The checkpoint path and the SHA-256 of its bytes (with `--weights`)…
    var weights: String?
    var weightsSha256: String?
    /// …or the seed of the torch-compatible random initialisation (decimal text: any size).
    var seed: String?
    var scoreThreshold: Float
    var nmsThreshold: Float
    var topKCandidates: Int
    var maxDetections: Int
    var normEps: Float
    var minSize: Int
    var maxSize: Int

    init(config: RetinaNetConfiguration, arch: String, seed: IntegerSeed, weights: String?, weightsSHA256: String?) {
        architecture = arch
        self.weights = weights
        weightsSha256 = weightsSHA256
        self.seed = weights == nil ? seed.description : nil
        scoreThreshold = config.scoreThreshold
        nmsThreshold = config.nmsThreshold
        topKCandidates = config.topKCandidates
        maxDetections = config.detectionsPerImage
        normEps = config.normEpsilon
        minSize = config.minSize
        maxSize = config.maxSize
    }
}

/// Writes `repro detect`'s results record by record as they complete: text summaries, JSON lines
/// (`--json`) or a COCO results array (`--coco`) that is closed at the end, or by a SIGINT/SIGTERM
/// handler if the run is interrupted.
struct DetectionWriter {
    enum Format { case text, json, coco }

    let sink: OutputSink
    let format: Format
    private var records = 0

    init(sink: OutputSink, format: Format, provenance: Provenance) throws(CLIError) {
        self.sink = sink
        self.format = format
        switch format {
        case .text: break
        case .json:
            struct Header: Encodable { var provenance: Provenance }
            try sink.writeLine(JSONOutput.line(Header(provenance: provenance)))
        case .coco:
            try sink.write("[")
            SignalClosing.install(fd: sink.fd, closing: "\n]\n")
        }
    }

    /// One image's results.
    mutating func write(file: String, imageID: Int, image: Image, detections: [Detection]) throws(CLIError) {
        switch format {
        case .text:
            var lines = ["\(file): \(detections.count) detections"]
            for d in detections.prefix(5) {
                lines.append("  \(COCO.name(of: d.label)) \(d.score) [\(d.box.x1), \(d.box.y1), \(d.box.x2), \(d.box.y2)]")
            }
            if detections.count > 5 { lines.append("  …") }
            try sink.writeLine(lines.joined(separator: "\n"))
        case .json:
            try sink.writeLine(Self.jsonRecord(file: file, imageID: imageID, image: image, detections: detections))
        case .coco:
            struct Result: Encodable { var imageId: Int, categoryId: Int, bbox: [Float], score: Float }
            var text = ""
            for d in detections {
                let bbox = [d.box.x1, d.box.y1, d.box.x2 - d.box.x1, d.box.y2 - d.box.y1]
                text += (records == 0 ? "\n" : ",\n")
                    + (try JSONOutput.line(Result(imageId: imageID, categoryId: d.label, bbox: bbox, score: d.score)))
                records += 1
            }
            if !text.isEmpty { try sink.write(text) }   // one write per image: a record is never cut
        }
    }

    /// One image's `--json` record (also what a run manifest hashes as the image's output, in every format).
    static func jsonRecord(file: String, imageID: Int, image: Image, detections: [Detection]) throws(CLIError) -> String {
        struct Item: Encodable { var box: [Float], score: Float, label: Int, category: String }
        struct Record: Encodable {
            var file: String, imageId: Int, width: Int, height: Int, rgbSha256: String, detections: [Item]
        }
        let items = detections.map {
            Item(box: [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2], score: $0.score, label: $0.label,
                 category: COCO.name(of: $0.label))
        }
        return try JSONOutput.line(Record(
            file: file, imageId: imageID, width: image.width, height: image.height,
            rgbSha256: image.rgbDigest, detections: items))
    }

    /// An image that could not be decoded: a `{"file", "error"}` record with `--json`
    /// (the message also goes to stderr in every format).
    func writeFailure(file: String, message: String) throws(CLIError) {
        guard format == .json else { return }
        struct Failure: Encodable { var file: String, error: String }
        try sink.writeLine(JSONOutput.line(Failure(file: file, error: message)))
    }

    /// Closes the COCO array and the output file.
    func finish() throws(CLIError) {
        if format == .coco {
            SignalClosing.uninstall()
            try sink.write("\n]\n")
        }
        try sink.close()
    }
}

/// A SIGINT/SIGTERM handler that writes a closing text (e.g. the `]` of a JSON array) to a file
/// descriptor and exits with status 128 + the signal, so an interrupted run leaves valid output.
/// It calls only `write` and `_exit` (async-signal-safe); the text is prepared beforehand.
enum SignalClosing {
    nonisolated(unsafe) private static var fd: Int32 = -1
    nonisolated(unsafe) private static var bytes: UnsafeMutableBufferPointer<UInt8>?

    static func install(fd: Int32, closing: String) {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: closing.utf8.count)
        _ = buffer.initialize(from: closing.utf8)
        bytes = buffer
        Self.fd = fd
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { sig in
                if SignalClosing.fd >= 0, let b = SignalClosing.bytes {
                    _ = write(SignalClosing.fd, b.baseAddress, b.count)
                }
                _exit(128 + sig)
            }
        }
    }

    /// Restores the default actions (the caller then writes the closing itself).
    static func uninstall() {
        fd = -1
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
