#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import Repro

/// Set by the SIGINT handler; read between training steps (nothing else happens in the handler).
nonisolated(unsafe) private var interruptRequested: sig_atomic_t = 0

/// `repro train [DIR]`: trains an image classifier reproducibly.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an image classifier: the same weights for any thread count, worker count and micro-batch size.",
        discussion: """
            DIR holds one subfolder per class (labels in sorted order, as torchvision's ImageFolder) or is a list file of \
            'path label' lines; without DIR the built-in data set is used (ten classes of drawn shapes, generated in memory: \
            10,000 training and 2,000 validation images of --image-size pixels). Defaults with DIR: batch 32, SGD lr 0.1, \
            constant schedule, 1 epoch. Defaults without DIR (the built-in recipe): batch 64, AdamW lr 0.006 with the \
            one-cycle schedule (cosine after --warmup), 2 epochs — cnn-small then reaches about 9 in 10 on the validation \
            split (chance: 1 in 10). Without --weights the model is initialised \
            as torch.manual_seed(--seed) followed by the torchvision builder (num_classes = --num-classes) would. \
            The weights after N steps depend only on the data, the seed and the hyper-parameters: not on --threads, \
            --workers or --micro-batch (gradient accumulation in micro-batches of at most M samples; BatchNorm models \
            (resnet*) normalise each micro-batch by its own statistics, as PyTorch does, so for them the weights do change \
            with M < --batch-size: a warning says so; cnn-small uses GroupNorm). --steps/--epochs count from the start of \
            training: a run resumed with --resume ends exactly where an uninterrupted run with the same options ends. \
            Checkpoints (--checkpoint-dir): step-N.safetensors (model and optimizer) + step-N.json (configuration, data \
            identity, loader position, schedule, hashes) + latest.json, each written atomically; Ctrl-C writes one and \
            exits with status 130. --log writes JSON lines: per step {"epoch","loss","lr","samples","step"}, every \
            --digest-every steps {"step","weights_sha256"}, per epoch with validation {"epoch","val_accuracy","val_loss"}, \
            and last {"final":true,"seconds","steps","weights_sha256"}; weights_sha256 is SHA-256 of every parameter and \
            buffer in state-dict order as little-endian bytes. --export writes torch.save (.pth) or safetensors weights \
            with torchvision's keys.
            """
    )

    enum Arch: String, ExpressibleByArgument, CaseIterable { case resnet18, resnet34, resnet50, cnnSmall = "cnn-small" }
    enum OptimizerKind: String, ExpressibleByArgument, CaseIterable { case sgd, adamw }
    enum Schedule: String, ExpressibleByArgument, CaseIterable { case constant, step, cosine, onecycle }
    enum Augment: String, ExpressibleByArgument, CaseIterable { case none, standard }
    enum Shuffle: String, ExpressibleByArgument, CaseIterable { case counter, torch, none }

    @Argument(help: "A folder with one subfolder per class, or a list file of 'path label' lines (default: the built-in data set).")
    var folder: String?

    @Option(name: .customLong("val"), help: ArgumentHelp("Validation images (same layout as DIR), evaluated after every epoch; "
        + "with the built-in data set, its validation split is used when --val is not given.", valueName: "dir"))
    var validation: String?

    @Flag(name: .long, help: "Skip validation (also of the built-in data set).")
    var noVal = false

    @Option(name: .long, help: "Architecture: resnet18, resnet34, resnet50 or cnn-small.")
    var arch: Arch = .cnnSmall

    @Option(name: .long, help: "Number of classes (default: the data set's).")
    var numClasses: Int?

    @Option(name: .long, help: ArgumentHelp("Initial weights (.pth or .safetensors), loaded strictly.", valueName: "path"))
    var weights: String?

    @OptionGroup var seedOption: SeedOption

    @Option(name: .long, help: "Epochs to train, counted from the start of training (default 1; built-in data set: 2).")
    var epochs: Int?

    @Option(name: .long, help: "Optimizer steps to train, counted from the start of training.")
    var steps: Int?

    @Option(name: .long, help: "Samples per optimizer step, the global batch (default 32; built-in data set: 64).")
    var batchSize: Int?

    @Option(name: .long, help: "Micro-batch size (gradient accumulation); the weights do not change with it (BatchNorm models excepted).")
    var microBatch: Int?

    @Option(name: .long, help: "Optimizer: sgd or adamw (default sgd; built-in data set: adamw).")
    var optimizer: OptimizerKind?

    @Option(name: .long, help: "Learning rate (default 0.1 for sgd, 0.001 for adamw; built-in data set with adamw: 0.006).")
    var lr: Double?

    @Option(name: .long, help: "SGD momentum.")
    var momentum = 0.9

    @Flag(name: .long, help: "Nesterov momentum (SGD).")
    var nesterov = false

    @Option(name: .long, help: "Weight decay (default 0 for sgd, 0.01 for adamw, as torch).")
    var weightDecay: Double?

    @Option(name: .long, help: "Learning-rate schedule, stepped every optimizer step: constant, step (StepLR), cosine (CosineAnnealingLR) or onecycle (OneCycleLR) (default constant; built-in data set: onecycle, or cosine with --warmup).")
    var schedule: Schedule?

    @Option(name: .long, help: "StepLR: steps between decays (default: a third of the steps).")
    var lrStepSize: Int?

    @Option(name: .long, help: "StepLR: decay factor.")
    var lrGamma = 0.1

    @Option(name: .long, help: "Linear warm-up steps (LinearLR from 0.01 × lr, then the schedule: SequentialLR).")
    var warmup = 0

    @Option(name: .long, help: "Clip the gradient's total L2 norm to this value (clip_grad_norm_).")
    var clipGradNorm: Double?

    @Option(name: .long, help: "Cross-entropy label smoothing.")
    var labelSmoothing = 0.0

    @Option(name: .long, help: "Per-image augmentation: none (ToTensor + Normalize, all images one size) or standard (random resized crop to --crop-size, flip, colour jitter, normalize).")
    var augment: Augment = .none

    @Option(name: .long, help: "Crop size of --augment standard (default 224; the built-in data set's --image-size).")
    var cropSize: Int?

    @Option(name: .long, help: "Side of the built-in data set's images.")
    var imageSize = 32

    @Option(name: .long, help: "Epoch order: counter (default), torch (PyTorch RandomSampler order) or none (index order).")
    var shuffle: Shuffle = .counter

    @Flag(name: .long, help: "Skip images that cannot be decoded (each one named on stderr) instead of stopping.")
    var skipUnreadable = false

    @Option(name: .long, help: "Data-loader worker threads (0: load on the training thread); the weights do not change with it.")
    var workers = 0

    @OptionGroup var threadsOption: ThreadsOption

    @Option(name: .long, help: ArgumentHelp("Write checkpoints into this folder.", valueName: "dir"))
    var checkpointDir: String?

    @Option(name: .long, help: "Write a checkpoint every N steps (and always at the end).")
    var checkpointEvery: Int?

    @Option(name: .long, help: ArgumentHelp("Continue from a checkpoint (its .json, its .safetensors, or a checkpoint folder's latest).", valueName: "checkpoint"))
    var resume: String?

    @Option(name: .long, help: ArgumentHelp("Export the final weights to PATH.pth (torch.save) or PATH.safetensors.", valueName: "path"))
    var export: String?

    @Option(name: .long, help: ArgumentHelp("Write JSON lines of the run to this file ('-': standard output).", valueName: "path"))
    var log: String?

    @Option(name: .long, help: "Log weights_sha256 every N steps.")
    var digestEvery: Int?

    @Flag(name: .long, inversion: .prefixedNo, help: "Show a progress bar on stderr (default: when stderr is a terminal).")
    var progress: Bool?

    @Flag(name: .long, help: "At the end, print where the time went (per phase: wall and process CPU seconds; loader stages) on stderr, and as a {\"profile\":…} line in --log.")
    var profile = false

    /// Whether the built-in data set is trained on (no DIR): its recipe supplies the defaults.
    var usesBuiltInData: Bool { folder == nil }

    /// The global batch: --batch-size, or the default of the data (32; the built-in recipe: 64).
    var resolvedBatchSize: Int { batchSize ?? (usesBuiltInData ? 64 : 32) }

    /// The optimizer: --optimizer, or the default of the data (SGD; the built-in recipe: AdamW).
    var resolvedOptimizer: OptimizerKind { optimizer ?? (usesBuiltInData ? .adamw : .sgd) }

    /// The schedule: --schedule, or the default of the data (constant; the built-in recipe: one-cycle,
    /// or cosine after a --warmup, which one-cycle does not take).
    var resolvedSchedule: Schedule { schedule ?? (usesBuiltInData ? (warmup > 0 ? .cosine : .onecycle) : .constant) }

    func validate() throws {
        if let b = batchSize, b < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let m = microBatch {
            guard m >= 1 else { throw ValidationError("--micro-batch must be at least 1") }
            guard m <= resolvedBatchSize else {
                throw ValidationError("--micro-batch \(m) is larger than --batch-size \(resolvedBatchSize)")
            }
        }
        guard steps == nil || epochs == nil else { throw ValidationError("give --steps or --epochs, not both") }
        if let s = steps, s < 0 { throw ValidationError("--steps must not be negative") }
        if let e = epochs, e < 0 { throw ValidationError("--epochs must not be negative") }
        guard (0...256).contains(workers) else { throw ValidationError("--workers must be in 0...256") }
        if let n = checkpointEvery, n < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
        if checkpointEvery != nil && checkpointDir == nil { throw ValidationError("--checkpoint-every needs --checkpoint-dir") }
        if let n = digestEvery, n < 1 { throw ValidationError("--digest-every must be at least 1") }
        if let k = numClasses, k < 1 { throw ValidationError("--num-classes must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        if let e = export, !(e.hasSuffix(".pth") || e.hasSuffix(".pt") || e.hasSuffix(".safetensors")) {
            throw ValidationError("--export \(e): the name must end in .pth or .safetensors")
        }
        if weights != nil && resume != nil { throw ValidationError("--weights and --resume exclude each other: a checkpoint has its own weights") }
        if validation != nil && noVal { throw ValidationError("--val and --no-val exclude each other") }
        _ = try seedOption.torchSeed(default: IntegerSeed(0))
    }

    func run() throws {
        threadsOption.apply()
        MemoryPolicy.keepFreedBlocksForReuse()
        let started = ContinuousClock.now
        let data = try folder.map { try TrainingData.imageFolder($0) } ?? TrainingData.builtIn(imageSize: imageSize)
        let validationData: TrainingData? = noVal ? nil
            : try validation.map { try TrainingData.imageFolder($0) } ?? (folder == nil ? TrainingData.builtIn(split: .validation, imageSize: imageSize) : nil)
        let configuration = try makeConfiguration(data)
        let execution = TrainingRun.Execution(workers: workers, microBatch: microBatch)
        var run: TrainingRun
        if let resume {
            run = try TrainingRun(resumingFrom: resume, configuration: configuration, data: data, execution: execution)
        } else {
            let initial = try weights.map { path -> StateDict in
                do { return try StateDict(contentsOf: path) } catch { throw CLIError("\(path): \(error)") }
            }
            run = try TrainingRun(configuration: configuration, data: data, initialWeights: initial, execution: execution)
        }
        for w in run.warnings { printError("warning: \(w)") }
        let sink: OutputSink? = try log.map { $0 == "-" ? OutputSink.standardOutput : try OutputSink.create($0) }
        if let dir = checkpointDir {
            // Refuse an unusable folder before training, not at the first checkpoint.
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw CLIError("\(dir): cannot create the checkpoint folder")
            }
            guard access(dir, W_OK) == 0 else { throw CLIError.posix(dir, "checkpoint folder is not writable") }
            installInterruptHandler()
        }
        let bar = ProgressBar(total: configuration.totalSteps - run.completedSteps, unit: "steps", enabled: progress)
        var lastCheckpoint: String?
        var interrupted = false
        var epochSeen = run.epoch
        var stepClock = ContinuousClock.now
        var phases = TrainProfile.CommandPhases()
        var lap = TrainingPhaseTimes.Instant.now
        phases.startup.wall = Self.seconds(lap.wall - started)
        phases.startup.processCPU = lap.processCPU
        while !run.isFinished {
            if interruptRequested != 0 { interrupted = true; break }
            let step: TrainingStep
            do { step = try run.step() } catch {
                bar.finish()
                if let lastCheckpoint { printError("the last good checkpoint is \(lastCheckpoint)") }
                throw CLIError("\(error)")
            }
            lap = .now
            for s in step.skipped { printError("skipped unreadable \(s)") }
            try sink?.writeLine(JSONOutput.line(StepRecord(step: step.step, epoch: step.epoch, loss: step.loss, lr: step.learningRate,
                                                           samples: step.samples)))
            if let n = digestEvery, step.step % n == 0, !run.isFinished {
                try sink?.writeLine(JSONOutput.line(DigestRecord(step: step.step, weightsSha256: try run.weightsSHA256())))
            }
            lap = lap.lap(into: &phases.log)
            if let dir = checkpointDir, let n = checkpointEvery, step.step % n == 0, !run.isFinished {
                lastCheckpoint = try run.saveCheckpoint(in: dir)
                lap = lap.lap(into: &phases.checkpoint)
            }
            let now = ContinuousClock.now
            let seconds = Self.seconds(now - stepClock)
            stepClock = now
            bar.advance(note: String(format: "loss %.4f, %.1f samples/s", Double(step.loss), seconds > 0 ? Double(step.batch.count) / seconds : 0))
            // Validation after every completed epoch, and after a run that ends mid-epoch.
            if let validationData, run.epoch != epochSeen || run.isFinished {
                let e = try run.evaluate(on: validationData, batchSize: configuration.batchSize, workers: workers)
                try sink?.writeLine(JSONOutput.line(EpochRecord(epoch: epochSeen, valLoss: e.loss, valAccuracy: e.accuracy)))
                if log != "-" { printError("epoch \(epochSeen): validation loss \(e.loss), accuracy \(e.accuracy) (\(e.count) images)") }
                lap = lap.lap(into: &phases.validation)
            }
            epochSeen = run.epoch
            lap = .now
        }
        bar.finish()
        if let dir = checkpointDir { lastCheckpoint = try run.saveCheckpoint(in: dir) }
        if interrupted {
            printError("interrupted after step \(run.completedSteps); resumable checkpoint: \(lastCheckpoint ?? "-")")
            try sink?.close()
            throw ExitCode(130)
        }
        if let export { try run.exportWeights(to: export) }
        let digest = try run.weightsSHA256()
        if profile {
            lap.lap(into: &phases.finish)
            let report = TrainProfile(run.phaseTimes, phases, seconds: Self.seconds(ContinuousClock.now - started))
            printError(report.table)
            try sink?.writeLine(JSONOutput.line(TrainProfile.Record(profile: report)))
        }
        let seconds = Self.seconds(ContinuousClock.now - started)
        try sink?.writeLine(JSONOutput.line(FinalRecord(final: true, steps: run.completedSteps, weightsSha256: digest, seconds: seconds)))
        try sink?.close()
        let summary = "trained \(configuration.architecture.rawValue) for \(run.completedSteps) steps (\(run.samplesSeen) samples) "
            + "in \(String(format: "%.1f", seconds)) s; weights_sha256 \(digest)"
        if log == "-" { printError(summary) } else { print(summary) }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// The configuration the options describe.
    func makeConfiguration(_ data: TrainingData) throws -> TrainingConfiguration {
        let seed = try seedOption.torchSeed(default: IntegerSeed(0))
        let batchSize = resolvedBatchSize
        let perEpoch = data.count / batchSize
        guard perEpoch >= 1 else { throw CLIError("\(data.count) images are fewer than one batch of \(batchSize)") }
        let totalSteps = steps ?? (epochs ?? (usesBuiltInData ? 2 : 1)) * perEpoch
        let optimizerChoice: TrainingOptimizer
        switch resolvedOptimizer {
        case .sgd:
            optimizerChoice = .sgd(SGD.Options(learningRate: lr ?? 0.1, momentum: momentum, weightDecay: weightDecay ?? 0, nesterov: nesterov))
        case .adamw:
            optimizerChoice = .adamW(Adam.Options.adamW(learningRate: lr ?? (usesBuiltInData ? 6e-3 : 1e-3), weightDecay: weightDecay ?? 1e-2))
        }
        let scheduleChoice: TrainingSchedule
        switch resolvedSchedule {
        case .constant: scheduleChoice = .constant
        case .step: scheduleChoice = .step(size: lrStepSize ?? max(1, totalSteps / 3), gamma: lrGamma)
        case .cosine: scheduleChoice = .cosine(etaMin: 0)
        case .onecycle: scheduleChoice = .oneCycle
        }
        return TrainingConfiguration(
            architecture: ClassifierArchitecture(rawValue: arch.rawValue)!, numClasses: numClasses ?? data.classCount, seed: seed,
            totalSteps: totalSteps, batchSize: batchSize, optimizer: optimizerChoice, schedule: scheduleChoice, warmupSteps: warmup,
            clipGradientNorm: clipGradNorm, labelSmoothing: labelSmoothing,
            augmentation: augment == .none ? .none : .standard, cropSize: cropSize ?? (folder == nil ? imageSize : 224),
            shuffle: shuffle == .counter ? .counterBased : shuffle == .torch ? .torchCompatible : .none,
            skipsUnreadableSamples: skipUnreadable)
    }

    func installInterruptHandler() {
        signal(SIGINT) { _ in interruptRequested = 1 }
    }

    struct StepRecord: Encodable { var step: Int, epoch: Int, loss: Float, lr: Double, samples: Int }
    struct DigestRecord: Encodable { var step: Int, weightsSha256: String }
    struct EpochRecord: Encodable { var epoch: Int, valLoss: Double, valAccuracy: Double }
    struct FinalRecord: Encodable { var final: Bool, steps: Int, weightsSha256: String, seconds: Double }
}
