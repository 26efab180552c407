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

extension BasicBlock: DifferentiableLayer {
    /// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))` on the tape, with the raw
    /// (unfolded) parameters.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        let identity = try downsample?.forward(input, in: scope.child(ResNetNames.downsample)) ?? input
        var y = try conv1.forward(input, in: scope.child(ResNetNames.conv1))
        y = try bn1.forward(y, in: scope.child(ResNetNames.bn1)).relu()
        y = try conv2.forward(y, in: scope.child(ResNetNames.conv2))
        y = try bn2.forward(y, in: scope.child(ResNetNames.bn2))
        return try (y + identity).relu()
    }
}

extension Bottleneck: DifferentiableLayer {
    /// The three convolutions with their norms, then the residual and ReLU, on the tape.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        let identity = try downsample?.forward(input, in: scope.child(ResNetNames.downsample)) ?? input
        var y = try conv1.forward(input, in: scope.child(ResNetNames.conv1))
        y = try bn1.forward(y, in: scope.child(ResNetNames.bn1)).relu()
        y = try conv2.forward(y, in: scope.child(ResNetNames.conv2))
        y = try bn2.forward(y, in: scope.child(ResNetNames.bn2)).relu()
        y = try conv3.forward(y, in: scope.child(ResNetNames.conv3))
        y = try bn3.forward(y, in: scope.child(ResNetNames.bn3))
        return try (y + identity).relu()
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
        var h = try conv1.forward(input, in: scope.child(ResNetNames.conv1))
        h = try bn1.forward(h, in: scope.child(ResNetNames.bn1)).relu()
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
