import ReproImage
import ReproNN
import ReproRandom
import ReproTensor

/// torchvision's ResNet (`resnet18/34/50/101`): `conv1`, `bn1`, `layer1` … `layer4`, `fc`, with
/// the classifier's checkpoints loading by the same walk as every other model.
///
/// Built from a ``TorchGenerator`` it consumes the generator exactly as `torchvision.models.resnetXX()`
/// consumes torch's default generator: every layer's default draw in construction order (a stage's
/// `downsample` before its first block), then the kaiming-normal pass over the convolutions in
/// `modules()` order. The generator then continues as torch's would after construction.
///
/// ```swift
/// var g = TorchGenerator(seed: 0)                          // torch.manual_seed(0)
/// var c = ResNetConfiguration.resnet18
/// c.numClasses = 50
/// let model = try ResNet(configuration: c, generator: &g)  // resnet18(num_classes=50)
/// let x = try Tensor(shape: [1, 3, 224, 224], scalars: try g.rand(count: 3 * 224 * 224))
/// let logits = try model.classify(x)                       // [1, 50]
/// ```
public struct ResNet: Layer {
    /// The layout.
    public private(set) var configuration: ResNetConfiguration
    /// The 7×7 stride-2 stem convolution.
    public var conv1: Conv2d
    /// The stem's norm.
    public var bn1: Norm
    /// The four stages (`layer1` … `layer4`).
    public var stages: [ModuleList<ResidualBlock>]
    /// The classifier, or `nil` where a detector uses the body only (torchvision's
    /// `IntermediateLayerGetter` drops `avgpool` and `fc`).
    public var fc: Linear?
    private var stem: FusedConv?
    private let maxPool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
    private let avgPool = AdaptiveAvgPool2d()

    /// The model as `torch.manual_seed(seed)` followed by torchvision's builder would initialise it.
    public init(configuration: ResNetConfiguration, seed: Int64) throws(ResNetError) {
        var g = TorchGenerator(seed: seed)
        try self.init(configuration: configuration, generator: &g)
    }

    /// The model built from a caller's generator, which then continues as torch's default generator
    /// does after construction.
    public init(configuration: ResNetConfiguration, generator: inout TorchGenerator) throws(ResNetError) {
        try configuration.validate()
        do { try self.init(configuration: configuration, generator: &generator, prepare: true) } catch { throw .module(error) }
    }

    /// Constructs and initialises; `prepare: false` leaves the inference form to a parent that
    /// changes the tree further (RetinaNet drops `fc`, the fixture recipe replaces the stages).
    init(configuration: ResNetConfiguration, generator: inout TorchGenerator, prepare: Bool) throws(ModuleError) {
        var g = generator
        self.configuration = configuration
        let c = configuration
        // ResNet's init loop overwrites every convolution's default draws: they only move the generator.
        conv1 = try ParameterPlaceholders.discardingConvolutionDraws { () throws(ModuleError) in
            try Conv2d(inChannels: 3, outChannels: c.stemChannels, kernelSize: 7, stride: 2, padding: 3, bias: false, generator: &g)
        }
        bn1 = try Norm(c.norm, channels: c.stemChannels, eps: c.normEpsilon)
        stages = []
        try ParameterPlaceholders.discardingConvolutionDraws { () throws(ModuleError) in
            try buildStages(planes: c.planes, blocks: c.layers, numClasses: c.numClasses, generator: &g)
        }
        if !ParameterPlaceholders.isActive {
            try ParameterPlaceholders.requireNoPlaceholders(in: &self)
            if prepare { try self.prepare(in: .root) }
        }
        generator = g
    }

    /// Constructs the four stages and the classifier on top of the existing stem, then runs
    /// ResNet's initialisation pass over the whole model (torchvision's `ResNet.__init__` tail).
    ///
    /// The RetinaNet fixture recipe builds its narrow bodies this way: a standard ResNet first,
    /// then its stages and classifier replaced and the pass run again.
    mutating func buildStages(planes: [Int], blocks: [Int], numClasses: Int, generator g: inout TorchGenerator) throws(ModuleError) {
        let c = configuration
        var inplanes = c.stemChannels
        var built: [ModuleList<ResidualBlock>] = []
        for s in 0..<4 {
            let stride = s == 0 ? 1 : 2, out = planes[s] * c.expansion
            var stage: [ResidualBlock] = []
            for b in 0..<blocks[s] {
                var downsample: Sequential?
                if b == 0 && (stride != 1 || inplanes != out) {
                    downsample = Sequential([
                        try Conv2d(inChannels: inplanes, outChannels: out, kernelSize: 1, stride: stride, bias: false, generator: &g),
                        try Norm(c.norm, channels: out, eps: c.normEpsilon),
                    ])
                }
                let st = b == 0 ? stride : 1
                switch c.block {
                case .basic:
                    stage.append(.basic(try BasicBlock(inplanes: inplanes, planes: planes[s], stride: st, downsample: downsample,
                                                       norm: c.norm, eps: c.normEpsilon, generator: &g)))
                case .bottleneck:
                    stage.append(.bottleneck(try Bottleneck(inplanes: inplanes, planes: planes[s], expansion: c.expansion, stride: st,
                                                            downsample: downsample, norm: c.norm, eps: c.normEpsilon, generator: &g)))
                }
                inplanes = out
            }
            built.append(ModuleList(stage))
        }
        stages = built
        fc = try Linear(inFeatures: inplanes, outFeatures: numClasses, generator: &g)
        configuration.planes = planes
        configuration.layers = blocks
        configuration.numClasses = numClasses
        guard !ParameterPlaceholders.isActive else { return }
        var pass = ResNetInitPass(generator: g)
        pass = try visit(with: pass)
        g = pass.generator
    }

