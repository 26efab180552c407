import ArgumentParser
import Foundation
import Repro
import _ReproDigest

/// `repro batches FOLDER`: runs the data loader over a folder of images and
/// fingerprints every batch.
struct BatchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batches",
        abstract: "Load a folder of images in batches and print each batch's epoch, position, sample indices and SHA-256.",
        discussion: """
            FOLDER holds one subfolder per class (labels in sorted order), or FOLDER is a list file of \
            'path label' lines. The digest is SHA-256 of the batch tensor [B, C, H, W] as little-endian \
            float32 bytes. With the default counter-based shuffling and per-sample randomness the output \
            is identical for any --workers and with --resume-at: a way to check that two machines, two \
            worker counts or a resumed run feed a model exactly the same data. --resume-at K stops after \
            K batches, saves the loader state (as JSON) and continues from it in a fresh loader. \
            --augment standard = random resized crop to --crop-size (224), horizontal flip, colour jitter (0.4, 0.4, 0.4, 0.1), \
            ImageNet normalize; --augment crop = the same without colour jitter; with --augment none all images must have the same size.
            """
    )

    enum Shuffle: String, ExpressibleByArgument, CaseIterable { case counter, torch, none }
    enum Augment: String, ExpressibleByArgument, CaseIterable { case none, standard, crop }

    @Argument(help: "A folder with one subfolder per class, or a list file of 'path label' lines.")
    var folder: String

    @OptionGroup var seedOption: SeedOption

    @OptionGroup var threadsOption: ThreadsOption

    @Option(name: .long, help: "Images per batch.")
    var batchSize: Int = 8

    @Option(name: .long, help: "Worker threads (0: load on the main thread).")
    var workers: Int = 0

    @Option(name: .long, help: "Number of epochs.")
    var epochs: Int = 1

    @Option(name: .long, help: "Epoch order: counter (default, any worker count), torch (PyTorch RandomSampler order) or none.")
    var shuffle: Shuffle = .counter

    @Option(name: .long, help: "Per-image augmentation: none, standard, or crop (standard without colour jitter).")
    var augment: Augment = .none

    @Option(name: .long, help: "Output size of the standard augmentation's random resized crop.")
    var cropSize: Int = 224

    @Option(name: .long, help: "Stop after K batches (1 to the number of batches), save the state, and continue from it in a fresh loader.")
    var resumeAt: Int?

    @Flag(name: .long, help: "Skip the SHA-256 of each batch (prints '-' instead); for timing the loader alone.")
    var noHash = false

    @OptionGroup var output: OutputOptions

    @Flag(name: .long, inversion: .prefixedNo, help: "Show a progress bar on stderr (default: when stderr is a terminal).")
    var progress: Bool?

    @Option(name: .long, help: ArgumentHelp(
        "Write a run manifest (inputs, environment, batch SHA-256s) to this file, for repro verify.", valueName: "path"))
    var manifest: String?

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard (0...256).contains(workers) else { throw ValidationError("--workers must be in 0...256") }
        guard cropSize >= 1 else { throw ValidationError("--crop-size must be at least 1") }
        guard epochs >= 0 else { throw ValidationError("--epochs must not be negative") }
        if let k = resumeAt { guard k >= 1 else { throw ValidationError("--resume-at must be at least 1") } }
        if let manifest {
            guard !manifest.isEmpty else { throw ValidationError("--manifest needs a file path") }
            guard !noHash else { throw ValidationError("--manifest records each batch's SHA-256; --no-hash skips it") }
        }
        _ = try seedOption.torchSeed(default: IntegerSeed(0))
    }

    func makeLoader(_ dataset: ImageFolderDataset, workers: Int) throws -> DataLoader<ImageFolderDataset, CHWImage, BatchDigest> {
        let seed = try seedOption.torchSeed(default: IntegerSeed(0))
        let mode: ShuffleMode = shuffle == .counter ? .counterBased : shuffle == .torch ? .torchCompatible : .none
        // The crop runs on the 8-bit image (same bits as cropping the float image, less work).
        let crop: RandomResizedCrop? = augment == .none ? nil : RandomResizedCrop(size: cropSize)
        let pipeline: Compose
        switch augment {
        case .none: pipeline = Compose([])
        case .standard:
            pipeline = Compose([RandomHorizontalFlip(),
                                ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1), Normalize.imageNet])
        case .crop: pipeline = Compose([RandomHorizontalFlip(), Normalize.imageNet])
        }
        return try DataLoader(
            dataset: dataset, batchSize: batchSize, shuffle: mode, seed: seed, workers: workers, epochs: epochs,
            transform: { sample, g in
                let x = try crop.map { try $0.apply(sample.image, using: &g) } ?? CHWImage(sample.image)
                return try pipeline.apply(x, using: &g)
            },
            collate: { [noHash] images in try BatchDigest(images, hashing: !noHash) })
    }

    /// One batch (`--json`).
    struct Record: Encodable {
        var epoch: Int, position: Int, indices: [Int], shape: [Int], sha256: String
    }

    func run() throws {
        try execute(recorder: manifest.map { _ in ManifestRecorder.forCommandLine("batches") }, sink: nil)
    }

    /// Runs the loader; `recorder` collects what a manifest records (and `--manifest` writes it),
    /// `replacement` receives the output instead of `--output`/standard output (`repro verify`).
    func execute(recorder: ManifestRecorder?, sink replacement: OutputSink?) throws {
        threadsOption.apply()
        var guardian = OutputGuard()
        guardian.addInput(folder)
        if let path = output.output { try guardian.claimFile(path) }
        if let manifest { try guardian.claimFile(manifest) }
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory)
        let dataset = isDirectory.boolValue
            ? try ImageFolderDataset(root: folder) : try ImageFolderDataset(listFile: folder)
        var loader = try makeLoader(dataset, workers: workers)
        if let k = resumeAt, k > loader.batchCount {
            throw CLIError("--resume-at \(k) is past the end: this run has \(loader.batchCount) batches "
                + "(\(epochs) epochs of \(dataset.count) images in batches of \(batchSize))")
        }
        if let recorder {
            recorder.seeds["loader"] = seedOption.value(default: IntegerSeed(0)).description
            for i in 0..<dataset.count {
                // The pixels as decoded (an undecodable file is recorded without them; the loader reports it).
                recorder.recordInput(path: dataset.entries[i].path, pixelSHA256: try? dataset.sample(at: i).image.rgbDigest)
            }
        }
        let sink = try replacement ?? OutputSink.named(output.output)
        let bar = ProgressBar(total: loader.batchCount, unit: "batches", enabled: progress)
        var state: LoaderState?
        var printed = 0
        for result in loader.reportingProgress({ bar.advance(note: "epoch \($0.epoch)") }) {
            let batch = try result.get()
            try emit(batch, to: sink, recorder: recorder)
            printed += 1
            if printed == resumeAt { state = batch.stateAfter; break }
        }
        if let state {
            let saved = try JSONEncoder().encode(state)
            printError("resuming from saved state \(String(decoding: saved, as: UTF8.self))")
            loader = try makeLoader(dataset, workers: workers).resumed(from: JSONDecoder().decode(LoaderState.self, from: saved))
            for result in loader.reportingProgress({ bar.advance(note: "epoch \($0.epoch)") }) {
                try emit(try result.get(), to: sink, recorder: recorder)
            }
        }
        bar.finish()
        try sink.close()
        if let recorder, let manifest { try recorder.write(to: manifest, wholeOutput: sink.sha256) }
    }

    func emit(_ b: LoaderBatch<BatchDigest>, to sink: OutputSink, recorder: ManifestRecorder? = nil) throws(CLIError) {
        recorder?.recordOutput(name: "epoch \(b.epoch) batch \(b.position)", sha256: b.value.sha256)
        if output.json {
            try sink.writeLine(JSONOutput.line(Record(
                epoch: b.epoch, position: b.position, indices: b.indices, shape: b.value.shape, sha256: b.value.sha256)))
        } else {
            try sink.writeLine("epoch \(b.epoch) batch \(b.position) indices \(b.indices.map(String.init).joined(separator: ",")) sha256 \(b.value.sha256)")
        }
    }
}

/// A batch reduced to its shape and the SHA-256 of its float32 bytes.
struct BatchDigest: Sendable {
    let shape: [Int]
    let sha256: String

    /// Stacks same-sized images into [B, C, H, W] and hashes the little-endian bytes (unless `hashing` is false).
    init(_ images: [CHWImage], hashing: Bool) throws {
        guard let first = images.first else { throw ValidationError("empty batch") }
        for im in images where (im.channels, im.height, im.width) != (first.channels, first.height, first.width) {
            throw ValidationError("images of different sizes in one batch (\(first.height)×\(first.width) and \(im.height)×\(im.width)); use --augment standard")
        }
        shape = [images.count, first.channels, first.height, first.width]
        guard hashing else { sha256 = "-"; return }
        var hasher = SHA256()
        for im in images {
            #if _endian(little)
            im.values.withUnsafeBytes { hasher.update($0) }  // float32 memory order is little-endian here
            #else
            hasher.update(im.values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } })
            #endif
        }
        sha256 = hasher.finalize().hex
    }
}
