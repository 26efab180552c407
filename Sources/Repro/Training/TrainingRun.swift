import Foundation
import ReproData
import ReproNN
import ReproTensor
import _ReproDigest

/// What one optimizer step did.
public struct TrainingStep: Sendable, Equatable {
    /// Steps completed, this one included (1 after the first step).
    public var step: Int
    /// The epoch the step's batch came from (0-based).
    public var epoch: Int
    /// The batch's mean loss (the canonical reduction), before the update.
    public var loss: Float
    /// The learning rate of the first parameter group during the step.
    public var learningRate: Double
    /// Samples trained on since the start of training, this step's included.
    public var samples: Int
    /// The data-set indices of this step's batch, in batch order.
    public var batch: [Int]
    /// Samples skipped as unreadable (path and reason), only with
    /// ``TrainingConfiguration/skipsUnreadableSamples``.
    public var skipped: [String]
}

/// Validation loss and accuracy of a model on a data set.
public struct TrainingEvaluation: Sendable, Equatable {
    /// Mean cross-entropy (no label smoothing) over every sample.
    public var loss: Double
    /// The fraction of samples whose largest logit (the first, on ties) is the label.
    public var accuracy: Double
    /// The number of samples.
    public var count: Int
}

/// An image-classification training run whose weights after N steps are a function of the
/// configuration, the data and the initial weights only: not of the thread count, the data-loader
/// workers or the micro-batch size (with BatchNorm, of the micro-batch size only as in PyTorch:
/// see ``Execution/microBatch``).
///
/// Every step loads the next global batch (``ReproData/DataLoader``, per-sample augmentation keyed
/// by seed, epoch and index; `drop_last`), computes the mean cross-entropy and its gradient by the
/// canonical reduction over samples, in micro-batches of at most ``Execution/microBatch``, clips
/// the gradient norm if asked, steps the optimizer (bit-identical to torch's CPU step) and then
/// the schedule. Dropout, if a model had it, draws counter-based masks keyed by (seed, step).
///
/// ```swift
/// let data = try TrainingData.builtIn(count: 64, imageSize: 16)
/// var run = try TrainingRun(configuration: TrainingConfiguration(architecture: .cnnSmall, numClasses: 10, totalSteps: 2,
///                                                                batchSize: 8), data: data)
/// while !run.isFinished { print(try run.step().loss) }
/// let digest = try run.weightsSHA256()   // the same for any thread count and micro-batch size
/// ```
public struct TrainingRun: Sendable {
    /// How a run executes: settings that never change the weights.
    public struct Execution: Sendable, Equatable {
        /// Data-loader worker threads (0: load on the training thread).
        public var workers: Int
        /// Micro-batch size (gradient accumulation): every global batch is split into parts of at
        /// most this many samples; nil: the whole batch at once. The weights do not change with it,
        /// except for BatchNorm models, whose batch statistics are per micro-batch as in PyTorch
        /// (``TrainingRun/warnings`` says so).
        public var microBatch: Int?

        /// Creates the settings.
        public init(workers: Int = 0, microBatch: Int? = nil) {
            self.workers = workers
            self.microBatch = microBatch
        }
    }

    /// What determines the weights.
    public let configuration: TrainingConfiguration
    /// The training images.
    public let data: TrainingData
    /// How the run executes.
    public internal(set) var execution: Execution
    /// The model.
    public internal(set) var model: ClassifierModel
    var optimizer: OptimizerBox
    /// The learning-rate schedule.
    public internal(set) var schedule: LearningRateSchedule
    /// Optimizer steps completed since the start of training.
    public internal(set) var completedSteps = 0
    /// Samples trained on since the start of training.
    public internal(set) var samplesSeen = 0
    /// Where the data loader continues.
    public internal(set) var loaderState: LoaderState
    private let feed = BatchFeed()
    /// The training thread's phases of the steps taken by this value (``phaseTimes``).
    var stepTimes = TrainingPhaseTimes()
    /// The loader stages' times (shared with copies of this run and with its loader's threads).
    let loaderTimes = LoaderStageTimes()

