import ReproNN
import ReproRandom
import ReproTensor
import ReproVision

/// The model a ``TrainingRun`` trains: one of the ``ClassifierArchitecture``s, with torchvision's
/// state-dict keys.
public enum ClassifierModel: DifferentiableLayer {
    /// A torchvision ResNet.
    case resnet(ResNet)
    /// ``ReproVision/SmallConvNet`` (`cnn-small`).
    case small(SmallConvNet)

    /// The model as `torch.manual_seed(seed)` followed by the torchvision builder (or
    /// ``ReproVision/SmallConvNet``'s PyTorch definition) with `num_classes=numClasses` would
    /// initialise it.
    ///
    /// - Throws: ``TrainingError/model(_:)`` when the model cannot be built.
    public init(architecture: ClassifierArchitecture, numClasses: Int, seed: UInt64) throws(TrainingError) {
        var g = TorchGenerator(seed: seed)
        do {
            switch architecture {
            case .cnnSmall:
                self = .small(try SmallConvNet(numClasses: numClasses, generator: &g))
            case .resnet18, .resnet34, .resnet50:
                var c: ResNetConfiguration = architecture == .resnet18 ? .resnet18 : architecture == .resnet34 ? .resnet34 : .resnet50
                c.numClasses = numClasses
                self = .resnet(try ResNet(configuration: c, generator: &g))
            }
        } catch { throw .model("cannot build \(architecture.rawValue) with \(numClasses) classes: \(error)") }
    }

    /// Visits the wrapped model's tensors (torchvision's keys, at the root).
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        switch self {
        case .resnet(var m): try m.walk(&walker); self = .resnet(m)
        case .small(var m): try m.walk(&walker); self = .small(m)
        }
    }

    /// Prepares the wrapped model's inference form.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        switch self {
        case .resnet(var m): try m.prepare(in: scope); self = .resnet(m)
        case .small(var m): try m.prepare(in: scope); self = .small(m)
        }
    }

    /// NHWC `[N, H, W, 3]` → logits `[N, classes]` (evaluation mode).
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        switch self {
        case .resnet(let m): return try m.forward(input, in: scope)
        case .small(let m): return try m.forward(input, in: scope)
        }
    }

    /// The differentiable forward of the wrapped model.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        switch self {
        case .resnet(let m): return try m.forward(input, in: scope)
        case .small(let m): return try m.forward(input, in: scope)
        }
    }
}

/// The optimizer of a run, either kind, with the operations the loop needs.
enum OptimizerBox: Sendable {
    case sgd(SGD)
    case adam(Adam)

    init(_ choice: TrainingOptimizer, model: ClassifierModel) throws(TrainingError) {
        do {
            switch choice {
            case .sgd(let o): self = .sgd(try SGD(model: model, options: o))
            case .adamW(let o): self = .adam(try Adam(model: model, options: o))
            }
        } catch { throw .invalidConfiguration("optimizer: \(error)") }
    }

    var learningRates: [Double] {
        switch self {
        case .sgd(let o): return o.learningRates
        case .adam(let o): return o.learningRates
        }
    }

    mutating func step(_ model: inout ClassifierModel, gradients: [String: Tensor]) throws(OptimizerError) {
        switch self {
        case .sgd(var o): try o.step(&model, gradients: gradients); self = .sgd(o)
        case .adam(var o): try o.step(&model, gradients: gradients); self = .adam(o)
        }
    }

    mutating func apply(_ schedule: LearningRateSchedule) throws(OptimizerError) {
        switch self {
        case .sgd(var o): try schedule.apply(to: &o); self = .sgd(o)
        case .adam(var o): try schedule.apply(to: &o); self = .adam(o)
        }
    }

    func savedState() -> [(name: String, tensor: Tensor)] {
        switch self {
        case .sgd(let o): return o.savedState()
        case .adam(let o): return o.savedState()
        }
    }

    mutating func restoreState(_ saved: [(name: String, tensor: Tensor)]) throws(OptimizerError) {
        switch self {
        case .sgd(var o): try o.restoreState(saved); self = .sgd(o)
        case .adam(var o): try o.restoreState(saved); self = .adam(o)
        }
    }
}
