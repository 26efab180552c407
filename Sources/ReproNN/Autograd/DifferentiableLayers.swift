@_spi(Kernels) import ReproTensor

/// A layer with a differentiable forward on the raw parameters (no folded norms or packed
/// weights: the prepared inference form is untouched and records nothing).
///
/// ```
/// let y = try conv.forward(x, in: scope.child("conv1"))   // x: Variable [n, H, W, C]
/// ```
public protocol DifferentiableLayer: Layer {
    /// The differentiable forward: parameters come from `scope` under this module's keys.
    func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable
}

extension Conv2d: DifferentiableLayer {
    /// Convolution on the tape (``Variable/conv2d(weight:bias:stride:padding:dilation:groups:)``).
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        let w = try scope.parameter(Self.weightName, weight)
        let b = try bias.map { (t) throws(AutogradError) in try scope.parameter(Self.biasName, t) }
        return try input.conv2d(weight: w, bias: b, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

extension Linear: DifferentiableLayer {
    /// `[n, in] → [n, out]` on the tape.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        let w = try scope.parameter("weight", weight)
        let b = try bias.map { (t) throws(AutogradError) in try scope.parameter("bias", t) }
        return try input.linear(weight: w, bias: b)
    }
}

extension BatchNorm2d: DifferentiableLayer {
    /// Training mode: batch statistics, and new running statistics recorded as buffer updates by
    /// ``BatchNormKernel/updateRunningStatistics(mean:variance:with:factor:)`` (float64
    /// `running = (1 − m)·running + m·batch` with the unbiased variance, rounded once; `momentum == nil`
    /// is the cumulative average `m = 1/num_batches_tracked`). Evaluation: running statistics.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        try forward(input, in: scope, adding: nil, relu: false)
    }

    /// `relu(bn(x) + residual)`, the sum and the ReLU each optional — a ResNet block's tail.
    ///
    /// In training mode this is one tape node whose normalising pass also adds and rectifies
    /// (``BatchNormKernel/trainingForward(_:_:batch:spatial:channels:gamma:beta:eps:residual:relu:threads:)``):
    /// the same bits, forward and backward, as recording `forward(_:in:)`, `+` and `relu()` one
    /// after the other, with one activation written instead of three. In evaluation mode it is
    /// that composition.
    ///
    /// ```
    /// let y = try bn2.forward(z, in: scope.child("bn2"), adding: shortcut, relu: true)
    /// ```
    ///
    /// - Throws: ``AutogradError`` when `residual` does not have the input's shape or comes from
    ///   another tape, and the errors of ``forward(_:in:)``.
    public func forward(_ input: Variable, in scope: TrainingScope, adding residual: Variable?,
                        relu: Bool) throws(AutogradError) -> Variable {
        let w = try scope.parameter("weight", weight), b = try scope.parameter("bias", bias)
        let mean: [Float] = try AutogradError.wrap(scope.key("running_mean")) { () throws(TensorError) in try runningMean.scalars() }
        let variance: [Float] = try AutogradError.wrap(scope.key("running_var")) { () throws(TensorError) in try runningVar.scalars() }
        guard scope.mode == .training else {
            var y = try input.batchNormEvaluation(weight: w, bias: b, runningMean: mean, runningVariance: variance, eps: eps)
            if let residual { y = try y + residual }
            return relu ? y.relu() : y
        }
        let r = try input.batchNormTrainingStatistics(weight: w, bias: b, eps: eps, adding: residual, relu: relu)
        let tracked: [Int64] = try AutogradError.wrap(scope.key("num_batches_tracked")) { () throws(TensorError) in
            try numBatchesTracked.converted(to: .int64).scalars()
        }
        let count = (tracked.first ?? 0) + 1
        var newMean = mean, newVar = variance
        let factor = BatchNormKernel.momentumFactor(momentum: momentum.map(Double.init), batchesTracked: Int(count))
        try AutogradError.wrap(scope.path) { () throws(TensorError) in
            try BatchNormKernel.updateRunningStatistics(mean: &newMean, variance: &newVar, with: r.statistics, factor: factor)
            scope.updateBuffer("running_mean", try Tensor(shape: runningMean.shape, scalars: newMean))
            scope.updateBuffer("running_var", try Tensor(shape: runningVar.shape, scalars: newVar))
            scope.updateBuffer("num_batches_tracked", try Tensor(shape: [], scalars: [count]))
        }
        return r.output
    }
}

extension FrozenBatchNorm2d: DifferentiableLayer {
    /// The folded affine map (all four tensors are buffers; only the input gets a gradient).
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        let affine = try AutogradError.wrap(scope.path) { () throws(TensorError) in
            try ChannelAffine.frozenBatchNorm(weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVar, eps: eps)
        }
        return try input.channelAffine(scale: affine.scale, shift: affine.shift)
    }
}

extension GroupNorm: DifferentiableLayer {
    /// Per-sample group statistics on the tape.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        try input.groupNorm(groups: numGroups, weight: scope.parameter("weight", weight), bias: scope.parameter("bias", bias), eps: eps)
    }
}

extension ReLU: DifferentiableLayer {
    /// `max(x, 0)` on the tape.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable { input.relu() }
}

extension Dropout: DifferentiableLayer {
    /// Counter-based dropout in training mode (``Variable/dropout(p:in:)``), the identity in eval mode.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        try input.dropout(p: p, in: scope)
    }
}

extension MaxPool2d: DifferentiableLayer {
    /// Window maxima on the tape (PyTorch's first-maximum and NaN rules).
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        try input.maxPool2d(kernel: kernelSize, stride: stride, padding: padding)
    }
}

extension AdaptiveAvgPool2d: DifferentiableLayer {
    /// Cell averages on the tape.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        try input.adaptiveAvgPool2d(outputHeight: outputSize.height, outputWidth: outputSize.width)
    }
}

extension Sequential: DifferentiableLayer {
    /// Each layer's differentiable forward in order, under its index.
    ///
    /// - Throws: ``AutogradError/module(path:_:)`` for a layer without a differentiable forward.
    public func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        var x = input
        for (i, layer) in layers.enumerated() {
            guard let d = layer as? any DifferentiableLayer else {
                throw .module(path: scope.key(String(i)), "\(type(of: layer)) has no differentiable forward")
            }
            x = try d.forward(x, in: scope.child(String(i)))
        }
        return x
    }
}

extension Module {
    /// A copy with the given buffers (e.g. ``GradientResult/bufferUpdates``) stored and the
    /// inference form prepared again.
    ///
    /// - Throws: ``ModuleError`` when a key is unknown or a shape does not match.
    public func replacing(buffers: [String: Tensor]) throws(ModuleError) -> Self {
        var copy = self
        guard !buffers.isEmpty else { return copy }
        let current = copy.stateDict
        for (k, v) in buffers.sorted(by: { $0.key < $1.key }) where current[k]?.shape != v.shape {
            throw .invalidConfiguration("buffer \(k): shape \(v.shape) does not match \(current[k]?.shape ?? [])")
        }
        var updater = BufferReplacer(values: buffers)
        var walker = ModuleWalker(updater)
        try copy.walk(&walker)
        updater = walker.visitor
        try copy.prepare(in: .root)
        return copy
    }
}

private struct BufferReplacer: ModuleVisitor {
    var values: [String: Tensor]
    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        if let v = values[key] { tensor = v }
    }
}
