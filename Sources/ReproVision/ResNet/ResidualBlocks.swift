import ReproNN
import ReproRandom
import ReproTensor

extension ResNet {
    /// The norm after a ResNet convolution: ``BatchNorm2d`` or ``FrozenBatchNorm2d``.
    public enum Norm: FoldableNormalization {
        /// `nn.BatchNorm2d`.
        case batch(BatchNorm2d)
        /// torchvision's `FrozenBatchNorm2d`.
        case frozen(FrozenBatchNorm2d)

        /// A fresh norm of the configured kind.
        init(_ kind: ResNetConfiguration.Norm, channels: Int, eps: Float) throws(ModuleError) {
            switch kind {
            case .batchNorm: self = .batch(try BatchNorm2d(numFeatures: channels, eps: eps))
            case .frozenBatchNorm: self = .frozen(try FrozenBatchNorm2d(numFeatures: channels, eps: eps))
            }
        }

        /// Visits the wrapped norm's tensors.
        public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
            switch self {
            case .batch(var n): try n.walk(&walker); self = .batch(n)
            case .frozen(var n): try n.walk(&walker); self = .frozen(n)
            }
        }

        /// Prepares the wrapped norm.
        public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
            switch self {
            case .batch(var n): try n.prepare(in: scope); self = .batch(n)
            case .frozen(var n): try n.prepare(in: scope); self = .frozen(n)
            }
        }

        /// The wrapped norm's PyTorch class name.
        public var operationName: String {
            switch self {
            case .batch(let n): return n.operationName
            case .frozen(let n): return n.operationName
            }
        }

        /// The folded eval-mode map.
        public func foldedAffine(in scope: ModuleScope) throws(ModuleError) -> ChannelAffine {
            switch self {
            case .batch(let n): return try n.foldedAffine(in: scope)
            case .frozen(let n): return try n.foldedAffine(in: scope)
            }
        }

        /// Runs the wrapped norm.
        public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
            switch self {
            case .batch(let n): return try n.forward(input, in: scope)
            case .frozen(let n): return try n.forward(input, in: scope)
            }
        }
    }
}

/// torchvision's attribute names of the ResNet modules (each spelled once, here).
enum ResNetNames {
    static let conv1 = "conv1", bn1 = "bn1", conv2 = "conv2", bn2 = "bn2", conv3 = "conv3", bn3 = "bn3"
    static let downsample = "downsample", maxpool = "maxpool", avgpool = "avgpool", fc = "fc"
    static func layer(_ stage: Int) -> String { "layer\(stage + 1)" }
}

/// A convolution with its norm folded in (and ReLU fused): failures name the convolution, the
/// hook reports the output under the norm's path.
struct FusedConv: Sendable {
    var conv: PreparedConv2d
    var convName: String, normName: String, normOperation: String

    init(_ conv: Conv2d, _ norm: ResNet.Norm, relu: Bool, convName: String, normName: String, in scope: ModuleScope) throws(ModuleError) {
        self.conv = try conv.prepared(normalization: norm.foldedAffine(in: scope.child(normName)), relu: relu, in: scope.child(convName))
        self.convName = convName
        self.normName = normName
        normOperation = norm.operationName
    }

    /// `Conv2d 1x1 256->64, gemm + BatchNorm2d + ReLU (fused: conv1, bn1)`: what a trace shows under the norm's path.
    var operationDescription: String {
        conv.operationDescription + " + " + normOperation + (conv.relu ? " + ReLU" : "") + " (fused: \(convName), \(normName))"
    }

    func callAsFunction(_ x: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        let y = try conv.run(x, in: scope.child(convName))
        scope.child(normName).report(y, operation: operationDescription)
        return y
    }

    /// `relu(self(x) + identity)` with the add and ReLU in the convolution's GEMM epilogue
    /// (``PreparedConv2d/forward(nhwc:addingReLU:threads:)``; the same bits as the convolution
    /// followed by ``residual(_:_:block:in:)``). Only for unobserved passes: the convolution's own
    /// output is never materialised, so there is nothing to report under the norm's path.
    func callAsFunction(_ x: Tensor, addingReLU identity: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        try scope.child(convName).run { () throws(TensorError) in
            try conv.forward(nhwc: x, addingReLU: identity, threads: Runtime.settings.threads)
        }
    }
}