    /// Where the time of this run's steps went so far (since it was created or resumed).
    public var phaseTimes: TrainingPhaseTimes {
        var t = stepTimes
        loaderTimes.fill(&t)
        return t
    }

    /// Builds a run at step 0: the model initialised from the seed (or `initialWeights`, loaded strictly).
    ///
    /// - Throws: ``TrainingError/invalidConfiguration(_:)`` for bad settings (or a micro-batch larger
    ///   than the batch), ``TrainingError/invalidData(_:)`` when the data set has fewer images than
    ///   one batch or more classes than the model, ``TrainingError/model(_:)`` when the initial
    ///   weights do not fit (the load report says why).
    public init(configuration: TrainingConfiguration, data: TrainingData, initialWeights: StateDict? = nil,
                execution: Execution = Execution()) throws(TrainingError) {
        try configuration.validate()
        try Self.check(execution, configuration)
        guard data.classCount <= configuration.numClasses else {
            throw .invalidData("the data has \(data.classCount) classes but the model only \(configuration.numClasses) outputs")
        }
        let perEpoch = data.count / configuration.batchSize
        guard perEpoch >= 1 else {
            throw .invalidData("\(data.count) images are fewer than one batch of \(configuration.batchSize)")
        }
        var model = try ClassifierModel(architecture: configuration.architecture, numClasses: configuration.numClasses,
                                        seed: configuration.seed)
        if let initialWeights {
            do { _ = try model.load(stateDict: initialWeights, strict: true) } catch {
                throw .model("the initial weights do not fit \(configuration.architecture.rawValue): \(error)")
            }
        }
        self.configuration = configuration
        self.data = data
        self.execution = execution
        self.model = model
        optimizer = try OptimizerBox(configuration.optimizer, model: model)
        schedule = try configuration.makeSchedule(learningRates: optimizer.learningRates)
        do { try optimizer.apply(schedule) } catch { throw .invalidConfiguration("schedule: \(error)") }
        loaderState = LoaderState(seed: configuration.seed, epoch: 0, position: 0, endEpoch: 0, datasetCount: data.count,
                                  batchSize: configuration.batchSize, dropLast: true, shuffle: configuration.shuffle,
                                  randomness: .perSample, workerStreams: 0)
        loaderState.endEpoch = epochsNeeded
    }

    static func check(_ execution: Execution, _ configuration: TrainingConfiguration) throws(TrainingError) {
        guard (0...256).contains(execution.workers) else {
            throw .invalidConfiguration("workers must be in 0...256, got \(execution.workers)")
        }
        if let m = execution.microBatch {
            guard m >= 1 else { throw .invalidConfiguration("the micro-batch size must be at least 1, got \(m)") }
            guard m <= configuration.batchSize else {
                throw .invalidConfiguration("the micro-batch size \(m) is larger than the batch size \(configuration.batchSize)")
            }
        }
    }

    /// Changes how the run executes (workers, micro-batch size) — e.g. after resuming.
    ///
    /// - Throws: ``TrainingError/invalidConfiguration(_:)`` for out-of-range values.
    public mutating func setExecution(_ execution: Execution) throws(TrainingError) {
        try Self.check(execution, configuration)
        self.execution = execution
    }

    /// Batches per epoch (`drop_last`).
    public var batchesPerEpoch: Int { data.count / configuration.batchSize }

    /// The epochs the loader must cover to reach ``TrainingConfiguration/totalSteps``.
    var epochsNeeded: Int { (configuration.totalSteps + batchesPerEpoch - 1) / batchesPerEpoch }

    /// Whether every step has been taken.
    public var isFinished: Bool { completedSteps >= configuration.totalSteps }

    /// The epoch of the next batch.
    public var epoch: Int { loaderState.epoch }

    /// The learning rate of the first parameter group for the next step.
    public var learningRate: Double { optimizer.learningRates.first ?? 0 }

