import ReproData
import ReproNN
import ReproVision

/// The classifier architectures a ``TrainingRun`` trains.
public enum ClassifierArchitecture: String, Codable, Sendable, CaseIterable {
    /// torchvision's `resnet18` (BatchNorm).
    case resnet18
    /// torchvision's `resnet34` (BatchNorm).
    case resnet34
    /// torchvision's `resnet50` (BatchNorm).
    case resnet50
    /// ``ReproVision/SmallConvNet`` (GroupNorm).
    case cnnSmall = "cnn-small"

    /// Whether the model normalises with batch statistics in training mode (BatchNorm), so that its
    /// gradients depend on how a batch is split into micro-batches.
    public var usesBatchStatistics: Bool { self != .cnnSmall }
}

/// The optimizer of a ``TrainingRun`` and its hyper-parameters (torch's meaning and defaults).
public enum TrainingOptimizer: Codable, Sendable, Equatable {
    /// `torch.optim.SGD`.
    case sgd(SGD.Options)
    /// `torch.optim.AdamW`.
    case adamW(Adam.Options)

    /// The learning rate.
    public var learningRate: Double {
        switch self {
        case .sgd(let o): return o.learningRate
        case .adamW(let o): return o.learningRate
        }
    }
}

/// The learning-rate schedule of a ``TrainingRun``, stepped once per optimizer step (iteration).
public enum TrainingSchedule: Codable, Sendable, Equatable {
    /// A constant learning rate.
    case constant
    /// `StepLR(step_size, gamma)` over iterations.
    case step(size: Int, gamma: Double)
    /// `CosineAnnealingLR(T_max = total steps − warm-up, eta_min)`.
    case cosine(etaMin: Double)
    /// `OneCycleLR(max_lr = lr, total_steps)` with torch's defaults (30 % up, cosine, momentum cycled).
    case oneCycle

    /// Whether the schedule's shape depends on the total number of steps (so a resumed run must keep it).
    public var dependsOnTotalSteps: Bool {
        switch self {
        case .constant, .step: return false
        case .cosine, .oneCycle: return true
        }
    }
}

/// The per-sample input pipeline of a ``TrainingRun``.
public enum TrainingAugmentation: String, Codable, Sendable, CaseIterable {
    /// `ToTensor` + ImageNet `Normalize`, no resizing: every image must have one size.
    case none
    /// Random resized crop, horizontal flip, colour jitter (0.4, 0.4, 0.4, 0.1), ImageNet normalisation.
    case standard
}

