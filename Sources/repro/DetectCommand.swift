import ArgumentParser
import Foundation
import Repro
import _ReproDigest

/// `repro detect IMAGE...`: torchvision-compatible RetinaNet detections, identical bits on every run.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Detect objects with RetinaNet (torchvision v2/v1 layout); identical output on every run, thread count and batch size.",
        discussion: """
            Without --weights the model is initialised from --seed exactly as torch.manual_seed(seed) followed by \
            torchvision's builder would (every parameter random: reproducible but meaningless output). Without IMAGE \
            a built-in 640x480 procedural sample is used; IMAGE '-' reads one image from standard input. Each image is \
            processed on its own canvas, so results never depend on the other images or on --batch-size. Images are \
            decoded when their batch comes, and each result is written as soon as it is ready.

            Output: a summary per image (text), or with --json one JSON object per line: first \
            {"provenance": …} (Repro version and commit, architecture, weights SHA-256 or seed, thresholds), then one \
            record per image with "file", "image_id", "width", "height", "rgb_sha256" and "detections" (each with \
            "box" [x1, y1, x2, y2], "score", "label" and "category"). --coco writes the COCO results format instead: \
            a JSON array of {"image_id", "category_id", "bbox": [x, y, width, height], "score"} (labels are COCO's \
            91-id category ids, as torchvision's); the image id is the file name's number when the name is all \
            digits (COCO's 000000000139.jpg is 139), otherwise the image's position in the list (from 1). The array \
            is closed when the run ends or is interrupted (SIGINT, SIGTERM).

            Every output (--output, --draw and each overlay in it) is checked before the model is built: an output \
            never overwrites an input and two outputs never share a file. Overlays are named after the input's path \
            relative to the inputs' common folder (a/img.png becomes DIR/a/img.detections.png).
            """
    )

    @Argument(help: "PNG or JPEG files, '-' for standard input (default: the built-in sample scene).")
    var images: [String] = []

    @Option(name: .long, help: "Checkpoint: safetensors or a torch.save .pth (legacy v1 names are upgraded).")
    var weights: String?

    @Option(name: .long, help: "Architecture: v2 (retinanet_resnet50_fpn_v2) or v1 (retinanet_resnet50_fpn).")
    var arch: String = "v2"

    @Option(name: .long, help: ArgumentHelp(
        "Remove this prefix from the checkpoint keys that start with it (e.g. module. from DataParallel/DDP).",
        valueName: "prefix"))
    var stripPrefix: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Classes of the classification head (default 91, COCO's; a fine-tuned head has its own).", valueName: "count"))
    var numClasses: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Write a run manifest (inputs, weights, environment, output SHA-256s) to this file, for repro verify.",
        valueName: "path"))
    var manifest: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "Backbone norm epsilon (default: 0 for torchvision's official COCO v1 file, recognised by its SHA-256; 1e-5 otherwise).",
        valueName: "eps"))
    var normEps: Float?

    @OptionGroup var seedOption: SeedOption

    @OptionGroup var threadsOption: ThreadsOption

    @Option(name: .long, parsing: .unconditional, help: "Images per batch (results are identical for any value).")
    var batchSize: Int = 1

    @Option(name: .long, parsing: .unconditional, help: "Candidate score threshold (strict >), in [0, 1).")
    var scoreThreshold: Float = 0.05

    @Option(name: .long, parsing: .unconditional, help: "Detections kept per image (at least 1).")
    var maxDetections: Int = 300

    @OptionGroup var output: OutputOptions

    @Flag(name: .long, help: "Write the COCO results format (a JSON array) instead of text or --json records.")
    var coco = false

    @Option(name: .long, help: ArgumentHelp("Write PNG overlays into this directory.", valueName: "directory"))
    var draw: String?

    @Flag(name: .long, inversion: .prefixedNo, help: "Show progress and an ETA on stderr (default: when stderr is a terminal).")
    var progress: Bool?

    @Option(name: .long, help: ArgumentHelp(
        "Write each image's activation trace (every module's name, op, shape, dtype, SHA-256) as JSON to this file; compare traces with 'repro check diff'.",
        valueName: "path"))
    var trace: String?

    @Flag(name: .long, help: "With --trace, also write every module output to a safetensors file beside the trace (X.json -> X.safetensors).")
    var traceTensors = false

    @Option(name: .long, help: ArgumentHelp(
        "The trace's digest: sha256 (default) or repro-nh-v1 (fast: chunked NH sums combined by SHA-256, see docs/diagnosing.md).",
        valueName: "algorithm"))
    var traceDigest: TraceDigest = .sha256

    // Benchmark hook (bench/retinanet_bench.py; documented in docs/retinanet.md, hidden from --help).
    @Flag(name: .long, help: ArgumentHelp("Print per-stage timings as JSON instead of detections.", visibility: .hidden))
    var profile = false

    @Option(name: .long, help: ArgumentHelp("Timed runs per image with --profile (after --profile-warmup).", visibility: .hidden))
    var profileRuns: Int = 5

    @Option(name: .long, help: ArgumentHelp("Untimed warm-up runs per image with --profile.", visibility: .hidden))
    var profileWarmup: Int = 1

    @Flag(name: .long, help: ArgumentHelp("With --profile, trace every pass (digests only): what --trace costs.", visibility: .hidden))
    var profileTrace = false

    @Option(name: .long, help: ArgumentHelp("With --profile-trace, what the recorder does: hash (default), hold (outputs held, nothing hashed) or observe (entries only).", visibility: .hidden))
    var profileTraceWork: String = "hash"

    static let defaultSeed = IntegerSeed(3407)

    func validate() throws {
        guard profileRuns >= 1, profileWarmup >= 0 else { throw ValidationError("--profile-runs must be ≥ 1, --profile-warmup ≥ 0") }
        // "mini" (the small fixture architecture, 160/256 px) is undocumented in --help: it exists so the CLI's
        // tests can run the whole command (drawing included) quickly in debug builds.
        guard arch == "v2" || arch == "v1" || arch == "mini" else { throw ValidationError("--arch must be v2 or v1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard maxDetections >= 1 else {
            throw ValidationError("--max-detections must be at least 1 (0 would keep no detection at all)")
        }
        guard scoreThreshold >= 0, scoreThreshold < 1 else {
            throw ValidationError("--score-threshold must be in [0, 1): scores are sigmoid outputs in (0, 1), got \(scoreThreshold)")
        }
        guard !traceTensors || trace != nil else { throw ValidationError("--trace-tensors needs --trace PATH") }
        guard traceDigest == .sha256 || trace != nil || profileTrace else { throw ValidationError("--trace-digest needs --trace PATH") }
        guard TraceRecorder.Work(rawValue: profileTraceWork) != nil else { throw ValidationError("--profile-trace-work must be hash, hold or observe") }
        guard !(profile && trace != nil) else { throw ValidationError("--profile and --trace cannot be combined") }
        guard !(output.json && coco) else { throw ValidationError("--json and --coco are two output formats; choose one") }
        guard images.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input ('-') can be read only once") }
        _ = try seedOption.torchSeed(default: Self.defaultSeed)
        if let e = normEps, !(e >= 0 && e.isFinite) { throw ValidationError("--norm-eps must be finite and ≥ 0") }
        if let k = numClasses, k < 1 { throw ValidationError("--num-classes must be at least 1") }
        if stripPrefix == "" { throw ValidationError("--strip-prefix needs a prefix, e.g. --strip-prefix module.") }
        if let manifest {
            guard !manifest.isEmpty else { throw ValidationError("--manifest needs a file path") }
            guard !profile else { throw ValidationError("--manifest records detections; --profile prints timings instead") }
            guard !images.contains("-") else {
                throw ValidationError("--manifest needs image files: standard input ('-') cannot be read again by repro verify")
            }
        }
    }

    func run() throws {
        try execute(recorder: manifest.map { _ in ManifestRecorder.forCommandLine("detect") }, sink: nil)
    }

    /// Runs the detection; `recorder` collects what a manifest records (and `--manifest` writes it),
    /// `replacement` receives the output instead of `--output`/standard output (`repro verify`).
    func execute(recorder: ManifestRecorder?, sink replacement: OutputSink?) throws {
        threadsOption.apply()
        MemoryPolicy.returnFreedBlocksPromptly()
        var config: RetinaNetConfiguration = arch == "v2" ? .v2 : arch == "v1" ? .v1 : .mini
        config.scoreThreshold = scoreThreshold
        config.detectionsPerImage = maxDetections
        if let numClasses { config.numClasses = numClasses }
        let seed = Int64(bitPattern: try seedOption.torchSeed(default: Self.defaultSeed))
        recorder?.seeds["model"] = seedOption.value(default: Self.defaultSeed).description

        // 1. Inputs: missing files are reported now; images are decoded later, batch by batch.
        var failed = false
        var inputs: [DetectionInput] = []
        if images.isEmpty { inputs.append(.sample) }
        for path in images {
            if path == "-" { inputs.append(.standardInput); continue }
            if access(path, R_OK) != 0 {
                printError(CLIError.posix(path, "error: cannot read the image").description)
                failed = true
            } else {
                inputs.append(.file(path))
            }
        }
        if inputs.isEmpty { throw ExitCode(1) }
        let ids = try DetectionInput.imageIDs(inputs)

        // 2. Outputs, all checked before the (slow) model is built.
        var guardian = OutputGuard()
        for case .file(let path) in inputs { guardian.addInput(path) }
        if let weights { guardian.addInput(weights) }
        let overlays = try draw.map { dir in try planOverlays(inputs, in: dir, guardian: &guardian) }
        if let path = output.output { try guardian.claimFile(path) }
        if let manifest { try guardian.claimFile(manifest) }
        if let trace {
            try guardian.claimFile(trace)
            if traceTensors { try guardian.claimFile(TraceOutput.tensorsPath(for: trace)) }
        }
        let sink = try replacement ?? OutputSink.named(output.output)

        // 3. The model. The checkpoint's SHA-256 is hashed on a thread of its own while the model is
        // built, and waited for where it is first needed, before any output is written.
        let initStart = ContinuousClock.now
        var phases = InitPhases()
        let checkpoint = try weights.map(readCheckpoint)
        if checkpoint != nil { phases.read = ContinuousClock.now - initStart }
        let tensorsSHA256 = recorder != nil ? checkpoint?.dict.canonicalSHA256 : nil
        // Norm epsilon as torchvision decides it: 0 only for its official COCO v1 file (recognised by its
        // SHA-256), 1e-5 for seeded models and other checkpoints; --norm-eps overrides both.
        if let normEps {
            config.normEpsilon = normEps
        } else if config.style == .v1, let sha = try checkpoint?.digest.value(),
                  RetinaNetConfiguration.isOfficialCOCOV1Checkpoint(sha256: sha) {
            config.normEpsilon = 0
        }
        let model = try loadModel(config, seed: seed, checkpoint: checkpoint?.loadable, times: &phases.loading)
        let weightsSHA256 = try checkpoint?.digest.value()
        if let weights, let weightsSHA256, let tensorsSHA256 {
            recorder?.recordWeights(path: weights, fileSHA256: weightsSHA256, tensorsSHA256: tensorsSHA256)
        }
        if profile {
            phases.total = ContinuousClock.now - initStart
            if let (hashing, waited) = checkpoint?.digest.seconds { (phases.sha256, phases.sha256Wait) = (hashing, waited) }
            try runProfile(model, inputs, sink: sink, phases: phases)
            try sink.close()
            if failed { throw ExitCode(1) }
            return
        }

        // 4. Batches: decode, detect, write each record at once.
        var writer = try DetectionWriter(
            sink: sink, format: coco ? .coco : output.json ? .json : .text,
            provenance: Provenance(config: config, arch: arch, seed: IntegerSeed(seed), weights: weights,
                                   weightsSHA256: weightsSHA256))
        var traceOutput = try trace.map { (p) throws(CLIError) in
            try TraceOutput(path: p, keepingTensors: traceTensors, digest: traceDigest, model: model.traceModel(arch: arch), images: inputs.count)
        }
        let bar = ProgressBar(total: inputs.count, unit: "images", enabled: progress)
        var start = 0
        while start < inputs.count {
            let range = start..<min(start + batchSize, inputs.count)
            var decoded: [(index: Int, image: Image)] = []
            for i in range {
                do {
                    let image = try inputs[i].decode()
                    decoded.append((i, image))
                    recorder?.record(inputs[i], pixelSHA256: image.rgbDigest)
                } catch {
                    printError("\(inputs[i].name): error: \(error.description)")
                    try writer.writeFailure(file: inputs[i].name, message: error.description)
                    recorder?.record(inputs[i], pixelSHA256: nil)
                    recorder?.recordOutput(name: inputs[i].name, text: "error: " + error.description)
                    failed = true
                }
            }
            let results: [[Detection]]
            if traceOutput != nil {
                let traced = try traceOutput?.tensorWriter.map { try model.detect(decoded.map(\.image), digest: traceDigest, streamingTensorsTo: $0) }
                    ?? model.detect(decoded.map(\.image), tracing: .digests, digest: traceDigest)
                for ((i, image), t) in zip(decoded, traced) { traceOutput?.add(file: inputs[i].name, image: image, trace: t.trace) }
                results = traced.map(\.detections)
            } else {
                results = try model.detect(decoded.map(\.image))
            }
            for ((i, image), dets) in zip(decoded, results) {
                try writer.write(file: inputs[i].name, imageID: ids[i], image: image, detections: dets)
                if let recorder {
                    recorder.recordOutput(name: inputs[i].name, text: try DetectionWriter.jsonRecord(
                        file: inputs[i].name, imageID: ids[i], image: image, detections: dets))
                }
                if let overlays { try writeOverlay(image, dets, to: overlays[i]) }
            }
            bar.advance(by: range.count)
            start = range.upperBound
        }
        bar.finish()
        try writer.finish()
        try traceOutput?.write()
        if let recorder, let manifest { try recorder.write(to: manifest, wholeOutput: sink.sha256) }
        if failed { throw ExitCode(1) }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// The overlay file of every input inside `dir`, its folders created and every file claimed.
    private func planOverlays(_ inputs: [DetectionInput], in dir: String, guardian: inout OutputGuard) throws(CLIError) -> [String] {
        try guardian.prepareDirectory(dir)
        let paths = DetectionInput.overlayNames(inputs).map { dir + "/" + $0 }
        for path in paths {
            let folder = (path as NSString).deletingLastPathComponent
            if folder != dir { try guardian.prepareDirectory(folder) }
            try guardian.claimFile(path)
        }
        return paths
    }

    /// Where the time to a ready model goes (`--profile`'s `init_seconds` and `init_phases`).
    struct InitPhases {
        /// Opening, mapping and parsing the checkpoint (zip directory, pickle, tensor views).
        var read: Duration = .zero
        /// Construction, conversion and preparation (``RetinaNet/LoadingTimes``; construction
        /// includes the seeded initialisation when there is no checkpoint).
        var loading = RetinaNet.LoadingTimes()
        /// Everything, from before the checkpoint is opened to a prepared model whose checkpoint
        /// SHA-256 is known.
        var total: Duration = .zero
        /// Seconds the checkpoint's SHA-256 took on its own thread, and seconds the command waited
        /// for it after the model was ready.
        var sha256 = 0.0, sha256Wait = 0.0

        /// The phases in seconds, as `--profile` prints them.
        struct Record: Encodable {
            var read, construct, convert, prepare, sha256Thread, sha256Wait: Double
        }

        var record: Record {
            Record(read: DetectCommand.seconds(read), construct: DetectCommand.seconds(loading.construct),
                   convert: DetectCommand.seconds(loading.convert), prepare: DetectCommand.seconds(loading.prepare),
                   sha256Thread: sha256, sha256Wait: sha256Wait)
        }
    }

    /// `--profile`: one JSON object per image with every run's stage times (seconds), the time to
    /// a ready model (`init_seconds`, its checkpoint's SHA-256 included; `init_phases` says where
    /// it went), the process's peak resident memory so far, and per pass (warm-ups first) the
    /// page faults it took (`page_faults`) and the tensor storage it allocated fresh
    /// (`fresh_storage_bytes`, ``Runtime/freshStorageBytes``: 0 once the cache of freed blocks
    /// serves every request).
    private func runProfile(_ model: RetinaNet, _ inputs: [DetectionInput], sink: OutputSink, phases: InitPhases) throws {
        struct Record: Encodable {
            var file: String, arch: String, threads: Int, width: Int, height: Int, initSeconds: Double
            var initPhases: InitPhases.Record
            var detections: Int, peakRssKb: Int, warmup: [Times], runs: [Times]
            /// Per pass, warm-ups first: page faults (-1 where the system does not count them)
            /// and bytes of tensor storage allocated fresh.
            var pageFaults: [Int], freshStorageBytes: [Int]
            /// With --profile-trace: what the recorder hashed and reused in one pass (the last).
            var trace: TraceStatistics?
        }
        struct TraceStatistics: Encodable {
            var work: String, entries: Int, hashedEntries: Int, hashedBytes: Int, reusedEntries: Int, reusedBytes: Int
        }
        struct Times: Encodable {
            var transform, body, fpn, head, postprocess, total: Double
            init(_ t: StageTimes) {
                (transform, body, fpn, head, postprocess, total) = (t.transform, t.body, t.fpn, t.head, t.postprocess, t.total)
            }
        }
        for input in inputs {
            let image = try input.decode()
            var warm: [Times] = [], runs: [Times] = []
            var detections: [Detection] = []
            let recorder = profileTrace ? TraceRecorder(digest: traceDigest) : nil
            recorder?.work = TraceRecorder.Work(rawValue: profileTraceWork) ?? .hash
            var traceStatistics: TraceStatistics?
            var faults: [Int] = [], fresh: [Int] = []
            for i in 0..<(profileWarmup + profileRuns) {
                let before = recorder?.statistics
                let faultsBefore = ProcessMemory.pageFaults(), freshBefore = Runtime.freshStorageBytes
                let (d, measured) = try model.profile(image, recording: recorder)
                faults.append(ProcessMemory.pageFaults().flatMap { a in faultsBefore.map { a - $0 } } ?? -1)
                fresh.append(Runtime.freshStorageBytes - freshBefore)
                var t = measured
                // The trace's last batch of digests is hashed by finish(): part of what tracing costs.
                let finishing = ContinuousClock.now
                let entries = recorder?.finish().entries.count
                t.postprocess += Self.seconds(ContinuousClock.now - finishing)
                if let recorder, let before, let entries {
                    let s = recorder.statistics
                    traceStatistics = TraceStatistics(
                        work: recorder.work.rawValue, entries: entries,
                        hashedEntries: s.hashedEntries - before.hashedEntries, hashedBytes: s.hashedBytes - before.hashedBytes,
                        reusedEntries: s.reusedEntries - before.reusedEntries, reusedBytes: s.reusedBytes - before.reusedBytes)
                }
                detections = d
                if i < profileWarmup { warm.append(Times(t)) } else { runs.append(Times(t)) }
            }
            try sink.writeLine(JSONOutput.line(Record(
                file: input.name, arch: arch, threads: Runtime.threads, width: image.width, height: image.height,
                initSeconds: Self.seconds(phases.total), initPhases: phases.record, detections: detections.count,
                peakRssKb: ProcessMemory.peakKilobytes() ?? -1, warmup: warm, runs: runs,
                pageFaults: faults, freshStorageBytes: fresh, trace: traceStatistics)))
        }
    }

    /// The checkpoint as read (`dict`, for the manifest; memory-mapped: no copy of the file is
    /// made), the state dict to load (unwrapped notes printed, `--strip-prefix` applied) and the
    /// SHA-256 of its bytes (for the provenance record), being hashed on a thread of its own.
    private func readCheckpoint(_ path: String) throws -> (dict: StateDict, loadable: StateDict, digest: CheckpointDigest) {
        do {
            let dict = try path == "-" ? StateDict(bytes: FileIO.read(path)) : StateDict(contentsOf: path)
            let digest = CheckpointDigest(dict, path: path)
            if let key = dict.wrapperKey {
                printError("note: \(path) is a training checkpoint; loading the state dict in its \"\(key)\" entry")
            }
            let counts = dict.dtypeCounts
            let narrow = ["float16", "bfloat16"].compactMap { d in counts[d].map { "\($0) \(d)" } }
            if !narrow.isEmpty {
                printError("note: \(path): \(narrow.joined(separator: " and ")) tensors widened exactly to float32")
            }
            return (dict, try stripPrefix.map { p throws(CheckpointError) in try dict.strippingPrefix(p) } ?? dict, digest)
        } catch let error as CLIError {
            printError("\(path): error: \(error.message(without: path))")
            throw ExitCode(1)
        } catch CheckpointError.unreadable(_, let reason) {
            printError("\(path): error: cannot open: \(reason)")
            throw ExitCode(1)
        } catch {
            printError("\(path): error: \(error)")
            throw ExitCode(1)
        }
    }

    /// The model: from the checkpoint when there is one (built without a random initialisation and
    /// loaded strictly, ``RetinaNet/loading(_:configuration:)``), else from the seed.
    private func loadModel(_ config: RetinaNetConfiguration, seed: Int64, checkpoint: StateDict?,
                           times: inout RetinaNet.LoadingTimes) throws -> RetinaNet {
        guard let checkpoint, let weights else {
            let start = ContinuousClock.now
            let model = try RetinaNet(configuration: config, seed: seed)
            times.construct = ContinuousClock.now - start
            printError("""
                warning: no --weights given: every parameter is RANDOM (torch.manual_seed(\(IntegerSeed(seed))) + \
                torchvision's initialisation of retinanet_resnet50_fpn\(arch == "v2" ? "_v2" : "")). The detections \
                are reproducible but meaningless.
                """)
            return model
        }
        do {
            let (model, report) = try RetinaNet.loading(checkpoint, configuration: config, times: &times)
            if !report.ignored.isEmpty {
                printError("note: ignored \(report.ignored.count) checkpoint entries (\(report.ignored.prefix(3).joined(separator: ", "))…)")
            }
            return model
        } catch {
            printError("\(weights): error: \(error.description)")
            if let hint = Self.prefixHint(checkpoint, configuration: config) { printError(hint) }
            printError("(repro doctor --weights \(weights)\(arch == "v2" ? "" : " --arch \(arch)") says which tensors would stay random)")
            throw ExitCode(1)
        }
    }

    /// When every key shares a prefix whose removal makes more keys match the model, the sentence
    /// naming it and the option that strips it.
    static func prefixHint(_ dict: StateDict, configuration: RetinaNetConfiguration) -> String? {
        guard let d = try? CheckpointDiagnosis(stateDict: dict, configuration: configuration),
              let prefix = d.prefix, let after = d.matchedAfterStripping, after > d.matched else { return nil }
        return "hint: every key starts with \"\(prefix)\" (a DataParallel/DDP or training wrapper): "
            + "\(after) of \(d.expectedCount) keys match without it; rerun with --strip-prefix \(prefix)"
    }

    private func writeOverlay(_ image: Image, _ dets: [Detection], to path: String) throws(CLIError) {
        var canvas = image.rgb()
        for d in dets.reversed() {
            canvas.drawDetection(x0: d.box.x1, y0: d.box.y1, x1: d.box.x2, y1: d.box.y2,
                                 label: "\(COCO.name(of: d.label)) \(String(format: "%.2f", Double(d.score)))", classIndex: d.label)
        }
        let file = try OutputSink.create(path)
        try file.writeBytes(canvas.pngData())
        try file.close()
    }
}

extension DetectCommand {
    /// One image to detect in: a file, standard input or the built-in sample.
    enum DetectionInput {
        case file(String)
        case standardInput
        case sample

        /// The name in records and messages: the path as given, `-`, or `sample-scene.png`.
        var name: String {
            switch self {
            case .file(let path): return path
            case .standardInput: return "-"
            case .sample: return SampleImage.name
            }
        }

        /// Reads and decodes the image (called when its batch comes).
        func decode() throws(CLIError) -> Image {
            switch self {
            case .sample:
                do { return try SampleImage.make() } catch { throw CLIError("\(error)") }
            case .file, .standardInput:
                let bytes: [UInt8]
                do { bytes = try FileIO.read(name) } catch { throw CLIError(error.message(without: name)) }
                do { return try Image(decoding: bytes) } catch { throw CLIError(error.description) }
            }
        }

        /// COCO image ids: the file name's number when the base name is all digits (COCO's
        /// `000000000139.jpg` is 139), otherwise the position in the list, from 1. Two inputs
        /// with one id are refused.
        static func imageIDs(_ inputs: [Self]) throws(CLIError) -> [Int] {
            var ids: [Int] = []
            var seen: [Int: String] = [:]
            for (i, input) in inputs.enumerated() {
                let stem = ((input.name as NSString).lastPathComponent as NSString).deletingPathExtension
                var id = i + 1
                if case .file = input, !stem.isEmpty, stem.count <= 18, stem.allSatisfy(\.isASCII), let n = Int(stem), n >= 0 {
                    id = n
                }
                if let other = seen[id] {
                    throw CLIError("\(input.name): image id \(id) is also the id of \(other); "
                        + "ids are the file name's number (all-digit names) or the position in the list")
                }
                seen[id] = input.name
                ids.append(id)
            }
            return ids
        }

        /// Overlay file names, relative to the output folder: each input's path relative to the
        /// inputs' deepest common folder, extension replaced by `.detections.png`
        /// (`a/img.png` → `a/img.detections.png`); a name already taken gets `.2`, `.3`… before
        /// `.detections.png`.
        static func overlayNames(_ inputs: [Self]) -> [String] {
            let resolved: [[String]?] = inputs.map { input in
                guard case .file(let path) = input else { return nil }
                return OutputGuard.resolve(path).split(separator: "/").map(String.init)
            }
            let folders = resolved.compactMap { $0?.dropLast() }
            var common = folders.first.map(Array.init) ?? []
            for f in folders.dropFirst() {
                var n = 0
                while n < min(common.count, f.count), common[n] == f[f.startIndex + n] { n += 1 }
                common = Array(common.prefix(n))
            }
            var taken = Set<String>()
            return zip(inputs, resolved).map { input, parts in
                let relative: String
                if let parts {
                    relative = parts.dropFirst(common.count).joined(separator: "/")
                } else {
                    relative = input == .standardInput ? "stdin" : SampleImage.name
                }
                let stem = (relative as NSString).deletingPathExtension
                var name = stem + ".detections.png"
                var k = 2
                while !taken.insert(name).inserted {
                    name = "\(stem).\(k).detections.png"
                    k += 1
                }
                return name
            }
        }
    }
}

extension DetectCommand.DetectionInput: Equatable {}

extension TraceDigest: ExpressibleByArgument {
    /// Parses `sha256` or `repro-nh-v1`.
    public init?(argument: String) { self.init(rawValue: argument) }

    /// The names `--help` lists.
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