    /// Caveats of this combination of settings: BatchNorm with micro-batches smaller than the batch.
    public var warnings: [String] {
        guard configuration.architecture.usesBatchStatistics, let m = execution.microBatch, m < configuration.batchSize else { return [] }
        return ["\(configuration.architecture.rawValue) uses BatchNorm: with micro-batches of \(m) < batch \(configuration.batchSize) "
            + "each micro-batch is normalised with its own statistics (as in PyTorch with gradient accumulation), so the weights "
            + "depend on the micro-batch size; GroupNorm models (cnn-small) do not"]
    }

    /// SHA-256 (hex) of every parameter and buffer in state-dict order, as little-endian bytes
    /// back to back (no names, no shapes).
    public func weightsSHA256() throws(TrainingError) -> String {
        let dict: StateDict
        do { dict = try StateDict(module: model) } catch { throw .model("\(error)") }
        var hasher = SHA256()
        for key in dict.keys { if let t = dict[key] { t.bytes.withUnsafeBytes { hasher.update($0) } } }
        return hasher.finalize().hex
    }

    /// Runs one optimizer step on the next global batch.
    ///
    /// - Throws: ``TrainingError/loading(step:_:)`` naming the sample that could not be loaded,
    ///   ``TrainingError/nonFiniteLoss(step:samples:sample:value:)``,
    ///   ``TrainingError/nonFiniteGradient(step:samples:parameter:)`` or
    ///   ``TrainingError/nonFiniteWeights(step:samples:parameter:)`` naming the step and the batch;
    ///   the run is unchanged when a step fails.
    public mutating func step() throws(TrainingError) -> TrainingStep {
        guard !isFinished else {
            throw .invalidConfiguration("the run has completed its \(configuration.totalSteps) steps")
        }
        let number = completedSteps + 1
        var times = stepTimes
        var clock = TrainingPhaseTimes.Instant.now
        let loaded = try feed.next(for: self)
        clock = clock.lap(into: &times.batchWait)
        let batch = loaded.value
        let n = batch.samples.count
        let loss = CrossEntropyLoss(labelSmoothing: configuration.labelSmoothing)
        let denominator: Float
        do { denominator = try loss.denominator(target: batch.labels) } catch { throw .model("\(error)") }
        var options = GradientOptions(reduction: .sum, randomness: DropoutRandomness(seed: configuration.seed, step: UInt64(completedSteps)))
        let m = min(execution.microBatch ?? n, n)
        if m < n { options.allowsBatchStatisticsWithMicroBatches = true }
        var current = model
        var accumulator = GradientAccumulator(globalBatchSize: n, options: options)
        let result: GradientResult
        do {
            var start = 0
            while start < n {
                let end = min(start + m, n)
                try accumulator.accumulate(current, samples: start..<end) { model, scope in
                    let x = try scope.constant(samplesOf: batch.images)
                    let y = try batch.labels.sliced(dim: 0, range: scope.samples)
                    return try model.forward(x, in: scope).loss(loss, target: y, denominator: denominator)
                }
                // PyTorch's running statistics advance with every forward pass (micro-batch).
                if !accumulator.bufferUpdates.isEmpty { current = try current.replacing(buffers: accumulator.bufferUpdates) }
                start = end
            }
            result = try accumulator.finish()
            clock = clock.lap(into: &times.forwardBackward)
        } catch let e as AutogradError {
            switch e {
            case let .nonFiniteLoss(sample, value):
                throw .nonFiniteLoss(step: number, samples: batch.samples, sample: batch.samples[sample], value: value)
            case .nonFiniteTotalLoss(let value):
                throw .nonFiniteLoss(step: number, samples: batch.samples, sample: nil, value: value)
            case .nonFiniteGradient(let p):
                throw .nonFiniteGradient(step: number, samples: batch.samples, parameter: p)
            default:
                throw .model("step \(number): \(e)")
            }
        } catch {
            throw .model("step \(number): \(error)")
        }
        let learningRate = self.learningRate
        var optimizer = self.optimizer
        var schedule = self.schedule
        do {
            var gradients: [Tensor?] = result.gradients.entries.map { $0.gradient }
            if let limit = configuration.clipGradientNorm { try clipGradientNorm(&gradients, max: limit) }
            var named: [String: Tensor] = [:]
            for (name, g) in zip(result.gradients.names, gradients) { named[name] = g }
            try optimizer.step(&current, gradients: named)
            try schedule.step()
            try optimizer.apply(schedule)
            clock = clock.lap(into: &times.optimizer)
        } catch OptimizerError.nonFiniteGradient(let p, _, _) {
            throw .nonFiniteGradient(step: number, samples: batch.samples, parameter: p)
        } catch {
            throw .model("step \(number): \(error)")
        }
        if let bad = Self.firstNonFinite(current) {
            throw .nonFiniteWeights(step: number, samples: batch.samples, parameter: bad)
        }
        clock.lap(into: &times.checks)
        times.steps += 1
        stepTimes = times
        model = current
        self.optimizer = optimizer
        self.schedule = schedule
        completedSteps = number
        samplesSeen += n
        loaderState = loaded.stateAfter
        return TrainingStep(step: number, epoch: loaded.epoch, loss: result.loss, learningRate: learningRate, samples: samplesSeen,
                            batch: batch.samples, skipped: batch.skipped)
    }