/// Adds the shortcut and applies the block's final ReLU in place — out of place when observed:
/// the observer may hold `y` (just reported), which an in-place add would copy first (same bits).
func residual(_ y: inout Tensor, _ identity: Tensor, block: String, in scope: ModuleScope) throws(ModuleError) {
    try scope.run { () throws(TensorError) in
        if scope.isObserved { y = try y.adding(identity, relu: true) } else { try y.add(identity, relu: true) }
    }
    scope.report(y, operation: block + " (residual add + ReLU)")
}

/// torchvision's `BasicBlock`: `conv1` (3×3, strided), `bn1`, `conv2` (3×3), `bn2`, optional `downsample`.
public struct BasicBlock: Layer {
    /// First 3×3 convolution.
    public var conv1: Conv2d
    /// Its norm.
    public var bn1: ResNet.Norm
    /// Second 3×3 convolution.
    public var conv2: Conv2d
    /// Its norm.
    public var bn2: ResNet.Norm
    /// Projection shortcut `Sequential(conv1x1, norm)`, when stride or width change.
    public var downsample: Sequential?
    private var fused: [FusedConv] = []

    /// Constructs the block as torchvision does (conv1 then conv2 drawn; `downsample` built by the caller first).
    init(inplanes: Int, planes: Int, stride: Int, downsample: Sequential?, norm: ResNetConfiguration.Norm, eps: Float,
         generator g: inout TorchGenerator) throws(ModuleError) {
        conv1 = try Conv2d(inChannels: inplanes, outChannels: planes, kernelSize: 3, stride: stride, padding: 1, bias: false, generator: &g)
        bn1 = try ResNet.Norm(norm, channels: planes, eps: eps)
        conv2 = try Conv2d(inChannels: planes, outChannels: planes, kernelSize: 3, padding: 1, bias: false, generator: &g)
        bn2 = try ResNet.Norm(norm, channels: planes, eps: eps)
        self.downsample = downsample
    }

    /// Visits `conv1`, `bn1`, `conv2`, `bn2`, `downsample`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(ResNetNames.conv1, &conv1)
        try walker.child(ResNetNames.bn1, &bn1)
        try walker.child(ResNetNames.conv2, &conv2)
        try walker.child(ResNetNames.bn2, &bn2)
        try walker.child(ResNetNames.downsample, &downsample)
    }

    /// Folds each norm into its convolution.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        fused = [try FusedConv(conv1, bn1, relu: true, convName: ResNetNames.conv1, normName: ResNetNames.bn1, in: scope),
                 try FusedConv(conv2, bn2, relu: false, convName: ResNetNames.conv2, normName: ResNetNames.bn2, in: scope)]
        try downsample?.prepare(in: scope.child(ResNetNames.downsample))
    }

    /// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))` on NHWC.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        guard fused.count == 2 else { throw .notPrepared(path: scope.path) }
        let identity = try downsample?.forward(input, in: scope.child(ResNetNames.downsample)) ?? input
        var y = try fused[1](fused[0](input, in: scope), in: scope)
        try residual(&y, identity, block: "BasicBlock", in: scope)
        return y
    }
}

/// torchvision's `Bottleneck` (ResNet v1.5: the stride sits on the 3×3 convolution):
/// `conv1`/`bn1` (1×1), `conv2`/`bn2` (3×3), `conv3`/`bn3` (1×1, ×expansion), optional `downsample`.
public struct Bottleneck: Layer {
    /// 1×1 reduction.
    public var conv1: Conv2d
    /// Its norm.
    public var bn1: ResNet.Norm
    /// 3×3 (strided) convolution.
    public var conv2: Conv2d
    /// Its norm.
    public var bn2: ResNet.Norm
    /// 1×1 expansion.
    public var conv3: Conv2d
    /// Its norm.
    public var bn3: ResNet.Norm
    /// Projection shortcut `Sequential(conv1x1, norm)`, when stride or width change.
    public var downsample: Sequential?
    private var fused: [FusedConv] = []