    /// Drops the classifier (the detector body keeps `conv1` … `layer4`).
    mutating func removeClassifier() { fc = nil }

    /// Visits `conv1`, `bn1`, `layer1` … `layer4`, `fc`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(ResNetNames.conv1, &conv1)
        try walker.child(ResNetNames.bn1, &bn1)
        for i in stages.indices { try walker.child(ResNetNames.layer(i), &stages[i]) }
        try walker.child(ResNetNames.fc, &fc)
    }

    /// Folds every norm into its convolution and packs the classifier.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        stem = try FusedConv(conv1, bn1, relu: true, convName: ResNetNames.conv1, normName: ResNetNames.bn1, in: scope)
        for i in stages.indices { try stages[i].prepare(in: scope.child(ResNetNames.layer(i))) }
        try fc?.prepare(in: scope.child(ResNetNames.fc))
    }

    /// The stem (convolution, norm, ReLU, max pool) and the outputs of the `returned` stages
    /// (0 = `layer1`), NHWC — torchvision's `IntermediateLayerGetter`; other stage outputs are
    /// released as soon as the next stage has used them.
    public func features(_ input: Tensor, returning returned: Set<Int> = [0, 1, 2, 3],
                         in scope: ModuleScope) throws(ModuleError) -> (stem: Tensor, stages: [Tensor]) {
        guard let stem else { throw .notPrepared(path: scope.path) }
        let s = try maxPool.forward(stem(input, in: scope), in: scope.child(ResNetNames.maxpool))
        var h = s
        var outs: [Tensor] = []
        for (i, stage) in stages.enumerated() {
            let ss = scope.child(ResNetNames.layer(i))
            for (b, block) in stage.enumerated() { h = try block.forward(h, in: ss.child(String(b))) }
            ss.report(h, operation: "Sequential(\(stage.count))")
            if returned.contains(i) { outs.append(h) }
        }
        return (s, outs)
    }

    /// NHWC `[N, H, W, 3]` → logits `[N, numClasses]` (or the last stage's NHWC output without `fc`).
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        let last = try features(input, returning: [3], in: scope).stages[0]
        guard let fc else { return last }
        let pooled = try avgPool.forward(last, in: scope.child(ResNetNames.avgpool))
        let flat = try scope.run { () throws(TensorError) in try pooled.reshaped([pooled.shape[0], pooled.shape[3]]) }
        let logits = try fc.forward(flat, in: scope.child(ResNetNames.fc))
        scope.report(logits, operation: "ResNet")
        return logits
    }

    /// Logits for a float image batch `[N, 3, H, W]` or one image `[3, H, W]` (PyTorch's layout,
    /// values as given: torchvision's model applies no normalisation of its own).
    ///
    /// - Parameter observer: the per-module hook (module path and output, NHWC for feature maps).
    /// - Returns: `[N, numClasses]`.
    public func classify(_ images: Tensor, observer: ModuleObserver? = nil) throws(ResNetError) -> Tensor {
        guard fc != nil else { throw .invalidInput("this ResNet has no classifier") }
        guard images.dtype == .float32, (images.rank == 4 && images.shape[1] == 3) || (images.rank == 3 && images.shape[0] == 3) else {
            throw .invalidInput("expected a float32 [N, 3, H, W] or [3, H, W] tensor, got \(images.dtype) \(images.shape)")
        }
        do {
            let scope = ModuleScope(observer: observer)
            let batch = images.rank == 3 ? try scope.run { () throws(TensorError) in try images.reshaped([1] + images.shape) } : images
            let nhwc = try scope.run { () throws(TensorError) in try batch.nhwcFromNCHW() }
            return try forward(nhwc, in: scope)
        } catch { throw .module(error) }
    }

    /// Logits for an image: RGB scaled to [0, 1], normalised per channel with `mean`/`std`
    /// (torchvision's ImageNet values by default), at the image's own size (resize or crop first
    /// if the weights expect 224×224).
    ///
    /// - Returns: `[1, numClasses]`.
    public func classify(_ image: Image, mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]) throws(ResNetError) -> Tensor {
        guard image.width > 0, image.height > 0 else { throw .invalidInput("empty image") }
        guard mean.count == 3, std.count == 3 else { throw .invalidInput("mean and std need three entries") }
        let rgb = image.rgb()
        var v = rgb.chwUnitFloats()
        let plane = rgb.width * rgb.height
        for i in v.indices { v[i] = (v[i] - mean[i / plane]) / std[i / plane] }
        do {
            return try classify(try Tensor(shape: [3, rgb.height, rgb.width], scalars: v))
        } catch let e as ResNetError { throw e } catch { throw .invalidInput("\(error)") }
    }
}

/// torchvision ResNet's init loop over `modules()`: kaiming-normal (fan-out, ReLU) on every
/// convolution's weight; BatchNorm/GroupNorm weight 1 and bias 0 (already so: no draws).
struct ResNetInitPass: ModuleVisitor {
    var generator: TorchGenerator

    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        guard info.layer == .conv2d, info.name == Conv2d.weightName else { return }
        let shape = tensor.shape
        tensor = try .parameter(shape: shape, context: key, drawing: { (w) throws(TorchRandomError) in
            try TorchInit.drawKaimingNormal(w, shape: shape, mode: .fanOut, nonlinearity: .relu, using: &generator)
        })
    }
}
