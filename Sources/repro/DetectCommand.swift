import ArgumentParser
import Foundation
import Repro
import _ReproDigest

/// `repro detect IMAGE...`: torchvision-compatible RetinaNet detections, identical bits on every run.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Detect objects with RetinaNet (torchvision v2/v1 layout); identical output on every run, thread count and batch.",
        discussion: """
            Without --weights the model is initialised from --seed exactly as torch.manual_seed(seed) followed by
            torchvision's builder would (every parameter random: reproducible but meaningless output).
            Without IMAGE a built-in 640x480 procedural sample is used. Each image is processed on its own canvas,
            so results never depend on the other images or on --batch.
            """
    )

    @Argument(help: "PNG or JPEG files (default: the built-in sample scene).")
    var images: [String] = []

    @Option(name: .long, help: "Checkpoint: safetensors or a torch.save .pth (legacy v1 names are upgraded).")
    var weights: String?

    @Option(name: .long, help: "Architecture: v2 (retinanet_resnet50_fpn_v2) or v1 (retinanet_resnet50_fpn).")
    var arch: String = "v2"

    @Option(name: .long, help: ArgumentHelp(
        "Backbone norm epsilon (default: 0 for torchvision's official COCO v1 file, recognised by its SHA-256; 1e-5 otherwise).",
        valueName: "eps"))
    var normEps: Float?

    @Option(name: .long, help: "Seed for the torch-compatible random initialisation (without --weights).")
    var seed: Int64 = 3407

    @Option(name: .long, help: "Worker threads (results are identical for any value).")
    var threads: Int?

    @Option(name: .long, help: "Images per batch (results are identical for any value).")
    var batch: Int = 1

    @Option(name: .long, help: "Candidate score threshold (strict >).")
    var scoreThreshold: Float = 0.05

    @Option(name: .long, help: "Detections kept per image.")
    var maxDetections: Int = 300

    @Option(name: .long, help: "Write JSON records to PATH, or '-' for stdout.")
    var json: String?

    @Option(name: .long, help: "Write PNG overlays into this directory.")
    var draw: String?

    // Benchmark hook (bench/retinanet_bench.py; documented in docs/retinanet.md, hidden from --help).
    @Flag(name: .long, help: ArgumentHelp("Print per-stage timings as JSON instead of detections.", visibility: .hidden))
    var profile = false

    @Option(name: .long, help: ArgumentHelp("Timed runs per image with --profile (after --profile-warmup).", visibility: .hidden))
    var profileRuns: Int = 5

    @Option(name: .long, help: ArgumentHelp("Untimed warm-up runs per image with --profile.", visibility: .hidden))
    var profileWarmup: Int = 1

    func validate() throws {
        guard profileRuns >= 1, profileWarmup >= 0 else { throw ValidationError("--profile-runs must be ≥ 1, --profile-warmup ≥ 0") }
        // "mini" (the small fixture architecture, 160/256 px) is undocumented in --help: it exists so the CLI's
        // tests can run the whole command (drawing included) quickly in debug builds.
        guard arch == "v2" || arch == "v1" || arch == "mini" else { throw ValidationError("--arch must be v2 or v1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard maxDetections >= 0 else { throw ValidationError("--max-detections must be non-negative") }
        guard scoreThreshold.isFinite else { throw ValidationError("--score-threshold must be finite") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if let e = normEps, !(e >= 0 && e.isFinite) { throw ValidationError("--norm-eps must be finite and ≥ 0") }
    }

    func run() throws {
        if let t = threads { Runtime.threads = t }
        var config: RetinaNetConfiguration = arch == "v2" ? .v2 : arch == "v1" ? .v1 : .mini
        config.scoreThreshold = scoreThreshold
        config.detectionsPerImage = maxDetections
        // Cheap failures first: the checkpoint and the images are read before the model is built.
        let checkpoint = try weights.map(readCheckpoint)
        config.normEpsilon = try normEpsilon(style: config.style)
        var inputs: [(name: String, image: Image)] = []
        var failed = false
        if images.isEmpty {
            inputs.append((SampleImage.name, try SampleImage.make()))
        }
        for path in images {
            do { inputs.append((path, try Image(contentsOfFile: path))) } catch {
                FileHandle.standardError.write(Data("\(path): error: \(error.description)\n".utf8))
                failed = true
            }
        }
        if inputs.isEmpty { throw ExitCode(1) }
        let initStart = ContinuousClock.now
        let model = try loadModel(config, checkpoint: checkpoint)
        if profile {
            try runProfile(model, inputs, initSeconds: Self.seconds(ContinuousClock.now - initStart))
            if failed { throw ExitCode(1) }
            return
        }
        var records: [String] = []
        var start = 0
        while start < inputs.count {
            let chunk = Array(inputs[start..<min(start + batch, inputs.count)])
            if inputs.count > 3 {
                FileHandle.standardError.write(Data("detect: images \(start + 1)-\(start + chunk.count) of \(inputs.count)\n".utf8))
            }
            let results = try model.detect(chunk.map(\.image))
            for (input, dets) in zip(chunk, results) {
                records.append(DetectionRecord.json(file: input.name, image: input.image, detections: dets))
                if json != "-" { print(DetectionRecord.summary(file: input.name, detections: dets)) }
                if let dir = draw { try writeOverlay(input.name, input.image, dets, dir) }
            }
            start += chunk.count
        }
        if let json {
            let text = "[\n" + records.joined(separator: ",\n") + "\n]\n"
            if json == "-" { print(text, terminator: "") } else {
                do { try Data(text.utf8).write(to: URL(fileURLWithPath: json)) } catch {
                    throw ValidationError("cannot write \(json): \(error.localizedDescription)")
                }
            }
        }
        if failed { throw ExitCode(1) }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// `--profile`: one JSON object per image on stdout with every run's stage times (seconds),
    /// the model construction time and the process's peak resident memory so far.
    private func runProfile(_ model: RetinaNet, _ inputs: [(name: String, image: Image)], initSeconds: Double) throws {
        func record(_ t: StageTimes) -> String {
            "{\"transform\":\(t.transform),\"body\":\(t.body),\"fpn\":\(t.fpn),\"head\":\(t.head),"
                + "\"postprocess\":\(t.postprocess),\"total\":\(t.total)}"
        }
        for input in inputs {
            var warm: [String] = [], runs: [String] = []
            var detections: [Detection] = []
            for i in 0..<(profileWarmup + profileRuns) {
                let (d, t) = try model.profile(input.image)
                detections = d
                if i < profileWarmup { warm.append(record(t)) } else { runs.append(record(t)) }
            }
            print("{\"file\":\(DetectionRecord.string(input.name)),\"arch\":\"\(arch)\",\"threads\":\(Runtime.threads),"
                  + "\"width\":\(input.image.width),\"height\":\(input.image.height),\"init_seconds\":\(initSeconds),"
                  + "\"detections\":\(detections.count),\"peak_rss_kb\":\(Self.peakResidentKilobytes() ?? -1),"
                  + "\"warmup\":[\(warm.joined(separator: ","))],\"runs\":[\(runs.joined(separator: ","))]}")
        }
    }

    /// `VmHWM` from /proc/self/status (Linux), in kB.
    static func peakResidentKilobytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.dropFirst(6).split(separator: " ").first ?? "")
        }
        return nil
    }

    /// `--norm-eps`, else 0 for torchvision's official COCO v1 file (its SHA-256 starts with the digits
    /// in its torch hub name), else 1e-5 (seeded models and other checkpoints), as torchvision decides.
    private func normEpsilon(style: RetinaNetConfiguration.Style) throws -> Float {
        if let normEps { return normEps }
        guard style == .v1, let weights else { return 1e-5 }
        guard let data = FileManager.default.contents(atPath: weights) else {
            FileHandle.standardError.write(Data("\(weights): error: cannot read the file\n".utf8))
            throw ExitCode(1)
        }
        return RetinaNetConfiguration.isOfficialCOCOV1Checkpoint(sha256: SHA256.hash(data).hex) ? 0 : 1e-5
    }

    private func readCheckpoint(_ path: String) throws -> StateDict {
        do { return try StateDict(contentsOf: path) } catch {
            FileHandle.standardError.write(Data("\(path): error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func loadModel(_ config: RetinaNetConfiguration, checkpoint: StateDict?) throws -> RetinaNet {
        var model = try RetinaNet(configuration: config, seed: seed)
        guard let checkpoint, let weights else {
            FileHandle.standardError.write(Data("""
                warning: no --weights given: every parameter is RANDOM (torch.manual_seed(\(seed)) + torchvision's \
                initialisation of retinanet_resnet50_fpn\(arch == "v2" ? "_v2" : "")). The detections are reproducible \
                but meaningless.\n
                """.utf8))
            return model
        }
        do {
            let report = try model.load(stateDict: checkpoint, strict: true)
            if !report.ignored.isEmpty {
                FileHandle.standardError.write(Data("note: ignored \(report.ignored.count) checkpoint entries (\(report.ignored.prefix(3).joined(separator: ", "))…)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("\(weights): error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        return model
    }

    private func writeOverlay(_ name: String, _ image: Image, _ dets: [Detection], _ dir: String) throws {
        var canvas = image.rgb()
        for d in dets.reversed() {
            canvas.drawDetection(x0: d.box.x1, y0: d.box.y1, x1: d.box.x2, y1: d.box.y2,
                                 label: "\(COCO.name(of: d.label)) \(String(format: "%.2f", Double(d.score)))", classIndex: d.label)
        }
        let base = (URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent) + ".detections.png"
        let url = URL(fileURLWithPath: dir).appendingPathComponent(base)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(canvas.pngData()).write(to: url)
        } catch {
            throw ValidationError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}

/// JSON and text rendering of one image's detections (floats in shortest round-trip form).
enum DetectionRecord {
    static func number(_ v: Float) -> String { v.isFinite ? "\(v)" : "null" }

    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func json(file: String, image: Image, detections: [Detection]) -> String {
        let dets = detections.map { d in
            "{\"bbox\":[\(number(d.box.x1)),\(number(d.box.y1)),\(number(d.box.x2)),\(number(d.box.y2))],"
                + "\"score\":\(number(d.score)),\"label\":\(d.label),\"category\":\(string(COCO.name(of: d.label)))}"
        }
        return "{\"file\":\(string(file)),\"width\":\(image.width),\"height\":\(image.height),"
            + "\"pixel_sha256\":\"\(image.rgbDigest)\",\"detections\":[" + dets.joined(separator: ",") + "]}"
    }

    static func summary(file: String, detections: [Detection]) -> String {
        var lines = ["\(file): \(detections.count) detections"]
        for d in detections.prefix(5) {
            lines.append("  \(COCO.name(of: d.label)) \(d.score) [\(d.box.x1), \(d.box.y1), \(d.box.x2), \(d.box.y2)]")
        }
        if detections.count > 5 { lines.append("  …") }
        return lines.joined(separator: "\n")
    }
}
