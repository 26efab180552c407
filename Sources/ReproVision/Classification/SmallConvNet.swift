import ReproNN
import ReproRandom
import ReproTensor

/// `cnn-small`: a small GroupNorm classifier for quick training runs (`repro train --arch cnn-small`)
/// whose state dict has torchvision's naming style, so that the PyTorch module below loads its
/// exported weights with `load_state_dict` and is initialised identically after
/// `torch.manual_seed(S)`:
///
/// ```text
/// class CNNSmall(nn.Module):                       # PyTorch equivalent
///     def __init__(self, num_classes=10):
///         super().__init__()
///         self.features = nn.Sequential(
///             nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.GroupNorm(8, 32), nn.ReLU(inplace=True),
///             nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False), nn.GroupNorm(8, 64), nn.ReLU(inplace=True),
///             nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False), nn.GroupNorm(8, 128), nn.ReLU(inplace=True))
///         self.avgpool = nn.AdaptiveAvgPool2d(1)
///         self.fc = nn.Linear(128, num_classes)
///     def forward(self, x):
///         return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))
/// ```
///
/// Keys: `features.{0,3,6}.weight` (convolutions), `features.{1,4,7}.{weight,bias}` (GroupNorm),
/// `fc.weight`, `fc.bias`. Every layer keeps PyTorch's default initialisation (kaiming-uniform
/// convolution and linear weights, uniform linear bias, GroupNorm ones and zeros), drawn in
/// construction order. With no BatchNorm, its gradients are the same for every micro-batch split.
///
/// ```swift
/// let model = try SmallConvNet(numClasses: 10, seed: 0)   // torch.manual_seed(0); CNNSmall(10)
/// let logits = try model(try Tensor(repeating: Float(0), shape: [2, 32, 32, 3]))   // NHWC → [2, 10]
/// ```
public struct SmallConvNet: DifferentiableLayer {
    /// The convolution, GroupNorm and ReLU layers (`features.0` … `features.8`).
    public var features: Sequential
    /// The classifier (`fc`).
    public var fc: Linear
    /// The number of classes.
    public var numClasses: Int { fc.weight.shape[0] }
    private let avgPool = AdaptiveAvgPool2d()

    /// The model as `torch.manual_seed(seed)` followed by `CNNSmall(num_classes)` would initialise it.
    public init(numClasses: Int, seed: Int64) throws(ModuleError) {
        var g = TorchGenerator(seed: seed)
        try self.init(numClasses: numClasses, generator: &g)
    }

    /// The model built from a caller's generator (consumed as torch's default generator would be).
    ///
    /// - Throws: ``ModuleError/invalidConfiguration(_:)`` for fewer than one class.
    public init(numClasses: Int, generator g: inout TorchGenerator) throws(ModuleError) {
        guard numClasses >= 1 else { throw .invalidConfiguration("cnn-small needs at least one class, got \(numClasses)") }
        var layers: [any Layer] = []
        var channels = 3
        for (i, out) in [32, 64, 128].enumerated() {
            layers.append(try Conv2d(inChannels: channels, outChannels: out, kernelSize: 3, stride: i == 0 ? 1 : 2, padding: 1,
                                     bias: false, generator: &g))
            layers.append(try GroupNorm(numGroups: 8, numChannels: out))
            layers.append(ReLU())
            channels = out
        }
        features = Sequential(layers)
        fc = try Linear(inFeatures: channels, outFeatures: numClasses, generator: &g)
        try prepare(in: .root)
    }

    /// Visits `features`, then `fc`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child("features", &features)
        try walker.child("fc", &fc)
    }

    /// Prepares the fused convolution plan and the classifier.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        try features.prepare(in: scope.child("features"))
        try fc.prepare(in: scope.child("fc"))
    }

    /// NHWC `[N, H, W, 3]` → logits `[N, numClasses]`.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        let h = try features.forward(input, in: scope.child("features"))
        let pooled = try avgPool.forward(h, in: scope.child("avgpool"))
        let flat = try scope.run { () throws(TensorError) in try pooled.reshaped([pooled.shape[0], pooled.shape[3]]) }
        return try fc.forward(flat, in: scope.child("fc"))
    }

    /// The same graph on the tape, with the raw parameters.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        let h = try features.forward(input, in: scope.child("features"))
        let pooled = try h.adaptiveAvgPool2d(outputHeight: 1, outputWidth: 1).flattened()
        return try fc.forward(pooled, in: scope.child("fc"))
    }
}
