import ReproNN
import ReproRandom
import ReproTensor

/// An init loop over `modules()` that touches convolutions only: a weight rule (which draws) and
/// a constant bias (which does not), as torchvision's FPN, P6/P7 and head constructors do.
struct ConvInitPass: ModuleVisitor {
    enum Rule {
        /// `kaiming_uniform_(weight, a=1)` (FPN, LastLevelP6P7).
        case kaimingUniformA1
        /// `normal_(weight, std=0.01)` (RetinaNet heads).
        case normal001
    }

    var generator: TorchGenerator
    let rule: Rule
    var bias: Float = 0

    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        guard info.layer == .conv2d else { return }
        let shape = tensor.shape
        guard info.name == Conv2d.weightName else {
            let value: Float = info.name == Conv2d.biasName ? bias : 0
            tensor = try .parameter(shape: shape, context: key) { $0.initialize(repeating: value) }
            return
        }
        switch rule {
        case .kaimingUniformA1:
            tensor = try .parameter(shape: shape, context: key) { (w) throws(TorchRandomError) in
                try TorchInit.kaimingUniform(w, shape: shape, a: 1, using: &generator)
            }
        case .normal001:
            // `normal_(w, std=0.01)`: the stream serially, its Box–Muller blocks on the pool.
            tensor = try .parameter(shape: shape, context: key, drawing: { (w) throws(TorchRandomError) in
                try generator.drawNormal(w, std: 0.01)
            })
        }
    }
}

extension Module {
    /// Runs a convolution init loop over this module and continues the caller's generator.
    mutating func initialiseConvolutions(_ rule: ConvInitPass.Rule, bias: Float = 0, generator: inout TorchGenerator) throws(ModuleError) {
        guard !ParameterPlaceholders.isActive else { return }
        let pass = try visit(with: ConvInitPass(generator: generator, rule: rule, bias: bias))
        generator = pass.generator
    }
}

extension Sequential {
    /// The norm of a ``convNormActivation(inChannels:outChannels:kernelSize:stride:norm:relu:generator:)`` block.
    enum BlockNorm {
        case none
        case groupNorm(groups: Int)
    }

    /// torchvision's `Conv2dNormActivation`: `0` the convolution (bias only without a norm,
    /// padding `(k − 1) / 2`), then the norm, then ReLU (when asked).
    static func convNormActivation(
        inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, norm: BlockNorm, relu: Bool,
        generator g: inout TorchGenerator
    ) throws(ModuleError) -> Sequential {
        var layers: [any Layer] = []
        let hasNorm: Bool
        if case .none = norm { hasNorm = false } else { hasNorm = true }
        layers.append(try Conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride,
                                 padding: (kernelSize - 1) / 2, bias: !hasNorm, generator: &g))
        if case .groupNorm(let groups) = norm { layers.append(try GroupNorm(numGroups: groups, numChannels: outChannels)) }
        if relu { layers.append(ReLU()) }
        return Sequential(layers)
    }
}