    /// The first parameter or buffer (state-dict order) holding a NaN or infinity.
    static func firstNonFinite(_ model: ClassifierModel) -> String? {
        let values = model.stateDict
        for spec in model.parameterSpecs {
            guard let t = values[spec.name], t.dtype == .float32 else { continue }
            // In place (parameters are contiguous); a strided view is copied first.
            let finite = (try? t.contiguous().withUnsafeBufferPointer(as: Float.self) { $0.allSatisfy(\.isFinite) }) ?? true
            if !finite { return spec.name }
        }
        return nil
    }

    /// Mean cross-entropy and accuracy of the current model (evaluation mode: BatchNorm's running
    /// statistics) on `data`, in index order, `batchSize` images at a time. Images get the
    /// evaluation transform: ``TrainingAugmentation/none``'s, or with
    /// ``TrainingAugmentation/standard`` a resize to the crop size.
    ///
    /// - Throws: ``TrainingError/loading(step:_:)`` or ``TrainingError/model(_:)``.
    public func evaluate(on data: TrainingData, batchSize: Int = 64, workers: Int = 0) throws(TrainingError) -> TrainingEvaluation {
        guard batchSize >= 1 else { throw .invalidConfiguration("the evaluation batch size must be at least 1") }
        let pipeline = TrainingPipeline(augmentation: configuration.augmentation, cropSize: configuration.cropSize, training: false,
                                        numClasses: configuration.numClasses)
        let loader: DataLoader<GuardedData, TrainingItem, TrainingBatch>
        do {
            loader = try DataLoader(dataset: GuardedData(data: data), batchSize: batchSize, shuffle: .none, seed: configuration.seed,
                                    workers: workers, transform: Self.transform(pipeline, skipping: false),
                                    collate: { try pipeline.collate($0) })
        } catch { throw .invalidConfiguration("\(error)") }
        var total = 0.0, correct = 0, count = 0
        let lossFunction = CrossEntropyLoss(reduction: .sum)
        for result in loader {
            let batch: TrainingBatch
            switch result {
            case .success(let b): batch = b.value
            case .failure(let error): throw .loading(step: completedSteps, "validation: \(Self.describe(error, data))")
            }
            do {
                let logits = try model.forward(batch.images, in: .root)
                let l = try lossFunction(logits, batch.labels)
                total += Double(try l.scalars(as: Float.self)[0])
                let values = try logits.scalars(as: Float.self)
                let labels = try batch.labels.scalars(as: Int64.self)
                let k = logits.shape[1]
                for i in 0..<labels.count {
                    var best = 0
                    for j in 1..<max(k, 1) where values[i * k + j] > values[i * k + best] { best = j }
                    if best == Int(labels[i]) { correct += 1 }
                }
                count += labels.count
            } catch { throw .model("evaluation: \(error)") }
        }
        return TrainingEvaluation(loss: count > 0 ? total / Double(count) : 0, accuracy: count > 0 ? Double(correct) / Double(count) : 0,
                                  count: count)
    }

