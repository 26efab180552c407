import ReproNN
import ReproTensor

extension ResNet.Norm: DifferentiableLayer {
    /// The wrapped norm's differentiable forward.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        switch self {
        case .batch(let n): return try n.forward(input, in: scope)
        case .frozen(let n): return try n.forward(input, in: scope)
        }
    }
}

extension ResNet.Norm {
    /// `relu(norm(x) + residual)`, each part optional: BatchNorm's fused node
    /// (``BatchNorm2d/forward(_:in:adding:relu:)``, the same bits as the composition), the
    /// composition for `FrozenBatchNorm2d`.
    func forward(_ input: Variable, in scope: TrainingScope, adding residual: Variable?, relu: Bool) throws(AutogradError) -> Variable {
        switch self {
        case .batch(let n): return try n.forward(input, in: scope, adding: residual, relu: relu)
        case .frozen(let n):
            var y = try n.forward(input, in: scope)
            if let residual { y = try y + residual }
            return relu ? y.relu() : y
        }
    }
}

/// `relu(norm(conv(x)) + residual)` on the tape under the two children's names (the sum and
/// the ReLU each optional, fused into the norm's node).
private func convolve(_ conv: Conv2d, _ norm: ResNet.Norm, _ x: Variable, _ convName: String, _ normName: String,
                      _ scope: TrainingScope, adding residual: Variable? = nil, relu: Bool) throws(AutogradError) -> Variable {
    try norm.forward(conv.forward(x, in: scope.child(convName)), in: scope.child(normName), adding: residual, relu: relu)
}

/// The block's last convolution and norm, plus the shortcut (`downsample` or the identity), then ReLU:
/// the convolution is recorded before the shortcut, as torchvision's forward runs them.
private func residualTail(_ conv: Conv2d, _ norm: ResNet.Norm, _ y: Variable, _ convName: String, _ normName: String,
                          _ x: Variable, _ downsample: Sequential?, _ scope: TrainingScope) throws(AutogradError) -> Variable {
    let z = try conv.forward(y, in: scope.child(convName))
    let identity = try downsample?.forward(x, in: scope.child(ResNetNames.downsample)) ?? x
    return try norm.forward(z, in: scope.child(normName), adding: identity, relu: true)
}

extension BasicBlock: DifferentiableLayer {
    /// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))` on the tape, with the raw
    /// (unfolded) parameters.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        let y = try convolve(conv1, bn1, input, ResNetNames.conv1, ResNetNames.bn1, scope, relu: true)
        return try residualTail(conv2, bn2, y, ResNetNames.conv2, ResNetNames.bn2, input, downsample, scope)
    }
}

extension Bottleneck: DifferentiableLayer {
    /// The three convolutions with their norms, then the residual and ReLU, on the tape.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        var y = try convolve(conv1, bn1, input, ResNetNames.conv1, ResNetNames.bn1, scope, relu: true)
        y = try convolve(conv2, bn2, y, ResNetNames.conv2, ResNetNames.bn2, scope, relu: true)
        return try residualTail(conv3, bn3, y, ResNetNames.conv3, ResNetNames.bn3, input, downsample, scope)
    }
}

extension ResidualBlock: DifferentiableLayer {
    /// The wrapped block's differentiable forward.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        switch self {
        case .basic(let b): return try b.forward(input, in: scope)
        case .bottleneck(let b): return try b.forward(input, in: scope)
        }
    }
}

extension ResNet: DifferentiableLayer {
    /// NHWC `[n, H, W, 3]` → logits `[n, numClasses]` on the tape (torchvision's graph with
    /// the raw parameters: convolution, norm, ReLU, max pool, the stages, average pool, `fc`).
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        var h = try convolve(conv1, bn1, input, ResNetNames.conv1, ResNetNames.bn1, scope, relu: true)
        h = try h.maxPool2d(kernel: 3, stride: 2, padding: 1)
        for (i, stage) in stages.enumerated() {
            let ss = scope.child(ResNetNames.layer(i))
            for (b, block) in stage.enumerated() { h = try block.forward(h, in: ss.child(String(b))) }
        }
        guard let fc else { return h }
        let pooled = try h.adaptiveAvgPool2d(outputHeight: 1, outputWidth: 1).flattened()
        return try fc.forward(pooled, in: scope.child(ResNetNames.fc))
    }
}