    /// Constructs the block as torchvision does (conv1, conv2, conv3 drawn; `downsample` built by the caller first).
    init(inplanes: Int, planes: Int, expansion: Int, stride: Int, downsample: Sequential?, norm: ResNetConfiguration.Norm,
         eps: Float, generator g: inout TorchGenerator) throws(ModuleError) {
        conv1 = try Conv2d(inChannels: inplanes, outChannels: planes, kernelSize: 1, bias: false, generator: &g)
        bn1 = try ResNet.Norm(norm, channels: planes, eps: eps)
        conv2 = try Conv2d(inChannels: planes, outChannels: planes, kernelSize: 3, stride: stride, padding: 1, bias: false, generator: &g)
        bn2 = try ResNet.Norm(norm, channels: planes, eps: eps)
        conv3 = try Conv2d(inChannels: planes, outChannels: planes * expansion, kernelSize: 1, bias: false, generator: &g)
        bn3 = try ResNet.Norm(norm, channels: planes * expansion, eps: eps)
        self.downsample = downsample
    }

    /// Visits `conv1`, `bn1`, `conv2`, `bn2`, `conv3`, `bn3`, `downsample`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(ResNetNames.conv1, &conv1)
        try walker.child(ResNetNames.bn1, &bn1)
        try walker.child(ResNetNames.conv2, &conv2)
        try walker.child(ResNetNames.bn2, &bn2)
        try walker.child(ResNetNames.conv3, &conv3)
        try walker.child(ResNetNames.bn3, &bn3)
        try walker.child(ResNetNames.downsample, &downsample)
    }

    /// Folds each norm into its convolution.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        fused = [try FusedConv(conv1, bn1, relu: true, convName: ResNetNames.conv1, normName: ResNetNames.bn1, in: scope),
                 try FusedConv(conv2, bn2, relu: true, convName: ResNetNames.conv2, normName: ResNetNames.bn2, in: scope),
                 try FusedConv(conv3, bn3, relu: false, convName: ResNetNames.conv3, normName: ResNetNames.bn3, in: scope)]
        try downsample?.prepare(in: scope.child(ResNetNames.downsample))
    }

    /// `relu(bn3(conv3(…conv1(x))) + shortcut(x))` on NHWC.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        guard fused.count == 3 else { throw .notPrepared(path: scope.path) }
        let identity = try downsample?.forward(input, in: scope.child(ResNetNames.downsample)) ?? input
        let inner = try fused[1](fused[0](input, in: scope), in: scope)
        // Unobserved: conv3's GEMM adds the shortcut and applies the ReLU as it finishes each block.
        guard scope.isObserved else { return try fused[2](inner, addingReLU: identity, in: scope) }
        var y = try fused[2](inner, in: scope)
        try residual(&y, identity, block: "Bottleneck", in: scope)
        return y
    }
}

/// One residual block of either type (a stage holds one type only).
public enum ResidualBlock: Layer {
    /// ResNet-18/34.
    case basic(BasicBlock)
    /// ResNet-50/101.
    case bottleneck(Bottleneck)

    /// Visits the wrapped block.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        switch self {
        case .basic(var b): try b.walk(&walker); self = .basic(b)
        case .bottleneck(var b): try b.walk(&walker); self = .bottleneck(b)
        }
    }

    /// Prepares the wrapped block.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        switch self {
        case .basic(var b): try b.prepare(in: scope); self = .basic(b)
        case .bottleneck(var b): try b.prepare(in: scope); self = .bottleneck(b)
        }
    }

    /// Runs the wrapped block.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        switch self {
        case .basic(let b): return try b.forward(input, in: scope)
        case .bottleneck(let b): return try b.forward(input, in: scope)
        }
    }
}
