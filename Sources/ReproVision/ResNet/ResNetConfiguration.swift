/// The layout of a torchvision ResNet.
///
/// ```swift
/// var c = ResNetConfiguration.resnet50
/// c.numClasses = 50
/// ```
public struct ResNetConfiguration: Sendable, Equatable {
    /// The residual block type.
    public enum Block: String, Sendable, Equatable {
        /// Two 3×3 convolutions (ResNet-18/34), expansion 1.
        case basic
        /// 1×1, 3×3 (strided, "v1.5"), 1×1 convolutions (ResNet-50/101), expansion 4.
        case bottleneck
    }

    /// The norm layer after each convolution.
    public enum Norm: String, Sendable, Equatable {
        /// `nn.BatchNorm2d` (eval mode), with `num_batches_tracked`.
        case batchNorm
        /// torchvision's `FrozenBatchNorm2d` (no `num_batches_tracked`; a checkpoint's is ignored).
        case frozenBatchNorm
    }

    /// The block type.
    public var block: Block
    /// Blocks per stage.
    public var layers: [Int]
    /// Block widths per stage.
    public var planes = [64, 128, 256, 512]
    /// Stem output channels.
    public var stemChannels = 64
    /// Output channels of a block divided by its width (1 basic, 4 bottleneck).
    public var expansion: Int
    /// Classifier outputs.
    public var numClasses = 1000
    /// The norm layer type.
    public var norm: Norm = .batchNorm
    /// The norms' epsilon (PyTorch's default 1e-5).
    public var normEpsilon: Float = 1e-5

    /// A configuration with torchvision's widths.
    public init(block: Block, layers: [Int]) {
        self.block = block
        self.layers = layers
        expansion = block == .basic ? 1 : 4
    }

    /// `resnet18`.
    public static let resnet18 = ResNetConfiguration(block: .basic, layers: [2, 2, 2, 2])
    /// `resnet34`.
    public static let resnet34 = ResNetConfiguration(block: .basic, layers: [3, 4, 6, 3])
    /// `resnet50`.
    public static let resnet50 = ResNetConfiguration(block: .bottleneck, layers: [3, 4, 6, 3])
    /// `resnet101`.
    public static let resnet101 = ResNetConfiguration(block: .bottleneck, layers: [3, 4, 23, 3])

    /// Output channels of each stage.
    public var stageChannels: [Int] { planes.map { $0 * expansion } }

    /// Checks the settings that would otherwise fail deep inside a layer.
    func validate() throws(ResNetError) {
        guard planes.count == 4, layers.count == 4, layers.allSatisfy({ $0 >= 1 }), planes.allSatisfy({ $0 > 0 }) else {
            throw .invalidConfiguration("planes and layers need four positive entries")
        }
        guard stemChannels > 0, expansion > 0, numClasses > 0 else {
            throw .invalidConfiguration("channel and class counts must be positive")
        }
        guard normEpsilon >= 0, normEpsilon.isFinite else { throw .invalidConfiguration("normEpsilon must be finite and ≥ 0") }
    }
}