/// Everything that determines the weights of a ``TrainingRun`` — together with the data set and
/// the initial weights — and nothing that does not (threads, workers and the micro-batch size are
/// ``TrainingRun/Execution``).
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    /// The architecture.
    public var architecture: ClassifierArchitecture
    /// The number of classes (the classifier's outputs).
    public var numClasses: Int
    /// The seed of the initialisation, the data order, the augmentation and dropout (torch's
    /// `manual_seed` value as its unsigned 64-bit form).
    public var seed: UInt64
    /// The total number of optimizer steps, counted from the start of training.
    public var totalSteps: Int
    /// Samples per optimizer step (the global batch).
    public var batchSize: Int
    /// The optimizer.
    public var optimizer: TrainingOptimizer
    /// The learning-rate schedule.
    public var schedule: TrainingSchedule
    /// Linear warm-up steps before the schedule (`LinearLR(0.01, 1, warmup)` + `SequentialLR`); 0 for none.
    public var warmupSteps: Int
    /// `clip_grad_norm_` maximum (L2), or nil.
    public var clipGradientNorm: Double?
    /// Cross-entropy label smoothing.
    public var labelSmoothing: Double
    /// The input pipeline.
    public var augmentation: TrainingAugmentation
    /// The crop size of ``TrainingAugmentation/standard`` (the validation images are resized to it).
    public var cropSize: Int
    /// The epoch order.
    public var shuffle: ShuffleMode
    /// Whether a sample that cannot be decoded is skipped (named in ``TrainingStep/skipped``)
    /// instead of stopping the run.
    public var skipsUnreadableSamples: Bool

    /// A configuration with the given essentials and the defaults of `repro train`.
    public init(architecture: ClassifierArchitecture, numClasses: Int, seed: UInt64 = 0, totalSteps: Int, batchSize: Int,
                optimizer: TrainingOptimizer = .sgd(SGD.Options(learningRate: 0.1, momentum: 0.9)),
                schedule: TrainingSchedule = .constant, warmupSteps: Int = 0, clipGradientNorm: Double? = nil,
                labelSmoothing: Double = 0, augmentation: TrainingAugmentation = .none, cropSize: Int = 224,
                shuffle: ShuffleMode = .counterBased, skipsUnreadableSamples: Bool = false) {
        self.architecture = architecture
        self.numClasses = numClasses
        self.seed = seed
        self.totalSteps = totalSteps
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.schedule = schedule
        self.warmupSteps = warmupSteps
        self.clipGradientNorm = clipGradientNorm
        self.labelSmoothing = labelSmoothing
        self.augmentation = augmentation
        self.cropSize = cropSize
        self.shuffle = shuffle
        self.skipsUnreadableSamples = skipsUnreadableSamples
    }

    /// Checks the ranges.
    ///
    /// - Throws: ``TrainingError/invalidConfiguration(_:)`` naming the setting.
    public func validate() throws(TrainingError) {
        func fail(_ m: String) -> TrainingError { .invalidConfiguration(m) }
        guard numClasses >= 1 else { throw fail("the number of classes must be at least 1, got \(numClasses)") }
        guard totalSteps >= 0 else { throw fail("the number of steps must not be negative, got \(totalSteps)") }
        guard batchSize >= 1 else { throw fail("the batch size must be at least 1, got \(batchSize)") }
        guard warmupSteps >= 0 else { throw fail("warm-up steps must not be negative, got \(warmupSteps)") }
        guard cropSize >= 1 else { throw fail("the crop size must be at least 1, got \(cropSize)") }
        guard labelSmoothing >= 0 && labelSmoothing <= 1 else { throw fail("label smoothing must be in 0...1, got \(labelSmoothing)") }
        if let c = clipGradientNorm, !(c > 0 && c.isFinite) { throw fail("the gradient-norm limit must be positive, got \(c)") }
        do {
            switch optimizer {
            case .sgd(let o): try o.validate()
            case .adamW(let o): try o.validate()
            }
        } catch { throw fail("\(error)") }
        switch schedule {
        case .constant: break
        case .step(let size, let gamma):
            guard size >= 1 else { throw fail("the StepLR step size must be at least 1, got \(size)") }
            guard gamma > 0 && gamma.isFinite else { throw fail("the StepLR gamma must be positive, got \(gamma)") }
        case .cosine(let etaMin):
            guard etaMin >= 0 && etaMin.isFinite else { throw fail("the cosine schedule's minimum must not be negative") }
        case .oneCycle:
            guard warmupSteps == 0 else { throw fail("the one-cycle schedule warms up by itself; drop --warmup") }
            guard totalSteps >= 2 else { throw fail("the one-cycle schedule needs at least 2 steps") }
        }
    }

    /// The schedule as ``ReproNN/LearningRateSchedule`` for the optimizer's learning rates.
    func makeSchedule(learningRates: [Double]) throws(TrainingError) -> LearningRateSchedule {
        let main = max(1, totalSteps - warmupSteps)
        let kind: LearningRateSchedule.Kind
        switch schedule {
        case .constant: kind = .step(size: Int(Int32.max), gamma: 1)
        case .step(let size, let gamma): kind = .step(size: size, gamma: gamma)
        case .cosine(let etaMin): kind = .cosineAnnealing(tMax: main, etaMin: etaMin)
        case .oneCycle:
            kind = .oneCycle(.init(maxLearningRates: learningRates, totalSteps: totalSteps))
        }
        let full: LearningRateSchedule.Kind = warmupSteps > 0
            ? .sequential([.linear(startFactor: 0.01, endFactor: 1, totalIterations: warmupSteps), kind], milestones: [warmupSteps])
            : kind
        do { return try LearningRateSchedule(full, learningRates: learningRates) } catch { throw .invalidConfiguration("schedule: \(error)") }
    }
}