    /// The loader transform: decode failures stop the run, or are skipped when asked.
    static func transform(_ pipeline: TrainingPipeline, skipping: Bool, timing: LoaderStageTimes? = nil)
        -> @Sendable (GuardedSample, inout SampleGenerator) throws -> TrainingItem {
        { sample, g in
            switch sample.image {
            case .success(let image):
                let values = try timing.measure(.augment) { () throws -> CHWImage in try pipeline.transform(image, index: sample.index, generator: &g) }
                return TrainingItem(index: sample.index, label: image.label, values: values, skippedReason: nil)
            case .failure(let reason):
                guard skipping else { throw reason }
                return TrainingItem(index: sample.index, label: -1, values: nil, skippedReason: "sample \(sample.index): \(reason.detail)")
            }
        }
    }

    /// A loader error as a sentence naming the sample's index and path.
    static func describe(_ error: DataLoaderError, _ data: TrainingData) -> String {
        if case let .sampleFailed(index, epoch, underlying) = error {
            return "sample \(index) (\(data.path(at: index)), epoch \(epoch)): \(underlying)"
        }
        return "\(error)"
    }

    /// The loader over the training data from `state`, with `workers` workers.
    func makeLoader(from state: LoaderState, workers: Int) throws(TrainingError) -> DataLoader<GuardedData, TrainingItem, TrainingBatch> {
        let pipeline = TrainingPipeline(augmentation: configuration.augmentation, cropSize: configuration.cropSize, training: true,
                                        numClasses: configuration.numClasses)
        do {
            let timing = loaderTimes
            let loader = try DataLoader(dataset: GuardedData(data: data, timing: timing), batchSize: configuration.batchSize,
                                        shuffle: configuration.shuffle, seed: configuration.seed, workers: workers, dropLast: true,
                                        epochs: state.endEpoch,
                                        transform: Self.transform(pipeline, skipping: configuration.skipsUnreadableSamples, timing: timing),
                                        collate: { items in try timing.measure(.collate) { () throws -> TrainingBatch in try pipeline.collate(items) } })
            return try loader.resumed(from: state, workers: workers)
        } catch { throw .invalidConfiguration("data loader: \(error)") }
    }
}

/// A sample as loaded: its image, or why it could not be read.
struct GuardedSample: Sendable {
    let index: Int
    let image: Result<LabeledImage, UnreadableSample>
}

/// Why a sample could not be read (its path and the decoder's reason).
struct UnreadableSample: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}

/// The training data with decoding failures kept as values (so that they can be skipped on request).
struct GuardedData: Dataset {
    let data: TrainingData
    /// Where the decoding time goes (nil: not measured).
    var timing: LoaderStageTimes? = nil
    var count: Int { data.count }
    func sample(at index: Int) throws -> GuardedSample {
        do {
            let image = try timing.measure(.decode) { () throws -> LabeledImage in try data.sample(at: index) }
            return GuardedSample(index: index, image: .success(image))
        } catch {
            return GuardedSample(index: index, image: .failure(UnreadableSample(detail: "\(data.path(at: index)): \(error)")))
        }
    }
}

/// The live loader iterator of a run, kept between steps so that workers prefetch; used only
/// when its position is the run's (a copy of a run that moved on gets a fresh loader).
final class BatchFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var iterator: DataLoader<GuardedData, TrainingItem, TrainingBatch>.Iterator?
    private var workers = -1

    func next(for run: TrainingRun) throws(TrainingError) -> LoaderBatch<TrainingBatch> {
        lock.lock()
        defer { lock.unlock() }
        var state = run.loaderState
        state.endEpoch = max(state.endEpoch, run.epochsNeeded, state.epoch + 1)
        if iterator == nil || workers != run.execution.workers || iterator!.state != state {
            iterator = try run.makeLoader(from: state, workers: run.execution.workers).makeIterator()
            workers = run.execution.workers
        }
        switch iterator!.next() {
        case .success(let batch)?:
            return batch
        case .failure(let error)?:
            iterator = nil
            throw .loading(step: run.completedSteps + 1, TrainingRun.describe(error, run.data))
        case nil:
            iterator = nil
            throw .loading(step: run.completedSteps + 1, "the data loader ended early")
        }
    }
}
